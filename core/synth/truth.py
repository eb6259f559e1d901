"""Ground-truth ECG pages for the page reader: the image, and exactly what was drawn where.

``render_truth_page(seed)`` prints a synthetic 12-lead recording in one of ``TRUTH_LAYOUTS`` on
one of ``TRUTH_GRIDS``, then captures it with one of ``TRUTH_EFFECTS`` (scan, photo, folds, ...).
Its ``PageTruth`` holds each printed segment's samples in mV at 500 Hz with its start time, the
page scale, where each lead's box and trace ink ended up in the final image, and the geometry.
``truth_set`` cycles through layouts and effects for a held-out benchmark.

The drawing is ``layout.draw_page``, the code that prints the built-in pages; only the style
sampling, the extra layouts and the capture effects are new here, so the built-in set is unchanged.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from core.classes import ECG_CLASSES
from core.synth.layout import (GAIN_MM_MV, LAYOUTS, SPEED_MM_S, SUPERSAMPLE, DrawnPage, Style, draw_page,
                               se3_style)
from core.synth.realism import EFFECTS, Shot, apply_effect, start_shot
from core.synth.waveforms import LEADS, Ecg, synthesize_ecg

TRUTH_LAYOUTS: tuple[str, ...] = LAYOUTS
TRUTH_EFFECTS: tuple[str, ...] = tuple(EFFECTS)
TRUTH_GRIDS: tuple[str, ...] = ("se3", "pink", "red", "orange", "green", "blue", "grey", "bw", "none")
SCREEN_GRID = "screen"                 # the grid of "monitor" pages, whatever was asked
DEFAULT_TRUTH_SIZE = (2213, 1572)      # the Mendeley page at twice its size: about 7.9 px per mm
MASK_COVERAGE = 0.4                    # a pixel is trace ink when the trace covers this much of it
_STANDARD = (SPEED_MM_S, GAIN_MM_MV)
# Pages that are not 25 mm/s and 10 mm/mV, as (speed, gain) with their share of random pages.
# 20 mm/mV (for low voltages) only on 3x4 pages: on 6 or 12 rows the leads would be a tangle.
_UNUSUAL = (((50.0, 10.0), 0.06), ((25.0, 5.0), 0.06), ((25.0, 20.0), 0.04))
_HIGH_GAIN_LAYOUTS = ("3x4", "3x4+1", "3x4+3")


@dataclass(frozen=True)
class LeadTruth:
    """One printed segment of one lead and where it went.

    Sample ``k`` of ``mv`` (time ``start_s + k / fs``) was drawn on the flat page at
    ``x = x0_px + k / fs * speed_mm_s * px_per_mm``, ``y = baseline_px - mv[k] * gain_mm_mv * px_per_mm``,
    in pixel coordinates where pixel (col, row) spans [col, col + 1) x [row, row + 1) (centres at +0.5),
    as Pillow and OpenCV's perspective maps count them.
    """

    name: str                            # "V1", or "II (rhythm)" for a rhythm strip
    lead: str                            # the lead itself: "II" for "II (rhythm)"
    start_s: float
    fs: int
    mv: np.ndarray                       # float32, exactly the samples drawn (calibration pulse excluded)
    row: int
    x0_px: float                         # flat page
    baseline_px: float                   # flat page
    box: tuple[float, float, float, float]   # fractions of the final image (bounding box after the warps)
    visible: float                       # share of the samples whose ink is in the final image (not cut, not covered)


@dataclass(frozen=True)
class PageTruth:
    """Everything known about a truth page. Image coordinates are those of the final image."""

    seed: int
    layout: str
    effect: str
    grid: str
    cls: str
    finding: str
    rhythm: str
    heart_rate: int
    page_size: tuple[int, int]           # the flat page (W, H) in px
    px_per_mm: float                     # of the flat page
    line_width_px: float                 # the trace pen's width on the flat page
    speed_mm_s: float
    gain_mm_mv: float
    leads: dict[str, LeadTruth]          # keyed by LeadTruth.name, in print order
    grid_box: tuple[float, float, float, float]   # fractions of the final image
    pulse_boxes: tuple[tuple[float, float, float, float], ...]   # calibration pulses (1 mV tall), fractions of the final image
    homography: np.ndarray               # 3x3, flat page px -> final image px (the projective part)
    nonprojective: bool                  # curvature or folds: the homography is then only approximate
    trace_mask: np.ndarray               # (H, W) bool: trace ink pixels of the lead signals (not pulses, labels, text)
    trace_ids: np.ndarray                # (H, W) uint8: k where the ink belongs to the k-th lead of ``leads``, else 0

    def lead_mask(self, name: str) -> np.ndarray:
        """The trace pixels of one lead segment."""
        return self.trace_ids == list(self.leads).index(name) + 1


def _choose(rng: np.random.Generator, options: tuple):
    return options[int(rng.integers(len(options)))]


def _speed_and_gain(rng: np.random.Generator, layout: str) -> tuple[float, float]:
    draw = rng.random()
    for pair, share in _UNUSUAL:
        if draw < share:
            return pair if pair[1] <= GAIN_MM_MV or layout in _HIGH_GAIN_LAYOUTS else _STANDARD
        draw -= share
    return _STANDARD


def _paper_style(rng: np.random.Generator, layout: str, grid: str, speed: float, gain: float) -> Style:
    """A printer's habits for a truth page: header, margins, lines, ink, fonts and labels."""
    if grid == "se3" and layout == "3x4+1" and (speed, gain) == _STANDARD and rng.random() < 0.5:
        return se3_style()
    header = _choose(rng, ("block", "band", "none"))
    top = {"block": 0.16, "band": 0.13, "none": 0.03}[header] + rng.uniform(0, 0.04)
    side = rng.uniform(0.015, 0.05)
    ink = (0, 0, 0) if rng.random() < 0.8 else tuple(int(v) for v in rng.integers(10, 70, 3))
    return Style(
        name=f"truth-{layout}-{grid}", format=layout,
        grid_box=(side, top, 1 - side * rng.uniform(0.6, 1.2), rng.uniform(0.9, 0.97)), palette=grid,
        minor_lines=rng.random() < 0.8, dotted=rng.random() < 0.3, ink=ink,
        trace_width=float(rng.uniform(1.0, 2.6)), header=header, font=_choose(rng, ("serif", "sans", "mono")),
        separators=_choose(rng, ("long", "ticks", "none")), label_above=rng.random() < 0.5,
        speed_mm_s=speed, gain_mm_mv=gain, full_grid=rng.random() < 0.3)


