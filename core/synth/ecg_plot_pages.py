"""Truth pages drawn by an independent renderer, PyPI's ``ecg-plot`` (0.3.0), so a page reader can
be checked on pages it was not tuned on: other margins, panel gaps, time axes, Matplotlib's
anti-aliasing. The signals and the capture effects are ours; the drawing is theirs.

``ecg-plot`` lays every lead out in millimetres (``chart.panels``: x, y, width, baseline, start,
end), so where each sample went is known exactly. It is optional: ``pip install ecg-plot==0.3.0``
(plus Matplotlib). The trace mask comes from a second render of the wave paths alone, built from
the chart's scene (``ECGChart._render_scene``, a private method of that version).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from core.classes import ECG_CLASSES
from core.synth.truth import TRUTH_EFFECTS, FlatSegment, PageTruth, capture_truth
from core.synth.waveforms import LEADS, Ecg, synthesize_ecg

# Our layout names -> ecg-plot's chart options. 6x2 is "limb-chest", whose two columns show the
# same 5 s (ecg-plot has no sequential mode for it); the truth's start times say so.
ECG_PLOT_LAYOUTS: dict[str, dict] = {
    "3x4": {"layout": "12lead", "time_mode": "sequential"},
    "3x4+1": {"layout": "12lead", "time_mode": "sequential", "rhythm_lead": "II"},
    "6x2": {"layout": "limb-chest", "window": (0, 5)},
    "12x1": {"layout": "stacked"},
}
DEFAULT_DPI = 200


def _chart(ecg: Ecg, layout: str):
    import ecg_plot                                   # optional dependency
    return ecg_plot.plot(ecg.signals, sample_rate=ecg.fs, lead_names=list(LEADS), **ECG_PLOT_LAYOUTS[layout])


def _rasterise(scene, dpi: int) -> np.ndarray:
    """An ecg-plot scene drawn by Matplotlib's Agg at ``dpi``, as (H, W, 3) uint8."""
    from ecg_plot.renderers import render_matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    figure, _ = render_matplotlib(scene)
    figure.set_dpi(dpi)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _wave_scene(chart):
    """The chart's scene with nothing but the lead traces (no grid, pulses, labels, axes)."""
    from ecg_plot.renderers import Scene
    scene = chart._render_scene()
    waves = [e for e in scene.elements if e[0] == "path" and e[1] is not None]
    return Scene(scene.width_mm, scene.height_mm, scene.title, scene.clips, waves, scene.scale)


def _segments(chart, ecg: Ecg, mm: float) -> list[FlatSegment]:
    """One segment per panel: the samples inside its time window, where ecg-plot put them."""
    segments, seen = [], set()
    rows = sorted({p.y for p in chart.panels})
    for p in chart.panels:
        lead = LEADS[p.lead]
        name = f"{lead} (rhythm)" if lead in seen else lead
        seen.add(lead)
        i0 = math.ceil(p.start * ecg.fs - 1e-9)
        i1 = min(ecg.signals.shape[1], math.ceil(p.end * ecg.fs - 1e-9))
        x0 = (p.x + (i0 / ecg.fs - p.start) * chart.speed) * mm
        segments.append(FlatSegment(name, lead, i0 / ecg.fs, ecg.fs, ecg.lead(lead)[i0:i1].astype(np.float32),
                                    rows.index(p.y), x0, p.baseline * mm,
                                    (p.x * mm, p.y * mm, (p.x + p.width) * mm, (p.y + p.height) * mm)))
    return segments


def _pulse_boxes(chart, mm: float) -> tuple[tuple[float, float, float, float], ...]:
    """Where ecg-plot 0.3.0 draws its calibration pulses (left of each first-column panel tall enough), in px."""
    first = min(p.x for p in chart.panels)
    boxes = []
    for i, p in enumerate(chart.panels):
        if chart.style.calibration and p.x == first and (p.height >= chart.gain + 2 or i == 0):
            right = p.x - 3
            bottom = p.y + max(p.height / 2 + chart.gain / 2, chart.gain + 2)
            boxes.append(((right - 0.2 * chart.speed - 1) * mm, (bottom - chart.gain) * mm, (right + 1) * mm, bottom * mm))
    return tuple(boxes)


def _trace_layers(chart, dpi: int, segments: list[FlatSegment], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Ink coverage of the traces alone, and segment numbers from the panel each ink pixel is in
    (ecg-plot clips every trace to its own panel, and panels do not overlap)."""
    grey = _rasterise(_wave_scene(chart), dpi)[:shape[0], :shape[1]].mean(axis=2)
    ink = np.clip((255 - grey) / (255 - grey.min()), 0, 1).astype(np.float32)
    ids = np.zeros(shape, np.uint8)
    for number, seg in enumerate(segments, start=1):
        x0, y0, x1, y1 = (round(v) for v in seg.box_px)
        region = ids[y0:y1, x0:x1]
        region[ink[y0:y1, x0:x1] > 0] = number
    return ink, ids


def render_ecg_plot_page(seed: int, *, cls: str | None = None, layout: str = "3x4+1", effect: str = "clean",
                         dpi: int = DEFAULT_DPI) -> tuple[Image.Image, PageTruth]:
    """A page drawn by ``ecg-plot`` from our signals, captured with one of ``TRUTH_EFFECTS``.

    ``layout`` is one of ``ECG_PLOT_LAYOUTS``; the page is ecg-plot's default look (pink grid,
    25 mm/s, 10 mm/mV). Needs ``ecg-plot`` and Matplotlib; about 2-3 s a page.
    """
    if layout not in ECG_PLOT_LAYOUTS or effect not in TRUTH_EFFECTS:
        raise ValueError(f"render_ecg_plot_page takes a layout among {tuple(ECG_PLOT_LAYOUTS)} and an effect among "
                         f"{TRUTH_EFFECTS}. Got {layout!r}, {effect!r}.")
    choice_rng, signal_rng, effect_rng = np.random.default_rng([seed, 1000]).spawn(3)
    cls = cls or ECG_CLASSES[int(choice_rng.integers(len(ECG_CLASSES)))]
    ecg = synthesize_ecg(cls, signal_rng)
    chart = _chart(ecg, layout)
    page = _rasterise(chart._render_scene(), dpi)
    mm = page.shape[1] / chart.width_mm               # Agg rounds the figure to whole pixels
    segments = _segments(chart, ecg, mm)
    ink, ids = _trace_layers(chart, dpi, segments, page.shape[:2])
    xs = [v for seg in segments for v in seg.box_px[::2]]
    ys = [v for seg in segments for v in seg.box_px[1::2]]
    return capture_truth(
        page, ink, ids, segments, (min(xs), min(ys), max(xs), max(ys)), _pulse_boxes(chart, mm), effect, effect_rng,
        seed=seed,
        layout=layout, grid="ecg-plot", cls=cls, finding=ecg.finding, rhythm=ecg.rhythm, heart_rate=ecg.heart_rate,
        px_per_mm=mm, line_width_px=chart.style.line_width * mm, speed_mm_s=float(chart.speed),
        gain_mm_mv=float(chart.gain))
