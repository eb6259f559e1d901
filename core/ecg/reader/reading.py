"""Read a whole ECG page: sheet → grid → working scale → traces → layout → signals → quality."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import cv2
import numpy as np
from PIL import Image

from core.ecg.reader.grid import Grid, find_grid
from core.ecg.reader.layout import Layout, find_layout
from core.ecg.reader.quality import PageQuality, assess
from core.ecg.reader.sheet import Sheet, find_sheet
from core.ecg.reader.signals import LeadSignal, PenPath, read_signals
from core.ecg.reader.traces import Traces, find_traces
from core.imageio import load_image

WORK_PX_PER_MM = 5.0          # every page is read at this scale: 8 ms and 0.02 mV per px
_MAX_WORK_SIDE = 2400
_MIN_SIDE = 64

PageSource = Union[Image.Image, np.ndarray, str, os.PathLike, bytes]


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

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (no signals)."""
        return {
            "readable": self.readable, "reasons": list(self.reasons), "layout": self.layout,
            "px_per_mm": _num(self.px_per_mm), "heart_rate_bpm": _num(self.heart_rate_bpm),
            "leads": {n: {"start_s": s.start_s, "fs": s.fs, "n": int(len(s.mv)), "coverage": round(s.coverage, 4)}
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


def _to_rgb(image: PageSource) -> np.ndarray:
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


def read_page(image: PageSource) -> PageReading:
    """Digitise an ECG page (PIL image, RGB/grey array, path or bytes); never raises on a valid image.

    Paths and bytes are decoded with ``core.imageio.load_image`` (which raises ImageLoadError for
    files that are not images). Non-ECG images give ``readable=False`` with reasons.
    """
    rgb = _to_rgb(image)
    if min(rgb.shape[:2]) < _MIN_SIDE:
        return _unreadable(f"image too small ({rgb.shape[1]}x{rgb.shape[0]} px) to hold an ECG", {})
    sheet = find_sheet(rgb)
    stages = {"sheet": _stage(sheet)}
    if float(sheet.rgb.std()) < 2:
        return _unreadable("the image is flat (one colour): no traces", stages)
    grid = find_grid(sheet.rgb, sheet.dark_background)
    stages["grid"] = _stage(grid)
    px_per_mm_input = grid.px_per_mm / sheet.scale
    fx, fy = WORK_PX_PER_MM / grid.px_per_mm_x, WORK_PX_PER_MM / grid.px_per_mm_y
    h, w = sheet.rgb.shape[:2]
    if max(w * fx, h * fy) > _MAX_WORK_SIDE or min(w * fx, h * fy) < _MIN_SIDE:
        return _unreadable(f"grid period {grid.px_per_mm:.1f} px/mm gives no readable page size", stages,
                           px_per_mm=px_per_mm_input)
    work = cv2.resize(sheet.rgb, (int(round(w * fx)), int(round(h * fy))),
                      interpolation=cv2.INTER_AREA if fx < 1 else cv2.INTER_LINEAR)
    traces = find_traces(work, sheet.dark_background, WORK_PX_PER_MM)
    stages["traces"] = _stage(traces)
    layout = find_layout(traces.mask, WORK_PX_PER_MM, traces.stroke_px, traces.vertical_lines)
    stages["layout"] = _stage(layout)
    if not layout.segments:
        return PageReading(False, ("no trace rows found",), layout.name, px_per_mm_input, None, {},
                           {"einthoven_ratio": None, "goldberger_ratio": None}, stages, work)
    leads, paths = read_signals(traces.mask, layout, WORK_PX_PER_MM, traces.stroke_px)
    quality: PageQuality = assess(leads)
    qc = dict(quality.qc)
    qc.update(grid_contrast=min(grid.quality["contrast_x"], grid.quality["contrast_y"]),
              rotation_deg=sheet.rotation_deg, perspective=sheet.quality["perspective"])
    return PageReading(quality.readable, quality.reasons, layout.name, px_per_mm_input, quality.heart_rate_bpm,
                       leads, qc, stages, work, paths)
