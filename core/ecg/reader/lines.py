"""Square a sheet by its own straight lines: the homography that makes grid lines and baselines
horizontal and vertical again.

A phone photo leaves the sheet in perspective, and the paper's outline often cannot undo it: the
frame cuts the sheet's corners, a finger or the table hides them. The grid's lines (and the traces'
baselines) are straight and meet at right angles on paper, and a homography keeps lines straight,
so the one that turns every near-horizontal segment horizontal and every near-vertical one vertical
undoes the perspective up to a scale along each axis, which the grid stage measures anyway. QRS
strokes and text are short or slanted; a robust loss lets them go. Where the segments cannot
square the sheet (a photo's faint grid breaks into short pieces), the grid's own direction in each
tile of the sheet (``core.ecg.reader.orientation``) stands in for them.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import least_squares

from core.ecg.reader.orientation import direction_segments, grid_ink, tile_directions

_FAMILY_DEG = 25.0        # a segment this close to horizontal or vertical belongs to that family
_MIN_LENGTH = 0.03        # of the sheet's long side: shorter segments are text, ticks and noise
_DETECT_SIDE = 1000       # segments are detected on the sheet at most this size
_MIN_FAMILY = 6           # segments each family needs before the fit is trusted
_MIN_SQUARE = 3           # ... and the segments each must have square after it
_INLIER_TAN = 0.01        # the robust loss's scale: 0.6° of slant after the fit is still a grid line
_RIDGE = 0.05             # pulls parameters the lines do not pin down back to no change
_MAX_PROJECTIVE = 0.4     # beyond this (normalised) tilt the fit is a wrong solution, not a photo
_MAX_SHEAR = 0.3
_ALIGNED_TAN = np.tan(np.radians(0.25))   # a segment this close to its axis is square
_GAIN = 0.1               # the squaring must align this share of the family segments more than before
_GRID_TILES = 0.4         # the grid must show in this share of the sheet's tiles to square it by them


@dataclass(frozen=True)
class LineFit:
    """The squaring homography (sheet px → squared sheet px) and how the lines supported it."""

    matrix: np.ndarray                   # 3x3
    horizontal: int                      # segments in each family
    vertical: int
    aligned_before: int                  # family segments within 0.25° of their axis before the fit
    aligned_after: int                   # ... and after it
    fallback: str | None = None          # why no squaring was applied
    evidence: str = "line segments"      # or "grid tiles": the grid's direction tile by tile

    @property
    def applied(self) -> bool:
        return self.fallback is None


def line_segments(grey: np.ndarray, min_length: float) -> np.ndarray:
    """(N, 4) segments x0, y0, x1, y1 at least ``min_length`` px long (OpenCV's LSD detector)."""
    found = cv2.createLineSegmentDetector().detect(grey)[0]
    if found is None:
        return np.zeros((0, 4), np.float32)
    segments = found.reshape(-1, 4)
    return segments[np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1]) >= min_length]


