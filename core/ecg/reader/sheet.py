"""Find the ECG sheet in an image: light or dark background, the paper in a photo, perspective, skew.

The result is an upright RGB array of the sheet (at most ``MAX_SIDE`` px on its long side) plus
whether its background is dark (monitor screens: light traces on black), which later stages use
to read ink as "brighter than the background" instead of "darker".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from core.ecg.reader.lines import find_squaring, turn_of, warp_squared

MAX_SIDE = 1600          # enough for 1 mm ≥ 5 px on an A4 page; keeps every later stage fast
_MAX_SKEW_DEG = 12.0
_SKEW_SIDE = 1000
_PROFILE_STEP_DEG = 0.25   # the coarse search of the profile's skew, refined to 0.02 deg
_MIN_PROFILE_INK = 200     # ink pixels below which a profile says nothing
_MAX_SHIFT_PX = 4        # the residual skew searched: up to this many px between the sheet's thirds
_DARK_LEVEL = 90         # a screen: half its pixels have no channel brighter than this


@dataclass(frozen=True)
class Sheet:
    """The upright sheet and how it was found."""

    rgb: np.ndarray                      # (H, W, 3) uint8
    dark_background: bool
    scale: float                         # sheet px per input px (at the centre, before the perspective warp)
    corners: np.ndarray | None           # (4, 2) paper corners in input px, None when not warped
    rotation_deg: float
    quality: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None


def looks_dark(rgb: np.ndarray) -> bool:
    """Whether most of an RGB image is dark (a screen's background), so that ink is the light pixels."""
    return float(np.median(rgb.max(axis=-1))) < _DARK_LEVEL


def _order_corners(pts: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s, d = pts.sum(1), np.diff(pts, axis=1)[:, 0]
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float32)


def _paper_quad(rgb: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Four corners of the largest bright, unsaturated region, and its share of the image."""
    small_side = 400
    k = small_side / max(rgb.shape[:2])
    small = cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    value = cv2.GaussianBlur(hsv[..., 2], (5, 5), 0)
    _, bright = cv2.threshold(value, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright &= (hsv[..., 1] < 90).astype(np.uint8) * 255           # paper is not saturated
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))  # fill traces/text
    n, labels, stats, _ = cv2.connectedComponentsWithStats(bright)
    if n < 2:
        return None, 0.0
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    share = stats[biggest, cv2.CC_STAT_AREA] / bright.size
    contours, _ = cv2.findContours((labels == biggest).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.02, 0.04, 0.06, 0.1):
        quad = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(quad) == 4:
            break
    else:
        quad = cv2.boxPoints(cv2.minAreaRect(hull))
    return _order_corners(quad.reshape(4, 2).astype(np.float32) / k), float(share)


def _skew_deg(grey: np.ndarray) -> tuple[float, int]:
    """Rotation of the page from near-horizontal long lines (grid lines, baselines), and their count."""
    k = min(1.0, _SKEW_SIDE / max(grey.shape))            # long lines keep their angle at a smaller size
    if k < 1:
        grey = cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(grey, 50, 150)
    min_len = grey.shape[1] // 6
    lines = cv2.HoughLinesP(edges, 1, np.pi / 720, threshold=min_len // 2, minLineLength=min_len, maxLineGap=4)
    if lines is None:
        return 0.0, 0
    x0, y0, x1, y1 = lines.reshape(-1, 4).T.astype(float)
    angles = np.degrees(np.arctan2(y1 - y0, x1 - x0))
    angles = angles[np.abs(angles) < _MAX_SKEW_DEG]
    if len(angles) < 3:
        return 0.0, len(angles)
    return float(np.median(angles)), len(angles)


def _profile_skew_deg(grey: np.ndarray) -> float:
    """Rotation of the page from its ink's row profile, sharpest when rows of ink lie level.

    The document scanner's classic: dashed rules, text lines and baselines broken by beats give
    Hough no long line, but every one of them sharpens the profile once the page is level.
    """
    k = min(1.0, _SKEW_SIDE / max(grey.shape))
    if k < 1:
        grey = cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ys, xs = np.nonzero(ink)
    if len(ys) < _MIN_PROFILE_INK:
        return 0.0
    xs = xs - grey.shape[1] / 2

    def sharpness(degrees: float) -> float:
        level = ys - xs * np.tan(np.radians(degrees))       # each ink pixel's row on the levelled page
        counts = np.bincount(np.round(level - level.min()).astype(int)).astype(float)
        return float(np.dot(counts, counts))

    coarse = np.arange(-_MAX_SKEW_DEG, _MAX_SKEW_DEG + 1e-6, _PROFILE_STEP_DEG)
    best = max(coarse, key=sharpness)
    fine = np.linspace(best - _PROFILE_STEP_DEG, best + _PROFILE_STEP_DEG, 25)
    return float(max(fine, key=sharpness))


def _rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The image turned by ``degrees`` about its centre (same size, edges replicated)."""
    hh, ww = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((ww / 2, hh / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, matrix, (ww, hh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _residual_skew_deg(grey: np.ndarray) -> float:
    """The rotation left after deskewing, from how far the horizontal lines' pattern (grid lines,
    baselines) moves between the left and right thirds of the sheet: Hough angles are quantised
    (0.25 deg), and 0.1 deg over a 3x4 page shifts each row's time axis by a sample or two."""
    h, w = grey.shape
    third = w // 3
    if third < 50 or h < 4 * _MAX_SHIFT_PX:
        return 0.0
    grey = grey.astype(np.float32)
    profiles = [grey[:, :third].mean(axis=1), grey[:, -third:].mean(axis=1)]
    left, right = (p - cv2.blur(p[:, None], (1, 15))[:, 0] for p in profiles)
    lags = np.arange(-_MAX_SHIFT_PX, _MAX_SHIFT_PX + 1)
    inner = slice(_MAX_SHIFT_PX, h - _MAX_SHIFT_PX)
    score = np.array([float(np.dot(left[inner], np.roll(right, -lag)[inner])) for lag in lags])
    i = int(np.argmax(score))
    if not 0 < i < len(lags) - 1:
        return 0.0
    a, b, c = score[i - 1:i + 2]
    denom = a - 2 * b + c
    shift = lags[i] + (0.5 * (a - c) / denom if denom != 0 else 0.0)
    return float(np.degrees(np.arctan2(shift, w - third)))


def _deskewed(rgb: np.ndarray, dark: bool, scanned: bool) -> tuple[np.ndarray, float, float, int, bool]:
    """The sheet turned level by its long near-horizontal lines: (sheet, rotation, its refinement,
    lines used, whether the ink's row profile gave the rotation instead).

    ``scanned``: the paper fills the frame (a scan or a render), so with too few long lines the ink's
    row profile may level it (on a photo, shadows and the table would sway the profile).
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    ink_dark = 255 - grey if dark else grey           # ink darker than paper, as both searches expect
    rotation, n_lines = _skew_deg(ink_dark)
    by_profile = n_lines < 3 and scanned
    if by_profile:
        rotation = _profile_skew_deg(ink_dark)
    residual = 0.0
    if abs(rotation) > 0.15:
        turned = _rotated(rgb, rotation)
        residual = _residual_skew_deg(cv2.cvtColor(turned, cv2.COLOR_RGB2GRAY))
        # One warp by the refined angle: a second on top would blur the ink twice.
        rotation += residual
        rgb = _rotated(rgb, rotation) if abs(residual) > 0.02 else turned
    return rgb, rotation, residual, n_lines, by_profile


def find_sheet(rgb: np.ndarray) -> Sheet:
    """The upright sheet of an RGB image; falls back to the whole image with a reason."""
    h, w = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    if scale < 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    quad, share = _paper_quad(rgb)
    # A screen: mostly dark with little bright paper, so traces are the light pixels.
    dark = looks_dark(rgb) and share < 0.15
    quality: dict[str, float] = {"dark_background": float(dark)}
    fallback = None
    corners = None
    if dark:
        fallback = "dark background (a screen): read light traces on it, whole image used"
        share = 1.0
    elif quad is None:
        fallback = "no bright paper region found: whole image used"
    elif share < 0.15:
        fallback = f"paper region too small ({share:.0%} of the image): whole image used"
    elif share < 0.9:
        corners = quad                                           # else a scan or render: paper fills the frame
    perspective = 0.0
    if corners is not None:
        top, right = np.linalg.norm(corners[1] - corners[0]), np.linalg.norm(corners[2] - corners[1])
        bottom, left = np.linalg.norm(corners[2] - corners[3]), np.linalg.norm(corners[3] - corners[0])
        perspective = float(max(1 - min(top, bottom) / max(top, bottom), 1 - min(left, right) / max(left, right)))
        out_w, out_h = int(max(top, bottom)), int(max(left, right))
        target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], np.float32)
        matrix = cv2.getPerspectiveTransform(corners, target)
        rgb = cv2.warpPerspective(rgb, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
        corners = corners / scale
    # The outline misses perspective when the frame cuts the sheet or a hand hides a corner: the
    # grid's own lines finish the job, rotation included.
    lines = find_squaring(rgb, dark)
    by_profile = False
    if lines.applied:
        squared, shrink = warp_squared(rgb, lines.matrix, MAX_SIDE)
        # Short segments give the level to a tenth of a degree; the grid's pattern refines it, and
        # the refined turn goes into the same single resampling.
        residual = _residual_skew_deg(cv2.cvtColor(squared, cv2.COLOR_RGB2GRAY))
        rotation, n_lines = turn_of(lines.matrix, rgb.shape[:2]) + residual, lines.horizontal
        rgb = warp_squared(rgb, lines.matrix, MAX_SIDE, residual)[0] if abs(residual) > 0.02 else squared
        scale *= shrink                          # a turned sheet's corners need room: it may shrink to fit
    else:
        rgb, rotation, residual, n_lines, by_profile = _deskewed(rgb, dark, scanned=corners is None and share >= 0.9)
    quality.update(paper_share=float(share), perspective=perspective, rotation_deg=rotation, residual_skew_deg=residual,
                   skew_lines=float(n_lines), square_lines_before=float(lines.aligned_before),
                   square_lines_after=float(lines.aligned_after), squared=float(lines.applied),
                   squared_by_grid_tiles=float(lines.applied and lines.evidence == "grid tiles"),
                   levelled_by_ink_rows=float(not lines.applied and by_profile))
    return Sheet(np.ascontiguousarray(rgb), dark, scale, corners, rotation, quality, fallback)