def _screen_style(rng: np.random.Generator, layout: str, speed: float, gain: float) -> Style:
    """A monitor or viewer: dark background, a dim grid or none, bright green, yellow or white traces."""
    ink = _choose(rng, ((70, 255, 110), (240, 240, 90), (235, 240, 235), (90, 220, 255)))
    return Style(
        name=f"screen-{layout}", format=layout, grid_box=(0.01, rng.uniform(0.02, 0.06), 0.99, 0.98),
        palette=SCREEN_GRID, minor_lines=rng.random() < 0.5, dotted=rng.random() < 0.5, ink=ink,
        trace_width=float(rng.uniform(1.0, 2.0)), header="none", font="sans", separators="none",
        label_above=rng.random() < 0.5, speed_mm_s=speed, gain_mm_mv=gain)


def limb_consistent(ecg: Ecg) -> Ecg:
    """The recording with III, aVR, aVL and aVF derived from I and II, as an electrocardiograph does.

    The generator draws noise per lead, which breaks Einthoven (II = I + III) and Goldberger
    (aVR + aVL + aVF = 0); a real cart measures I and II and computes the rest, so truth pages
    obey both laws exactly and a reader's law residuals measure the reader alone.
    """
    signals = ecg.signals.copy()
    i, ii = signals[LEADS.index("I")], signals[LEADS.index("II")]
    for name, value in (("III", ii - i), ("aVR", -(i + ii) / 2), ("aVL", i - ii / 2), ("aVF", ii - i / 2)):
        signals[LEADS.index(name)] = value
    return replace(ecg, signals=signals)


