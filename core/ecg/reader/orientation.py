"""Which way the grid's lines run, tile by tile, from the spectrum of each tile of the sheet.

A family of parallel lines puts all its spectral energy on one ray through the origin, normal to
the lines, whatever their spacing: the millimetre lines, the 5 mm lines and their harmonics all lie
on it. Summing each tile's power along rays within ``MAX_TILT_DEG`` of each axis therefore gives
the angle of its vertical and of its horizontal grid lines, and how clearly the tile shows them
(the best ray over the median ray). A phone photo's grid is faint and its lines break into short
pieces that a segment detector discards, or that it mixes up with the slanted QRS strokes; the
tiles still see the grid's direction, and a curved or photographed sheet shows how it changes
across the page. The traces' darker ink is taken out first: QRS strokes and baselines make rays of
their own, and twelve stacked leads printed without a grid would otherwise pass for one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft
from scipy.ndimage import map_coordinates

from core.ecg.reader.grid import grid_darkness

TILE = 256                  # px of the sheet: 5 or more 5 mm squares at any scale the sheet has
_FFT = 512                  # padded: rays are read on a finer grid of frequencies
MAX_TILT_DEG = 20.0
_STEP_DEG = 0.1
_PERIODS_PX = (2.5, 60.0)   # grid spacings the rays run over (the grid stage's search range)
MIN_CLARITY = 5.0           # best ray over the median ray: below it the tile shows no grid lines
                            # (grid pages: 5-50 in most tiles; pages printed without one: under 4)
_TRACE_INK = 0.3            # darker than this (0 = paper, 1 = black) is trace ink, not a grid line
_SEGMENT_HALF = 60.0        # px: half the length of the stand-in segment a tile contributes


@dataclass(frozen=True)
class TileDirection:
    """A tile's centre (sheet px) and the slant of its grid lines, in degrees, with their clarity.

    ``vertical_deg``: the vertical lines' normal from the +x axis towards +y (image axes, y down);
    ``horizontal_deg``: the horizontal lines' normal from +y towards -x, which is the lines' own
    angle from +x towards +y.
    """

    x: float
    y: float
    vertical_deg: float
    vertical_clarity: float
    horizontal_deg: float
    horizontal_clarity: float

    @property
    def shows_grid(self) -> bool:
        """Whether both families of grid lines stand out in the tile."""
        return min(self.vertical_clarity, self.horizontal_clarity) >= MIN_CLARITY


def grid_ink(rgb: np.ndarray, dark_background: bool) -> np.ndarray:
    """The sheet's grid-line ink (0 = paper), with the traces' darker ink taken out."""
    darkness = grid_darkness(rgb, dark_background)
    darkness[darkness > _TRACE_INK] = 0.0
    return darkness


def _ray_sums(power: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """The power along each ray of ``normals`` (radians) in a half-plane spectrum (rows: all y
    frequencies, fftshifted; columns: x frequencies >= 0), far frequencies weighing more: the
    farther out along a ray, the sharper its angle."""
    radii = np.arange(_FFT / _PERIODS_PX[1], _FFT / _PERIODS_PX[0])
    # The spectrum of a real tile is symmetric: a ray pointing to negative x is read mirrored.
    flip = np.where(np.cos(normals) < 0, -1.0, 1.0)
    kx = np.outer(flip * np.cos(normals), radii)
    ky = np.outer(flip * np.sin(normals), radii) + _FFT // 2
    values = map_coordinates(power, [ky.ravel(), kx.ravel()], order=1).reshape(kx.shape)
    return (values * radii).sum(axis=1)


def _best_ray(power: np.ndarray, axis: float) -> tuple[float, float]:
    """(tilt in degrees of the strongest ray within ``MAX_TILT_DEG`` of the normal ``axis`` (radians),
    its clarity): found every degree, then refined every ``_STEP_DEG`` around the best one."""
    coarse = np.radians(np.arange(-MAX_TILT_DEG, MAX_TILT_DEG + 0.5))
    sums = _ray_sums(power, axis + coarse)
    median = float(np.median(sums))
    fine = coarse[int(np.argmax(sums))] + np.radians(np.arange(-1.0, 1.0 + _STEP_DEG / 2, _STEP_DEG))
    sums = _ray_sums(power, axis + fine)
    i = int(np.argmax(sums))
    clarity = float(sums[i] / median) if median > 0 else 0.0
    offset = 0.0
    if 0 < i < len(sums) - 1 and sums[i - 1:i + 2].min() > 0:
        a, b, c = np.log(sums[i - 1:i + 2])
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
    return float(np.degrees(fine[i]) + offset * _STEP_DEG), clarity


def tile_directions(darkness: np.ndarray) -> list[TileDirection]:
    """The grid lines' slant in every whole ``TILE`` of a grid-ink image (0 = paper)."""
    h, w = darkness.shape
    window = np.outer(np.hanning(TILE), np.hanning(TILE)).astype(np.float32)
    out = []
    for y in range(0, h - TILE + 1, TILE):
        for x in range(0, w - TILE + 1, TILE):
            tile = darkness[y:y + TILE, x:x + TILE].astype(np.float32)
            power = fft.fftshift(np.abs(fft.rfft2((tile - tile.mean()) * window, s=(_FFT, _FFT))) ** 2, axes=0)
            vertical, horizontal = _best_ray(power, 0.0), _best_ray(power, np.pi / 2)
            out.append(TileDirection(x + TILE / 2, y + TILE / 2, *vertical, *horizontal))
    return out


def direction_segments(directions: list[TileDirection]) -> np.ndarray:
    """(N, 4) stand-in segments x0, y0, x1, y1 for the squaring fit (``core.ecg.reader.lines``):
    one through the centre of each tile that shows the grid, along each family of its lines."""
    segments = []
    for d in directions:
        if d.shows_grid:
            v, h = np.radians(d.vertical_deg), np.radians(d.horizontal_deg)
            segments += [(d.x, d.y, -np.sin(v), np.cos(v)), (d.x, d.y, np.cos(h), np.sin(h))]
    if not segments:
        return np.zeros((0, 4), np.float32)
    x, y, dx, dy = np.array(segments).T
    half = _SEGMENT_HALF
    return np.c_[x - half * dx, y - half * dy, x + half * dx, y + half * dy].astype(np.float32)
