"""Read a whole ECG page: sheet → grid → working scale → traces → layout → signals → quality."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from core.ecg.reader.grid import Grid, find_grid
from core.ecg.reader.layout import ROW_SPAN_MM, Layout, find_layout
from core.ecg.reader.quality import PageQuality, assess
from core.ecg.reader.sheet import Sheet, find_sheet
from core.ecg.reader.signals import LeadSignal, PenPath, read_signals
from core.ecg.reader.traces import Traces, find_traces
from core.imageio import load_image

WORK_PX_PER_MM = 5.0          # every page is read at this scale: 8 ms and 0.02 mV per px
_MAX_WORK_SIDE = 2400
_MIN_SIDE = 64
_EDGE_SHARE = 0.01            # a row this close to the sheet's side is cut by the image edge
_HARMONIC = 1.4               # grid and rows this far apart: the grid locked onto a harmonic
_SAME_SCALE = 0.01            # without a grid, the rows' scale replaces the page width beyond 1 %
_ROW_TRUST = 1.08             # a lopsided grid's scale this far from the rows' (uncut) gives way to theirs
_ROW_DOUBT = 1.05             # ... and a grid seen on one axis only this far makes the page read at both scales
_ROW_RULES = 1.2              # ... and any grid's this far: a 5/4 harmonic is 25 % off
_MIN_PX_PER_MM = 1.0          # coarser, a 2 mm QRS is two pixels: upscaled noise passes for beats
_MAX_ROWS = 16              # 12x1 and rhythm strips; a page's 190 mm of grid holds no more at 10 mm/mV
_LOPSIDED = 20.0              # contrast along one axis this many times the other's: no printed grid
_UNRELATED_LEADS = 1.0        # limb-lead residual of traces with nothing in common (a good reading: under 0.3)

PageSource = Image.Image | np.ndarray | str | os.PathLike | bytes


@dataclass(frozen=True)
class PageReading:
    """Everything the reader found on a page, with each stage's quality numbers and fallbacks."""

    readable: bool
    reasons: tuple[str, ...]
    layout: str
    px_per_mm: float | None                 # in the input image's pixels
    heart_rate_bpm: float | None
    leads: dict[str, LeadSignal]
    qc: dict[str, float | None]
    stages: dict[str, dict[str, Any]]
    work_rgb: np.ndarray | None = field(default=None, repr=False)   # the sheet at the working scale
    paths: dict[str, list[PenPath]] = field(default_factory=dict, repr=False)
    # The stages' own results (Sheet, Grid, Traces, Layout) for teaching; kept only when asked: the
    # sheet alone is as large as the input image.
    stage_results: dict[str, Any] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (no signals)."""
        return {
            "readable": self.readable, "reasons": list(self.reasons), "layout": self.layout,
            "px_per_mm": _num(self.px_per_mm), "heart_rate_bpm": _num(self.heart_rate_bpm),
            "leads": {n: {"start_s": s.start_s, "fs": s.fs, "n": len(s.mv), "coverage": round(s.coverage, 4)}
                      for n, s in self.leads.items()},
            "qc": {k: _num(v) for k, v in self.qc.items()},
            "stages": {k: {"quality": {q: _num(v) for q, v in st["quality"].items()}, "fallback": st["fallback"]}
                       for k, st in self.stages.items()},
        }


def _num(v: float | None) -> float | None:
    """A finite float rounded for JSON, or None."""
    if v is None or not np.isfinite(v):
        return None
    return round(float(v), 4)


def to_rgb(image: PageSource) -> np.ndarray:
    """The page as a contiguous uint8 RGB array, from any source the reader accepts."""
    if isinstance(image, np.ndarray):
        arr = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        return np.ascontiguousarray(arr[..., :3].astype(np.uint8))
    if not isinstance(image, Image.Image):
        image = load_image(image if not isinstance(image, Path) else str(image))
    return np.asarray(image.convert("RGB"))


def _stage(result: Sheet | Grid | Traces | Layout) -> dict[str, Any]:
    return {"quality": dict(result.quality), "fallback": result.fallback}


def _unreadable(reason: str, stages: dict[str, dict[str, Any]], layout: str = "none",
                px_per_mm: float | None = None) -> PageReading:
    return PageReading(False, (reason,), layout, px_per_mm, None, {}, {"einthoven_ratio": None,
                       "goldberger_ratio": None}, stages)


def _read_rows(sheet: Sheet, grid: Grid) -> tuple[np.ndarray, Traces, Layout] | None:
    """The sheet at the working scale, its trace ink and layout; None when the scale gives no usable size."""
    fx, fy = WORK_PX_PER_MM / grid.px_per_mm_x, WORK_PX_PER_MM / grid.px_per_mm_y
    h, w = sheet.rgb.shape[:2]
    if max(w * fx, h * fy) > _MAX_WORK_SIDE or min(w * fx, h * fy) < _MIN_SIDE:
        return None
    work = cv2.resize(sheet.rgb, (int(round(w * fx)), int(round(h * fy))),
                      interpolation=cv2.INTER_AREA if fx < 1 else cv2.INTER_LINEAR)
    traces = find_traces(work, sheet.dark_background, WORK_PX_PER_MM)
    layout = find_layout(traces.layout_ink, WORK_PX_PER_MM, traces.stroke_px, traces.vertical_lines,
                         not sheet.dark_background)
    if len(layout.rows) < 3:                 # pale ink (photos) breaks rows apart: read it with hysteresis
        faint = find_traces(work, sheet.dark_background, WORK_PX_PER_MM, faint=True)
        faint_layout = find_layout(faint.layout_ink, WORK_PX_PER_MM, faint.stroke_px, faint.vertical_lines,
                                    not sheet.dark_background)
        if len(faint_layout.rows) > len(layout.rows):
            traces, layout = faint, faint_layout
    return work, traces, layout


def _row_scale(layout: Layout, fx: float, sheet_width: int) -> tuple[float | None, bool]:
    """(sheet px per mm from the trace rows' median length, whether rows run into the sheet's edge).

    Every standard row spans ``ROW_SPAN_MM`` (10 s at 25 mm/s, 5 s at 50 mm/s), whatever the
    layout; a row cut by the image edge (a close-up) only gives a lower bound. None under 3 rows or
    when the layout placed the rows' start a full row before their end (their span is the scale's).
    """
    if len(layout.rows) < 3 or layout.quality.get("span_set_by_scale"):
        return None, False
    spans = np.array([r.x1 - r.x0 for r in layout.rows], float)
    edge = _EDGE_SHARE * sheet_width * fx
    cut = any(r.x0 <= edge or r.x1 >= sheet_width * fx - edge for r in layout.rows)
    return float(np.median(spans)) / fx / ROW_SPAN_MM, cut


def _lopsided(grid: Grid) -> bool:
    """Whether the grid was seen along one axis only or is far stronger along one than the other."""
    x, y = grid.quality.get("contrast_x", 0.0), grid.quality.get("contrast_y", 0.0)
    return min(x, y) <= 0 or max(x, y) / min(x, y) > _LOPSIDED


def _rows_rule(grid: Grid, row_scale: float, cut: bool) -> str:
    """Whether the rows' scale replaces the grid's ("rows"), is read beside it ("both") or not ("grid").

    A standard row is about 250 mm long. A "grid" far stronger along one axis than the other is
    the traces' own rhythm or a texture, not a printed millimetre: beyond 8 % off, the rows' scale
    is the better ruler (on 54 truth pages it is within 5 % on 80 % of them). A grid clear on both
    axes is kept while the rows disagree by less than a fifth; further off, it is a spurious period
    the search near the rows settled on. A period seen on one axis only, or two that disagree, over
    5 % off the rows is either: plain prints' beats made such periods (0.93x, 1.09x and 1.16x the
    rows'), and so did a synthetic photo (0.82x); a GE photo's faint grid at 0.82x its rows was kept
    by the better reading, though its printed rate (78 bpm) says the rows were right (their span
    now sets the time axis, ``layout.row_px_per_s``). The page is read at both scales then. Rows cut
    by the image edge only say the scale is at least theirs (px per mm): a grid giving more is kept,
    one giving over 5 % fewer is read beside them.
    """
    if cut:
        return "both" if grid.px_per_mm < row_scale / _ROW_DOUBT else "grid"
    off = abs(np.log(grid.px_per_mm / row_scale))
    if _lopsided(grid) and off > np.log(_ROW_TRUST):
        return "rows"
    if grid.quality.get("axes_seen", 2.0) < 2 and off > np.log(_ROW_DOUBT):
        return "both"
    return "rows" if off > np.log(_ROW_RULES) else "grid"


def _rows_disagree(grid: Grid, row_scale: float, cut: bool) -> bool:
    """Whether the grid's scale is off the rows' by a harmonic's worth (or no grid was seen).

    Rows cut by the image edge are shorter than a page's: they only say the scale is at least theirs.
    """
    ratio = grid.px_per_mm / row_scale
    if not grid.found:
        return abs(np.log(ratio)) > _SAME_SCALE
    return ratio < 1 / _HARMONIC if cut else abs(np.log(ratio)) > np.log(_HARMONIC)


def read_page(image: PageSource, *, keep_stages: bool = False) -> PageReading:
    """Digitise an ECG page (PIL image, RGB/grey array, path or bytes); never raises on a valid image.

    Paths and bytes are decoded with ``core.imageio.load_image`` (which raises ImageLoadError for
    files that are not images). Non-ECG images give ``readable=False`` with reasons.
    """
    rgb = to_rgb(image)
    if min(rgb.shape[:2]) < _MIN_SIDE:
        return _unreadable(f"image too small ({rgb.shape[1]}x{rgb.shape[0]} px) to hold an ECG", {})
    sheet = find_sheet(rgb)
    if float(sheet.rgb.std()) < 2:
        return _unreadable("the image is flat (one colour): no traces", {"sheet": _stage(sheet)})
    reading = _read_sheet(sheet, keep_stages)
    if reading.stages.get("layout", {}).get("quality", {}).get("rows", 0) >= 3:
        return reading
    # Fewer than three horizontal trace rows: a sheet photographed a quarter turn round shows its
    # rows running up the image. Read it turned both ways and keep the better reading, if it looks
    # like an ECG's (any photo turned round has some stripes to take for rows).
    for turns in (1, 3):
        turned = _read_sheet(_quarter_turned(sheet, turns), keep_stages)
        if _rank(turned) > _rank(reading) and _looks_read(turned):
            reading = turned
    return reading


def _named_layout(reading: PageReading) -> bool:
    """A layout the reader recognised (3x4+1, 6x2…), not rows named by position or none."""
    return not reading.layout.endswith("rows") and reading.layout != "none"


def _looks_read(reading: PageReading) -> bool:
    """Readable, or at least a named layout with R peaks in half of its leads or more whose limb
    leads are not unrelated traces (a photo's roof tiles, turned round, repeat at one "rate" too)."""
    einthoven = reading.qc.get("einthoven_ratio")
    return reading.readable or (_named_layout(reading)
                                and (reading.qc.get("leads_with_rate") or 0) >= len(reading.leads) / 2
                                and (einthoven is None or einthoven < _UNRELATED_LEADS))


def _quarter_turned(sheet: Sheet, turns: int) -> Sheet:
    """The sheet turned ``turns`` quarter turns anticlockwise, saying so in its fallback."""
    note = f"trace rows ran up the image: the sheet was read turned {90 * turns}°"
    return dataclasses.replace(sheet, rgb=np.ascontiguousarray(np.rot90(sheet.rgb, turns)),
                               rotation_deg=sheet.rotation_deg + 90 * turns,
                               quality={**sheet.quality, "quarter_turns": float(turns)},
                               fallback=note if sheet.fallback is None else f"{sheet.fallback}; {note}")


def _rank(reading: PageReading) -> tuple:
    """How well a page was read, for choosing between readings of one sheet: readable, a named
    layout, more leads, then the smaller limb-lead residual."""
    einthoven = reading.qc.get("einthoven_ratio")
    return (reading.readable, _named_layout(reading), len(reading.leads),
            -einthoven if einthoven is not None and np.isfinite(einthoven) else -np.inf)


def _read_sheet(sheet: Sheet, keep_stages: bool) -> PageReading:
    """Grid → working scale → traces → layout → signals → quality on an upright sheet."""
    stages = {"sheet": _stage(sheet)}
    grid = find_grid(sheet.rgb, sheet.dark_background)
    read = _read_rows(sheet, grid)
    if read is None:
        return _unreadable(f"grid period {grid.px_per_mm:.1f} px/mm gives no readable page size",
                           {**stages, "grid": _stage(grid)}, px_per_mm=grid.px_per_mm / sheet.scale)
    row_scale, cut = _row_scale(read[2], WORK_PX_PER_MM / grid.px_per_mm_x, sheet.rgb.shape[1])
    if row_scale is not None and _rows_disagree(grid, row_scale, cut):
        checked = find_grid(sheet.rgb, sheet.dark_background, row_scale)
        again = _read_rows(sheet, checked)
        if again is not None and len(again[2].rows) >= min(3, len(read[2].rows)):
            note = (f"grid period {grid.px_per_mm:.2f} px/mm disagrees with the trace rows' length "
                    f"({row_scale:.2f} px/mm): searched again near the rows' scale")
            grid = dataclasses.replace(checked, fallback=note if checked.fallback is None
                                       else f"{note}; {checked.fallback}")
            read = again
            # Rows found at a harmonic's scale can be misread (merged, started late): measured
            # again as read at the nearer scale, unless that scale placed them.
            again_scale, again_cut = _row_scale(read[2], WORK_PX_PER_MM / grid.px_per_mm_x, sheet.rgb.shape[1])
            if again_scale is not None:
                row_scale, cut = again_scale, again_cut
    candidates = [(grid, read)]
    rule = "grid" if row_scale is None else _rows_rule(grid, row_scale, cut)
    if rule != "grid":
        off = f"grid period {grid.px_per_mm:.2f} px/mm is {grid.px_per_mm / row_scale:.2f}x the trace rows' scale"
        both = " (the page was read at both scales and this one read better)" if rule == "both" else ""
        by_rows = Grid(row_scale, row_scale, False,
                       {**grid.quality, "px_per_mm_x": row_scale, "px_per_mm_y": row_scale},
                       f"{off}: scale from the rows' length ({row_scale:.2f} px/mm){both}")
        again = _read_rows(sheet, by_rows)
        if again is not None and len(again[2].rows) >= min(3, len(read[2].rows)):
            kept = f"{off}: the grid's scale kept{both}"
            candidates = [(by_rows, again)] + (
                [(dataclasses.replace(grid, fallback=kept if grid.fallback is None else f"{kept}; {grid.fallback}"),
                  read)] if rule == "both" else [])
    readings = [_read_signals(sheet, stages, grid, read, row_scale, keep_stages) for grid, read in candidates]
    # The limb-lead residual does not tell scales apart (every lead stretches alike): on a tie
    # in readability, layout and leads, the first, the rows' reading, is kept.
    return max(readings, key=lambda reading: _rank(reading)[:3])


def _read_signals(sheet: Sheet, stages: dict, grid: Grid, read: tuple[np.ndarray, Traces, Layout],
                  row_scale: float | None, keep_stages: bool) -> PageReading:
    """Signals and quality of a sheet read at the grid's scale into ``read`` (work image, traces, layout)."""
    stages = dict(stages)
    stages["grid"] = _stage(grid)
    stages["grid"]["quality"]["row_px_per_mm"] = row_scale if row_scale is not None else np.nan
    px_per_mm_input = grid.px_per_mm / sheet.scale
    work, traces, layout = read
    stages["traces"] = _stage(traces)
    stages["layout"] = _stage(layout)
    resolution = min(grid.px_per_mm, px_per_mm_input)
    if resolution < _MIN_PX_PER_MM:
        return PageReading(False, (f"the image is too coarse for traces: {resolution:.2f} px per mm (a QRS "
                                   f"complex needs at least {_MIN_PX_PER_MM:g})",), layout.name, px_per_mm_input,
                           None, {}, {"einthoven_ratio": None, "goldberger_ratio": None}, stages, work)
    if not layout.segments:
        return PageReading(False, ("no trace rows found",), layout.name, px_per_mm_input, None, {},
                           {"einthoven_ratio": None, "goldberger_ratio": None}, stages, work)
    leads, paths = read_signals(traces.mask, layout, WORK_PX_PER_MM, traces.stroke_px, traces.darkness)
    quality: PageQuality = assess(leads, names_known=not layout.name.endswith("rows"))
    qc = dict(quality.qc)
    qc.update(grid_contrast=min(grid.quality["contrast_x"], grid.quality["contrast_y"]),
              rotation_deg=sheet.rotation_deg, perspective=sheet.quality["perspective"])
    kept = {"sheet": sheet, "grid": grid, "traces": traces, "layout": layout} if keep_stages else None
    reasons = quality.reasons
    if len(layout.rows) > _MAX_ROWS:
        # Lines of text repeat like rows of beats; no ECG page prints this many rows.
        reasons += (f"{len(layout.rows)} trace rows: an ECG page prints at most {_MAX_ROWS} "
                    f"(12 leads and rhythm strips)",)
    return PageReading(not reasons, reasons, layout.name, px_per_mm_input, quality.heart_rate_bpm,
                       leads, qc, stages, work, paths, kept)
