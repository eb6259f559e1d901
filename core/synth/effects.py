"""Make a clean rendered page look scanned or photographed, and keep its boxes in step.

Every geometric change (rotation, scale, offset, perspective) is one homography in page
fractions, applied in a single resampling; the same matrix maps the recorded boxes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

PHOTO_FRACTION = 0.25


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


def _warp(image: Image.Image, homography: np.ndarray, fill) -> tuple[Image.Image, Image.Image]:
    """Resample through ``homography``; also returns the mask of where the page landed."""
    w, h = image.size
    to_frac = np.diag([1 / w, 1 / h, 1.0])
    pixel_h = np.linalg.inv(to_frac) @ homography @ to_frac
    inverse = np.linalg.inv(pixel_h)
    inverse /= inverse[2, 2]
    coeffs = tuple(inverse.reshape(-1)[:8])
    warped = image.transform(image.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR, fillcolor=fill)
    mask = Image.new("L", image.size, 255).transform(image.size, Image.Transform.PERSPECTIVE, coeffs,
                                                     Image.Resampling.BILINEAR, fillcolor=0)
    return warped, mask


def _low_frequency_field(rng, size, strength: float) -> np.ndarray:
    """A smooth random brightness field around 1 (uneven lighting, paper curl)."""
    w, h = size
    coarse = rng.uniform(1 - strength, 1.0, (3, 4)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((w, h), Image.Resampling.BICUBIC), np.float32)


def _table_surface(rng, size) -> np.ndarray:
    """A desk under the paper: wood grain, grey laminate or a dark cloth."""
    w, h = size
    base = np.array(((150, 105, 70), (120, 120, 125), (60, 58, 62), (190, 180, 165))[int(rng.integers(4))], np.float32)
    grain = rng.normal(0, 1, (max(2, h // 24), 8)).astype(np.float32)
    streaks = np.asarray(Image.fromarray(grain, "F").resize((w, h), Image.Resampling.BICUBIC), np.float32)
    return np.clip(base * (1 + 0.08 * streaks[..., None]), 0, 255)


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
    aspect = w / h
    homography = _photo_geometry(rng, aspect) if photo else _scan_geometry(rng, aspect)
    warped, mask = _warp(page, homography, paper_fill)
    pixels = np.asarray(warped, np.float32)
    if photo:
        alpha = np.asarray(mask, np.float32)[..., None] / 255.0
        pixels = pixels * alpha + _table_surface(rng, (w, h)) * (1 - alpha)
        cast = np.array((1.04, 1.0, 0.9) if rng.random() < 0.5 else (0.93, 0.98, 1.05), np.float32)
        pixels *= cast * rng.uniform(0.85, 1.0)
        light = _low_frequency_field(rng, (w, h), rng.uniform(0.2, 0.45))
        pixels *= light[..., None]
        blur = rng.uniform(0.4, 1.3)
        noise = rng.uniform(3, 7)
    else:
        pixels *= _low_frequency_field(rng, (w, h), rng.uniform(0.0, 0.08))[..., None]
        blur = rng.uniform(0.0, 0.6)
        noise = rng.uniform(1, 4)
    pixels += rng.standard_normal((h, w, 1), dtype=np.float32) * noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if blur > 0.25:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return image, Capture(homography, photo, int(rng.integers(70, 96)))
