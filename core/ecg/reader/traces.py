"""Trace ink: a mask of the pen's strokes, without grid, rules and specks, and the stroke width.

Ink is read on the brightest colour channel, where coloured grid lines (pink, red, blue, green)
are nearly as light as the paper and black or dark-blue ink stays dark; the local paper level is
divided out first (flat field), so shadows and uneven light do not become ink. Black-and-white
grids are as dark as the traces: their lines are straight and long, so a morphological opening
with long horizontal and vertical lines finds them and they are removed; isolated dots (dotted
grids, JPEG specks) go with a small-component filter.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

_H_LINE_MM = 30.0       # a trace's flat baseline never stays on one pixel row this long
_V_LINE_MM = 45.0       # column separators and grid lines are longer; the tallest QRS spikes are not
_MIN_AREA_MM2 = 0.3
_LOW_SHARE = 0.5          # hysteresis: ink down to this share of the threshold joins darker ink
_MIN_LOW = 0.15


@dataclass(frozen=True)
class Traces:
    """Trace-ink mask at the working scale."""

    mask: np.ndarray                     # (H, W) bool
    vertical_lines: np.ndarray           # (H, W) bool: long vertical strokes removed (column separators, grid)
    stroke_px: float
    quality: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None
    darkness: np.ndarray | None = field(default=None, repr=False)   # (H, W) ink darkness, for sub-pixel reading


def ink_darkness(rgb: np.ndarray, dark_background: bool, px_per_mm: float) -> np.ndarray:
    """0 = paper, 1 = black ink, on the brightest channel, relative to the local paper level."""
    v = (255 - rgb.max(axis=2)) if dark_background else rgb.max(axis=2)
    k = max(3, int(2 * px_per_mm) | 1)
    paper = cv2.dilate(v, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    paper = cv2.blur(paper, (4 * k + 1, 4 * k + 1)).astype(np.float32)
    return np.clip(1 - v.astype(np.float32) / np.maximum(paper, 1), 0, 1)


def _stroke_width(mask: np.ndarray) -> float:
    """Median vertical run length of ink: the pen's width where the trace is flat."""
    d = np.diff(mask.astype(np.int8), axis=0, prepend=0, append=0)
    lengths = np.flatnonzero(d.T.ravel() == -1) - np.flatnonzero(d.T.ravel() == 1)
    return float(np.median(lengths)) if len(lengths) else 1.0


def find_traces(rgb: np.ndarray, dark_background: bool, px_per_mm: float, faint: bool = False) -> Traces:
    """The trace mask of a sheet at ``px_per_mm``; ``faint`` adds hysteresis for pale or thin ink."""
    darkness = ink_darkness(rgb, dark_background, px_per_mm)
    inked = darkness[darkness > 0.08]
    fallback = None
    if inked.size < 50:
        threshold = 0.3
        fallback = "almost no ink on the page"
    else:
        otsu, _ = cv2.threshold((inked * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        threshold = float(np.clip(otsu / 255, 0.18, 0.55))
    mask = (darkness >= threshold).astype(np.uint8)
    if faint:
        # Hysteresis: pale stretches of a grey or thin trace (photos) join when they touch darker ink.
        low = (darkness >= max(_MIN_LOW, _LOW_SHARE * threshold)).astype(np.uint8)
        n, labels = cv2.connectedComponents(low, connectivity=8)
        seeded = np.zeros(n, bool)
        seeded[np.unique(labels[mask > 0])] = True
        seeded[0] = False
        mask = seeded[labels].astype(np.uint8)
        fallback = "faint ink: paler pixels touching the trace kept (hysteresis)"
    h_len, v_len = int(_H_LINE_MM * px_per_mm), int(_V_LINE_MM * px_per_mm)
    horizontal = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, h_len), np.uint8))
    vertical = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((v_len, 1), np.uint8))
    lines = cv2.dilate(horizontal | vertical, np.ones((3, 3), np.uint8))
    cleaned = mask & (1 - lines)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cleaned, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= _MIN_AREA_MM2 * px_per_mm ** 2
    keep[0] = False
    cleaned = keep[labels]
    quality = {"ink_threshold": threshold, "ink_share": float(cleaned.mean()),
               "line_share": float(lines.mean())}
    stroke = _stroke_width(cleaned)
    quality["stroke_px"] = stroke
    return Traces(cleaned, vertical.astype(bool), stroke, quality, fallback, darkness)
