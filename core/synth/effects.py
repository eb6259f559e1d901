"""Make a clean rendered page look scanned or photographed, and keep its boxes in step.

Every geometric change (rotation, scale, offset, perspective) is one homography in page
fractions, applied in a single resampling; the same matrix maps the recorded boxes.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageFilter

PHOTO_FRACTION = 0.2


@dataclass(frozen=True)
class Capture:
    """What the capture did: the fraction-space homography, photo or scan, and the JPEG quality."""

    homography: np.ndarray       # 3x3, maps source page fractions to output fractions
    photo: bool
    jpeg_quality: int


def _similarity(angle_deg: float, scale: float, shift: tuple[float, float], aspect: float) -> np.ndarray:
    """Rotate and scale about the page centre in fraction space (aspect = W / H keeps angles true)."""
    a = np.deg2rad(angle_deg)
    to_px = np.diag([aspect, 1.0, 1.0])
    centre = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]]) * [[scale], [scale], [1]]
    back = np.array([[1, 0, 0.5 + shift[0]], [0, 1, 0.5 + shift[1]], [0, 0, 1]])
    return back @ np.linalg.inv(to_px) @ rot @ to_px @ centre


def _homography_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    rows = []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coeffs = np.linalg.solve(np.array(rows, float), dst.reshape(-1))
    return np.append(coeffs, 1.0).reshape(3, 3)


def map_box(box, homography: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box (fractions, clipped to [0, 1]) of ``box`` after ``homography``."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], float).T
    mapped = homography @ corners
    xs, ys = np.clip(mapped[:2] / mapped[2], 0.0, 1.0)
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _warp(image: Image.Image, homography: np.ndarray, fill, with_mask: bool):
    """Resample through ``homography``; optionally also the mask of where the page landed."""
    w, h = image.size
    to_frac = np.diag([1 / w, 1 / h, 1.0])
    inverse = np.linalg.inv(np.linalg.inv(to_frac) @ homography @ to_frac)
    inverse /= inverse[2, 2]
    # An affine map (scans) resamples faster than a full perspective one (photos).
    affine = np.allclose(inverse[2, :2], 0)
    method = Image.Transform.AFFINE if affine else Image.Transform.PERSPECTIVE
    coeffs = tuple(inverse.reshape(-1)[:6 if affine else 8])
    warp = lambda im, colour: im.transform(image.size, method, coeffs, Image.Resampling.BILINEAR, fillcolor=colour)
    return warp(image, fill), (warp(Image.new("L", image.size, 255), 0) if with_mask else None)


def _smooth_field(rng, size, low: float, high: float, tint=(1.0, 1.0, 1.0)) -> Image.Image:
    """A smooth random RGB multiplier image (uneven lighting, shadow, colour cast); 255 = unchanged."""
    coarse = rng.uniform(low, high, (3, 4, 1)) * np.asarray(tint)
    small = Image.fromarray(np.clip(coarse * 255, 0, 255).astype(np.uint8), "RGB")
    return small.resize(size, Image.Resampling.BICUBIC)


@lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    # One fixed tile per process, sampled at random offsets: drawing fresh Gaussian noise for
    # every page costs more than the rest of the capture.
    return np.random.default_rng(20240806).normal(0, 1, (1021, 1031)).astype(np.float32)


def _add_noise(image: Image.Image, rng, strength: float) -> Image.Image:
    w, h = image.size
    tile = _noise_tile()
    rows = (np.arange(h) + int(rng.integers(tile.shape[0]))) % tile.shape[0]
    cols = (np.arange(w) + int(rng.integers(tile.shape[1]))) % tile.shape[1]
    grain = np.clip(128 + tile[rows][:, cols] * strength, 0, 255).astype(np.uint8)
    return ImageChops.add(image, Image.fromarray(grain, "L").convert("RGB"), 1.0, -128)


def _table_surface(rng, size) -> Image.Image:
    """A desk under the paper: wood grain, grey laminate or a dark cloth."""
    w, h = size
    base = np.array(((150, 105, 70), (120, 120, 125), (60, 58, 62), (190, 180, 165))[int(rng.integers(4))], np.float32)
    grain = rng.normal(0, 1, (max(2, h // 24), 8, 1)).astype(np.float32)
    small = np.clip(base * (1 + 0.08 * grain), 0, 255).astype(np.uint8)
    return Image.fromarray(small, "RGB").resize((w, h), Image.Resampling.BICUBIC)


def _scan_geometry(rng, aspect) -> np.ndarray:
    return _similarity(rng.uniform(-2, 2), rng.uniform(0.97, 1.03),
                       (rng.uniform(-0.015, 0.015), rng.uniform(-0.015, 0.015)), aspect)


def _photo_geometry(rng, aspect) -> np.ndarray:
    """Paper smaller than the frame, slightly rotated, then a camera tilt (perspective)."""
    base = _similarity(rng.uniform(-2, 2), rng.uniform(0.8, 0.93),
                       (rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03)), aspect)
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    tilted = corners + rng.uniform(-0.04, 0.04, (4, 2))
    return _homography_from_points(corners, tilted) @ base


def capture(page: Image.Image, rng: np.random.Generator, *, photo: bool | None = None,
            paper_fill=(255, 255, 255)) -> tuple[Image.Image, Capture]:
    """Scan or photograph ``page`` (RGB); ``photo=None`` decides at random (``PHOTO_FRACTION``).

    Returns the new image (same size) and a ``Capture`` whose homography maps boxes via ``map_box``.
    """
    if photo is None:
        photo = bool(rng.random() < PHOTO_FRACTION)
    w, h = page.size
    homography = _photo_geometry(rng, w / h) if photo else _scan_geometry(rng, w / h)
    image, mask = _warp(page, homography, paper_fill, with_mask=photo)
    if photo:
        image = Image.composite(image, _table_surface(rng, (w, h)), mask)
        tint = (1.04, 1.0, 0.9) if rng.random() < 0.5 else (0.93, 0.98, 1.05)
        image = ImageChops.multiply(image, _smooth_field(rng, (w, h), rng.uniform(0.65, 0.9), 1.0, tint))
        image = _add_noise(image, rng, rng.uniform(3, 7))
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.3)))
    else:
        image = ImageChops.multiply(image, _smooth_field(rng, (w, h), rng.uniform(0.9, 1.0), 1.0))
        image = _add_noise(image, rng, rng.uniform(1, 4))
        if rng.random() < 0.3:
            image = image.filter(ImageFilter.BoxBlur(1))
    return image, Capture(homography, photo, int(rng.integers(70, 96)))