def _flat_trace(drawn: DrawnPage) -> tuple[np.ndarray, np.ndarray]:
    """Trace ink coverage and segment numbers at page resolution from the supersampled id layer."""
    s = SUPERSAMPLE
    ids = drawn.trace_ids
    size = (ids.shape[1] // s, ids.shape[0] // s)
    coverage = cv2.resize((ids > 0).astype(np.float32), size, interpolation=cv2.INTER_AREA)
    # Max over each s x s block: dilate towards the block's first pixel, then take that pixel.
    block_max = cv2.dilate(ids, np.ones((s, s), np.uint8), anchor=(0, 0))
    return coverage, block_max[::s, ::s]


def _final_mask(shot: Shot) -> tuple[np.ndarray, np.ndarray]:
    """The trace mask and segment numbers of the final image: enough ink, and a segment number
    (the warps carry numbers a pixel beyond the ink, so only a rare edge pixel lacks one)."""
    mask = (shot.ink >= MASK_COVERAGE) & (shot.ids > 0)
    return mask, np.where(mask, shot.ids, 0).astype(np.uint8)


def _box_after(shot: Shot, box_px: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[float, ...]:
    """Bounding box, in fractions of the final image (clipped), of a flat-page box after every warp."""
    x0, y0, x1, y1 = box_px
    u = np.linspace(0, 1, 17)
    edge = np.r_[np.c_[x0 + u * (x1 - x0), np.full(17, y0)], np.c_[x0 + u * (x1 - x0), np.full(17, y1)],
                 np.c_[np.full(17, x0), y0 + u * (y1 - y0)], np.c_[np.full(17, x1), y0 + u * (y1 - y0)]]
    mapped = shot.map_points(edge) / size
    lo, hi = np.clip(mapped.min(axis=0), 0, 1), np.clip(mapped.max(axis=0), 0, 1)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _on_ink(shot: Shot, mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Which flat-page points land on trace ink of the final image (within 2 px)."""
    h, w = mask.shape
    mapped = np.rint(shot.map_points(points)).astype(int)
    inside = (mapped[:, 0] >= 0) & (mapped[:, 0] < w) & (mapped[:, 1] >= 0) & (mapped[:, 1] < h)
    near = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    hit = np.zeros(len(points), bool)
    hit[inside] = near[mapped[inside, 1], mapped[inside, 0]]
    return hit


@dataclass(frozen=True)
class FlatSegment:
    """A lead segment as drawn on the flat page, before any capture effect (see ``LeadTruth``)."""

    name: str
    lead: str
    start_s: float
    fs: int
    mv: np.ndarray
    row: int
    x0_px: float
    baseline_px: float
    box_px: tuple[float, float, float, float]

    def points(self, px_per_mm: float, speed_mm_s: float, gain_mm_mv: float) -> np.ndarray:
        """Flat-page positions (N, 2) of the drawn samples."""
        k = np.arange(len(self.mv))
        return np.c_[self.x0_px + k / self.fs * speed_mm_s * px_per_mm, self.baseline_px - self.mv * gain_mm_mv * px_per_mm]


def _flat_segments(ecg: Ecg, drawn: DrawnPage, style: Style) -> list[FlatSegment]:
    w, h = drawn.image.size
    segments = []
    for seg in drawn.segments:
        signal = ecg.lead(seg.lead)
        i0, i1 = int(seg.t0 * ecg.fs), min(len(signal), int(seg.t1 * ecg.fs))   # as draw_page slices it
        bx0, by0, bx1, by1 = drawn.boxes.lead_boxes[seg.key]
        segments.append(FlatSegment(
            seg.key, seg.lead, i0 / ecg.fs, ecg.fs, signal[i0:i1].astype(np.float32), seg.row,
            drawn.origin_px + i0 / ecg.fs * style.speed_mm_s * drawn.px_per_mm, drawn.baselines_px[seg.row],
            (bx0 * w, by0 * h, bx1 * w, by1 * h)))
    return segments


def _lead_truths(segments: list[FlatSegment], shot: Shot, mask: np.ndarray, scale: tuple[float, float, float]
                 ) -> dict[str, LeadTruth]:
    size = mask.shape[::-1]
    points = [seg.points(*scale) for seg in segments]
    # One pass through the warps for every lead's samples (the fold and bend inverses iterate).
    hits = np.split(_on_ink(shot, mask, np.concatenate(points)), np.cumsum([len(p) for p in points])[:-1])
    return {seg.name: LeadTruth(seg.name, seg.lead, seg.start_s, seg.fs, seg.mv, seg.row, seg.x0_px, seg.baseline_px,
                                _box_after(shot, seg.box_px, size), float(hit.mean()))
            for seg, hit in zip(segments, hits)}


def capture_truth(page: np.ndarray, ink: np.ndarray, ids: np.ndarray, segments: list[FlatSegment],
                  grid_box_px: tuple[float, float, float, float], pulse_boxes_px, effect: str,
                  rng: np.random.Generator, **page_facts) -> tuple[Image.Image, PageTruth]:
    """Capture a flat page with ``effect`` and describe the result.

    ``page`` (H, W, 3) uint8, ``ink`` trace coverage and ``ids`` segment numbers (1 = segments[0])
    at the same size; ``page_facts`` are the remaining ``PageTruth`` fields about the page itself
    (seed, layout, grid, cls, finding, rhythm, heart_rate, px_per_mm, line_width_px, speed_mm_s,
    gain_mm_mv). Any renderer that can say where it drew its samples can use this.
    """
    shot = apply_effect(start_shot(page, ink, ids), effect, rng)
    mask, final_ids = _final_mask(shot)
    scale = (page_facts["px_per_mm"], page_facts["speed_mm_s"], page_facts["gain_mm_mv"])
    truth = PageTruth(
        **page_facts, effect=effect, page_size=(page.shape[1], page.shape[0]),
        leads=_lead_truths(segments, shot, mask, scale), grid_box=_box_after(shot, grid_box_px, mask.shape[::-1]),
        pulse_boxes=tuple(_box_after(shot, box, mask.shape[::-1]) for box in pulse_boxes_px),
        homography=shot.homography, nonprojective=shot.nonprojective, trace_mask=mask, trace_ids=final_ids)
    return Image.fromarray(shot.image), truth


def render_truth_page(seed: int, *, cls: str | None = None, layout: str | None = None, effect: str | None = None,
                      grid: str | None = None, speed_mm_s: float | None = None, gain_mm_mv: float | None = None,
                      page_size: tuple[int, int] = DEFAULT_TRUTH_SIZE) -> tuple[Image.Image, PageTruth]:
    """A captured ECG page and its ground truth; anything left ``None`` is drawn from ``seed``.

    ``layout`` in ``TRUTH_LAYOUTS``, ``effect`` in ``TRUTH_EFFECTS``, ``grid`` in ``TRUTH_GRIDS``
    ("monitor" pages always use a dark screen grid), ``cls`` in ``ECG_CLASSES``. The same arguments
    always give the same image and truth.
    """
    choice_rng, signal_rng, style_rng, header_rng, effect_rng = np.random.default_rng(seed).spawn(5)
    cls = cls or _choose(choice_rng, ECG_CLASSES)
    layout = layout or _choose(choice_rng, TRUTH_LAYOUTS)
    effect = effect or _choose(choice_rng, TRUTH_EFFECTS)
    grid = grid or _choose(choice_rng, TRUTH_GRIDS)
    speed, gain = _speed_and_gain(choice_rng, layout)
    speed, gain = speed_mm_s or speed, gain_mm_mv or gain
    for name, value, allowed in (("cls", cls, ECG_CLASSES), ("layout", layout, TRUTH_LAYOUTS),
                                 ("effect", effect, TRUTH_EFFECTS), ("grid", grid, TRUTH_GRIDS)):
        if value not in allowed:
            raise ValueError(f"The {name!r} parameter of render_truth_page must be one of {allowed}. Got {value!r} instead.")
    if effect == "monitor":
        grid = SCREEN_GRID
        style = _screen_style(style_rng, layout, speed, gain)
    else:
        style = _paper_style(style_rng, layout, grid, speed, gain)

    ecg = limb_consistent(synthesize_ecg(cls, signal_rng))
    drawn = draw_page(ecg, style, header_rng, page_size, trace_ids=True)
    ink, ids = _flat_trace(drawn)
    gx0, gy0, gx1, gy1 = drawn.boxes.grid_box
    w, h = page_size
    return capture_truth(
        np.asarray(drawn.image), ink, ids, _flat_segments(ecg, drawn, style), (gx0 * w, gy0 * h, gx1 * w, gy1 * h),
        drawn.pulse_boxes_px, effect, effect_rng, seed=seed, layout=layout, grid=grid, cls=cls, finding=ecg.finding, rhythm=ecg.rhythm,
        heart_rate=ecg.heart_rate, px_per_mm=drawn.px_per_mm, line_width_px=drawn.line_width_px, speed_mm_s=speed,
        gain_mm_mv=gain)


def truth_plan(index: int) -> tuple[str, str]:
    """The (layout, effect) of page ``index`` of a truth set: every pair once per len(layouts) x len(effects) pages."""
    return TRUTH_LAYOUTS[index % len(TRUTH_LAYOUTS)], TRUTH_EFFECTS[(index // len(TRUTH_LAYOUTS)) % len(TRUTH_EFFECTS)]


def truth_page_seed(seed: int, index: int) -> int:
    """The seed of page ``index`` of the truth set drawn with ``seed``."""
    return int(np.random.SeedSequence([seed, index, 17]).generate_state(1)[0])


def truth_set(n: int, seed: int = 0, *, page_size: tuple[int, int] = DEFAULT_TRUTH_SIZE
              ) -> Iterator[tuple[Image.Image, PageTruth]]:
    """``n`` (image, truth) pairs cycling through every layout x effect (see ``truth_plan``).

    Class, grid, speed and gain are drawn per page. Page ``k`` is the same whatever ``n``, so a
    benchmark can score the first 324 pages (six of every pair) and report by effect and layout.
    Use a seed of your own for training data and keep the default one held out.
    """
    for index in range(n):
        layout, effect = truth_plan(index)
        yield render_truth_page(truth_page_seed(seed, index), layout=layout, effect=effect, page_size=page_size)
