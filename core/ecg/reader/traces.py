"""Trace ink: a mask of the pen's strokes, without grid, rules and specks, and the stroke width.

Ink is read on the brightest colour channel, where coloured grid lines (pink, red, blue, green)
are nearly as light as the paper and black or dark-blue ink stays dark; the local paper level is
divided out first (flat field), so shadows and uneven light do not become ink. Black-and-white
grids are as dark as the traces: their lines are straight and long, so a morphological opening
with long horizontal and vertical lines finds them and they are removed; isolated dots (dotted
grids, JPEG specks) go with a small-component filter. Vertical grid lines that a scan broke into
dashes escape the long opening: they are found as the columns, every 5 mm, where ink fills most of
a short band of rows (:func:`grid_columns`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

_H_LINE_MM = 30.0       # a trace's flat baseline never stays on one pixel row this long
_V_LINE_MM = 45.0       # column separators and grid lines are longer; the tallest QRS spikes are not
_MIN_AREA_MM2 = 0.3
_BAND_MM = 10.0           # dashed grid lines are sought band by band: a slight skew stays within a pixel
_LINE_FILL = 0.4          # a grid line's column is inked over this share of a band; a flat trace ~5 %
_DASH_MM = 5.5           # grid-line pieces end at the bold horizontal lines (5 mm apart); a pulse edge is 10 mm
_MAJOR_MM = 5.0           # the grid's bold lines: a QRS stroke never has partners exactly this far apart
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
    dashes: np.ndarray | None = field(default=None, repr=False)   # (H, W) dashed grid-line ink cut from mask

    @property
    def layout_ink(self) -> np.ndarray:
        """The ink rows and pulses are found on: the mask with its grid dashes put back, because a
        calibration pulse printed on a grid line loses its edges with them (the signals are read
        without them)."""
        return self.mask if self.dashes is None or not self.dashes.any() else self.mask | self.dashes


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


def grid_columns(mask: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Where a dashed vertical grid line crosses each band of rows: (H, W) bool.

    In every band ``_BAND_MM`` tall a column is line-like when ink fills ``_LINE_FILL`` of it; it is
    a grid line when line-like columns also lie one bold-grid period (5 mm) away on both sides, or
    two on one side (the last line of a grid). A QRS stroke fills a band too, but nothing sits
    exactly 5 mm either side of it, and a calibration pulse's two edges are only one period apart.
    """
    h, w = mask.shape
    band = max(2, int(round(_BAND_MM * px_per_mm)))
    period = int(round(_MAJOR_MM * px_per_mm))
    n_bands = -(-h // band)
    padded = np.zeros((n_bands * band, w), np.float32)
    padded[:h] = mask
    fill = padded.reshape(n_bands, band, w).mean(axis=1)
    line_like = (fill >= _LINE_FILL).astype(np.uint8)
    near = cv2.dilate(line_like, np.ones((1, 5), np.uint8)).astype(bool)   # ±2 px: scale and line width

    def at(offset: int) -> np.ndarray:
        out = np.zeros_like(near)
        if offset > 0:
            out[:, :-offset] = near[:, offset:]
        else:
            out[:, -offset:] = near[:, :w + offset]
        return out

    left, right = at(-period), at(period)
    grid = line_like.astype(bool) & ((left & right) | (right & at(2 * period)) | (left & at(-2 * period)))
    return np.repeat(grid, band, axis=0)[:h]


def _vertical_runs(mask: np.ndarray) -> np.ndarray:
    """The length of the vertical ink run through every pixel (0 off the ink)."""
    ink = mask.astype(bool)
    down = np.zeros(mask.shape, np.int32)
    up = np.zeros(mask.shape, np.int32)
    for y in range(1, mask.shape[0]):
        down[y] = (down[y - 1] + 1) * ink[y - 1]
    for y in range(mask.shape[0] - 2, -1, -1):
        up[y] = (up[y + 1] + 1) * ink[y + 1]
    return (down + up + 1) * ink


def _cut_columns(mask: np.ndarray, columns: np.ndarray, px_per_mm: float) -> np.ndarray:
    """``mask`` without the dashes in ``columns``: their short vertical runs go, while long strokes
    on a grid line stay (a calibration pulse's edge, a QRS), and a trace running straight through
    keeps its pixels (ink on both sides in the same row: a horizontal closing bridges it)."""
    dashes = columns & (_vertical_runs(mask) < _DASH_MM * px_per_mm)
    cut = mask.astype(bool) & ~dashes
    bridge = np.ones((1, int(round(px_per_mm)) + 2), np.uint8)
    bridged = cv2.morphologyEx(cut.astype(np.uint8), cv2.MORPH_CLOSE, bridge).astype(bool)
    return (cut | (bridged & dashes & mask.astype(bool))).astype(mask.dtype)


def _without_specks(mask: np.ndarray, px_per_mm: float) -> np.ndarray:
    """``mask`` (bool) without its connected pieces smaller than ``_MIN_AREA_MM2``: dots of a dotted
    grid, JPEG specks, the ends of cut grid lines."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= _MIN_AREA_MM2 * px_per_mm ** 2
    keep[0] = False
    return keep[labels]


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
    uncut = _without_specks(mask & (1 - lines), px_per_mm)
    dashed = grid_columns(mask, px_per_mm)
    # Cutting dashes leaves their ends as specks; without dashed lines there is nothing to cut.
    cleaned = _without_specks(_cut_columns(uncut, dashed, px_per_mm), px_per_mm) if dashed.any() else uncut
    dashes = uncut & ~cleaned
    quality = {"ink_threshold": threshold, "ink_share": float(cleaned.mean()),
               "line_share": float(lines.mean()), "dashed_line_share": float(dashed.mean())}
    stroke = _stroke_width(cleaned)
    quality["stroke_px"] = stroke
    return Traces(cleaned, vertical.astype(bool), stroke, quality, fallback, darkness, dashes)