def _warp(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply [[1, a, 0], [b, 1, 0], [g, h, 1]]: shear and rotation (a, b), perspective (g, h).

    The four remaining degrees of freedom (scale and shift along each axis) keep lines straight and
    axis-parallel, so the lines cannot tell them and they stay fixed.
    """
    a, b, g, h = params
    w = g * x + h * y + 1
    return (x + a * y) / w, (b * x + y) / w


def _slants(params, x0, y0, x1, y1, horizontal, vertical) -> np.ndarray:
    """Tangent of each family segment's angle away from its axis, after the warp."""
    ax, ay = _warp(params, x0, y0)
    bx, by = _warp(params, x1, y1)
    along_x = (by - ay)[horizontal] / np.maximum(np.abs(bx - ax)[horizontal], 1e-9)
    along_y = (bx - ax)[vertical] / np.maximum(np.abs(by - ay)[vertical], 1e-9)
    return np.r_[along_x, along_y]


def fit_squaring(segments: np.ndarray, shape: tuple[int, int]) -> LineFit:
    """The homography squaring ``segments`` of a sheet of ``shape`` (h, w); identity with a reason
    when the lines are too few, the fit implausible or not clearly better than the sheet as found."""
    h, w = shape
    k = 2.0 / max(w, h)                                  # normalised coordinates: parameters of order 1
    centre = np.array([w / 2, h / 2, w / 2, h / 2])
    x0, y0, x1, y1 = ((segments - centre) * k).T.astype(np.float64)
    angle = np.degrees(np.arctan2(y1 - y0, x1 - x0)) % 180
    horizontal = (angle < _FAMILY_DEG) | (angle > 180 - _FAMILY_DEG)
    vertical = np.abs(angle - 90) < _FAMILY_DEG
    counts = int(horizontal.sum()), int(vertical.sum())
    length = np.sqrt(np.hypot(x1 - x0, y1 - y0))
    weight = np.r_[length[horizontal], length[vertical]]
    weight = weight / weight.mean() if len(weight) else weight

    def slants(params: np.ndarray) -> np.ndarray:
        return _slants(params, x0, y0, x1, y1, horizontal, vertical)

    def aligned(params: np.ndarray) -> tuple[int, int]:
        """Segments of each family within ``_ALIGNED_TAN`` of their axis."""
        close = np.abs(slants(params)) < _ALIGNED_TAN
        return int(close[:counts[0]].sum()), int(close[counts[0]:].sum())

    identity = np.eye(3)
    before = aligned(np.zeros(4))
    unchanged = functools.partial(LineFit, identity, *counts, sum(before))
    if min(counts) < _MIN_FAMILY:
        return unchanged(sum(before), f"too few straight lines to square the sheet ({counts[0]} across, {counts[1]} up)")
    params = least_squares(lambda p: np.r_[slants(p) * weight, _RIDGE * p], np.zeros(4),
                           loss="soft_l1", f_scale=_INLIER_TAN).x
    a, b, g, hh = params
    if max(abs(g), abs(hh)) > _MAX_PROJECTIVE or max(abs(a), abs(b)) > _MAX_SHEAR:
        return unchanged(sum(before), "the straight lines gave an implausible perspective: sheet left as found")
    after = aligned(params)
    # Each family must end up with its own straight lines (a fit led by one family and a few
    # slanted strokes in the other shears a square page), and clearly more of them than before.
    if min(after) < _MIN_SQUARE or sum(after) < sum(before) + _GAIN * sum(counts):
        return unchanged(sum(before), f"no clear correction: {sum(before)} lines square as found, {after[0]} across "
                                      f"and {after[1]} up after the best homography")
    normalise = np.array([[k, 0, -k * w / 2], [0, k, -k * h / 2], [0, 0, 1]])
    squaring = np.array([[1, a, 0], [b, 1, 0], [g, hh, 1]])
    return LineFit(np.linalg.inv(normalise) @ squaring @ normalise, *counts, sum(before), sum(after))


def find_squaring(rgb: np.ndarray, dark_background: bool = False) -> LineFit:
    """The squaring homography of a sheet from its long straight segments (see ``fit_squaring``),
    or else from the direction of its grid lines tile by tile."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    # Long lines keep their direction at a smaller size, and the detector costs 4x less at half of it.
    k = min(1.0, _DETECT_SIDE / max(grey.shape))
    small = cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA) if k < 1 else grey
    by_lines = fit_squaring(line_segments(small, _MIN_LENGTH * max(small.shape)) / k, grey.shape)
    if by_lines.applied:
        return by_lines
    tiles = tile_directions(grid_ink(rgb, dark_background))
    showing = sum(t.shows_grid for t in tiles)
    if not tiles or showing < _GRID_TILES * len(tiles):
        return dataclasses.replace(by_lines, fallback=f"{by_lines.fallback}; the grid shows in {showing} of "
                                                      f"{len(tiles)} tiles, too few to square the sheet by")
    by_grid = fit_squaring(direction_segments(tiles), grey.shape)
    if by_grid.applied:
        return dataclasses.replace(by_grid, evidence="grid tiles")
    return dataclasses.replace(by_lines, fallback=f"{by_lines.fallback}; grid tiles: {by_grid.fallback}")


def warp_squared(rgb: np.ndarray, matrix: np.ndarray, max_side: int,
                 turn_deg: float = 0.0) -> tuple[np.ndarray, float]:
    """``rgb`` warped by ``matrix`` and then turned ``turn_deg`` about the result's centre, in one
    resampling; the whole sheet is kept, at most ``max_side`` px on its long side, so the result
    comes with the factor (at most 1) it was shrunk by to fit."""
    h, w = rgb.shape[:2]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32).reshape(-1, 1, 2)
    mapped = cv2.perspectiveTransform(corners, matrix).reshape(-1, 2)
    low, high = mapped.min(axis=0), mapped.max(axis=0)
    scale = min(1.0, max_side / float(max(high - low)))
    place = np.array([[scale, 0, -scale * low[0]], [0, scale, -scale * low[1]], [0, 0, 1]])
    size = tuple(int(v) for v in np.ceil((high - low) * scale))
    turn = np.vstack([cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), turn_deg, 1.0), [0, 0, 1]])
    # Fill the corners the warp uncovers with the paper's colour: replicated edges would drag any
    # trace that touches the border into long stripes that pass for rows.
    paper = tuple(float(v) for v in np.median(rgb[::4, ::4].reshape(-1, 3), axis=0))   # a sample is enough
    return cv2.warpPerspective(rgb, turn @ place @ matrix, size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=paper), scale


def turn_of(matrix: np.ndarray, shape: tuple[int, int]) -> float:
    """The angle (degrees, as the sheet's lines lay in the image) that ``matrix`` levels at the sheet's centre."""
    h, w = shape
    level = np.array([[[w / 2 - 50, h / 2]], [[w / 2 + 50, h / 2]]], np.float64)
    a, b = cv2.perspectiveTransform(level, np.linalg.inv(matrix)).reshape(2, 2)
    return float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
