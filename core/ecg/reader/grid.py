"""The millimetre grid: its period in px along x and y, from the spectrum of grid-ink profiles.

Grid lines repeat every 1 mm (minor) and 5 mm (major), across the whole sheet, so the mean
darkness of every pixel column (or row) is a periodic signal whose spectrum has a comb of peaks;
the traces and text add little periodic energy. Minor lines make the 5th harmonic of the major
spacing stand out, which tells 1 mm from 5 mm; when only one spacing is printed, the page size
decides. Without a grid (screens, plain prints) the scale comes from the page width.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter, uniform_filter1d

TRACE_WIDTH_MM = 265.0      # 10 s at 25 mm/s plus the calibration pulse: the width a full page's grid spans
_MIN_PERIOD, _MAX_PERIOD = 2.5, 60.0
_MIN_CONTRAST = 12.0        # peak power over the spectrum's median: a visible grid measures 30 to 10^4
_PAD = 8
_PRIOR_RANGE = 3.0        # the millimetre is searched within this factor of the page-size guess
_ROW_RANGE = 1.35         # ... and within this factor of the trace rows' scale (harmonics are 2x away)


@dataclass(frozen=True)
class Grid:
    """Millimetre scale of the sheet."""

    px_per_mm_x: float
    px_per_mm_y: float
    found: bool                          # True: measured on a printed grid
    quality: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None

    @property
    def px_per_mm(self) -> float:
        """The mean of the two axes."""
        return (self.px_per_mm_x + self.px_per_mm_y) / 2


def grid_darkness(rgb: np.ndarray, dark_background: bool) -> np.ndarray:
    """Ink of any colour relative to the local paper (0 = paper, 1 = black), shadows divided out."""
    v = (255 - rgb.max(axis=2)) if dark_background else rgb.min(axis=2)
    paper = cv2.dilate(v, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15)))
    paper = cv2.blur(paper, (31, 31)).astype(np.float32)
    return np.clip(1 - v.astype(np.float32) / np.maximum(paper, 1), 0, 1)


def _spectrum(profile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    high = profile - uniform_filter1d(profile, 2 * int(_MAX_PERIOD) + 1, mode="nearest")
    n = len(high)
    power = np.abs(np.fft.rfft(high * np.hanning(n), n * _PAD)) ** 2
    return np.fft.rfftfreq(n * _PAD), power


def _power_at(freqs, power, f, tol=0.03) -> float:
    band = (freqs > f * (1 - tol)) & (freqs < f * (1 + tol))
    return float(power[band].max()) if band.any() else 0.0


def _refine(freqs, power, f, tol=0.03) -> float:
    """The peak frequency near ``f``, with parabolic interpolation between bins."""
    band = np.flatnonzero((freqs > f * (1 - tol)) & (freqs < f * (1 + tol)))
    if len(band) < 3:
        return f
    i = band[np.argmax(power[band])]
    if 0 < i < len(power) - 1:
        a, b, c = np.log(power[i - 1:i + 2] + 1e-30)
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
        return float(freqs[i] + offset * (freqs[1] - freqs[0]))
    return float(freqs[i])


def axis_period(profile: np.ndarray, prior_px_per_mm: float, prior_range: float = _PRIOR_RANGE
                ) -> tuple[float, float]:
    """(px per mm, contrast) along one axis; px per mm is NaN when the profile is too short.

    Every candidate millimetre m is scored by the comb of the 5 mm spacing, the geometric mean of
    the spectral power at k / (5 m), k = 1..10: minor lines land on its 5th and 10th teeth and
    major lines on all, while a harmonic or sub-harmonic of the true period leaves teeth on noise.
    A weak page-size prior breaks near-ties; ``prior_range`` bounds the search around it.
    """
    if len(profile) < 4 * _MAX_PERIOD:
        return np.nan, 0.0
    freqs, power = _spectrum(profile.astype(np.float64))
    usable = (freqs >= 1 / _MAX_PERIOD) & (freqs <= 1 / _MIN_PERIOD)
    median = float(np.median(power[usable]))
    if median <= 0:
        return np.nan, 0.0
    contrast = float(power[usable].max() / median)
    # Whitened: traces and text put a falling trend under the grid's peaks.
    floor = np.maximum(median_filter(power, 50 * _PAD + 1, mode="nearest"), 1e-12)
    level = np.minimum(maximum_filter1d(power, 2 * _PAD + 1) / floor, 1000.0)
    low = max(_MIN_PERIOD, prior_px_per_mm / prior_range)
    high = min(_MAX_PERIOD / 2, prior_px_per_mm * prior_range)
    if low >= high:
        return np.nan, contrast
    candidates = np.exp(np.linspace(np.log(low), np.log(high), 600))
    scores = np.zeros(len(candidates))
    for i, m in enumerate(candidates):
        teeth = np.arange(1, 11) / (5 * m)                # up to the minor lines' 2nd harmonic
        # Teeth beyond the usable band count as plain noise (level 1): a finer candidate cannot drop
        # its weak teeth, and a coarse-pixel page whose minor lines blur away is not punished for them.
        values = np.where(teeth <= 0.45, np.interp(teeth, freqs, level), 1.0)
        scores[i] = np.exp(np.log(values + 1).mean())
    prior = np.exp(-0.5 * (np.log(candidates / prior_px_per_mm) / np.log(4)) ** 2)
    best = candidates[int(np.argmax(scores * prior))]
    # Refine on the strongest tooth: its peak frequency divided by its order.
    teeth = np.arange(1, 40) / (5 * best)
    teeth = teeth[teeth <= 1 / _MIN_PERIOD]
    k = int(np.argmax(np.interp(teeth, freqs, power))) + 1
    refined = k / (5 * _refine(freqs, power, k / (5 * best), tol=0.02))
    # The refinement only moves within its band; anything else (or a zero or negative peak
    # frequency from a flat spectrum) is an interpolation artefact.
    if not (np.isfinite(refined) and refined > 0 and abs(np.log(refined / best)) < 0.05):
        refined = best
    return refined, contrast


def find_grid(rgb: np.ndarray, dark_background: bool, row_px_per_mm: float | None = None) -> Grid:
    """Grid period in px per mm along x and y; falls back to the page width when no grid shows.

    ``row_px_per_mm``: the scale the trace rows give (they span ``TRACE_WIDTH_MM``); the grid is
    then searched only within ``_ROW_RANGE`` of it, which rules out the harmonics (2x, 5x the
    millimetre) a blurred or warped grid can favour, and it replaces the page width as fallback.
    """
    w = rgb.shape[1]
    prior, search = (w / TRACE_WIDTH_MM, _PRIOR_RANGE) if row_px_per_mm is None else (row_px_per_mm, _ROW_RANGE)
    source = (f"the page width (≈{TRACE_WIDTH_MM:g} mm of traces)" if row_px_per_mm is None
              else f"the trace rows' length (≈{TRACE_WIDTH_MM - 15:g} mm)")
    if dark_background:
        return Grid(prior, prior, False, {"prior_px_per_mm": prior, "contrast_x": 0.0, "contrast_y": 0.0},
                    f"a screen (dark background) has no paper grid: scale from {source}")
    darkness = np.minimum(grid_darkness(rgb, dark_background), 0.5)   # traces must not dominate
    x_mm, x_contrast = axis_period(darkness.mean(axis=0), prior, search)
    y_mm, y_contrast = axis_period(darkness.mean(axis=1), prior, search)
    quality = {"contrast_x": x_contrast, "contrast_y": y_contrast, "prior_px_per_mm": prior}
    ok_x = np.isfinite(x_mm) and x_contrast >= _MIN_CONTRAST
    ok_y = np.isfinite(y_mm) and y_contrast >= _MIN_CONTRAST
    if ok_x and ok_y and abs(np.log(x_mm / y_mm)) < 0.15:
        quality.update(px_per_mm_x=x_mm, px_per_mm_y=y_mm, axes_seen=2.0)
        return Grid(x_mm, y_mm, True, quality)
    if ok_x or ok_y:
        # Two strong periods that disagree are not one printed millimetre: the stronger is kept, as
        # along one axis only (a plain page's beats and rows can make both).
        one = x_mm if (ok_x and (not ok_y or x_contrast >= y_contrast)) else y_mm
        quality.update(px_per_mm_x=one, px_per_mm_y=one, axes_seen=1.0)
        return Grid(one, one, True, quality, "grid seen along one axis only: same scale used for both")
    quality.update(px_per_mm_x=prior, px_per_mm_y=prior, axes_seen=0.0)
    return Grid(prior, prior, False, quality, f"no millimetre grid visible: scale from {source}")
