"""Fingerprints of image files: exact (bytes) and perceptual (what the page shows).

Why not a standard pHash: every page of a dataset shares one printer template, so the 64-bit
pHash of the whole page mostly encodes the template. On the Mendeley pages distinct pages were as
close as 0 bits apart while a re-encoded copy drifted 10 bits. This hash looks only at the dark
ink (traces and labels) inside the grid box, with the light grid removed:

1. crop to the grid box (``core.ecg.crop``) so a copy cropped by 1 % stays aligned;
2. darkness = paper level minus the brightest channel, so pink, red, green and grey grid lines are
   light; blur a little, then subtract a floor that removes what is left of the grid;
3. average into a 64×32 ink map and keep the signs of its 32×16 lowest DCT coefficients
   against their median: 512 bits, 128 hex digits.

Measured on the 337 distinct Mendeley pages, loaded as a scan does (``load_image(max_side=512)``):
distinct pages are at least 82 bits apart (1st percentile 120, median 170); a copy re-saved at
JPEG quality 70, halved and restored, 5 % brighter, or cropped by 1 % (one side or all four) stays
within 50 bits (99th percentile 42). ``NEAR_DUPLICATE_THRESHOLD`` sits in the middle of that gap.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
from PIL import Image

from core.ecg import crop_to_grid

HASH_SIDE = 512                 # hash inputs are shrunk to this; scans decode JPEGs at this size
NEAR_DUPLICATE_THRESHOLD = 64   # bits out of 512: distinct pages >= 82, near copies <= 50
_INK_MAP = (64, 32)             # columns, rows of the averaged ink map
_KEPT = (16, 32)                # rows, columns of low-frequency DCT coefficients kept
_BLUR_AT_HASH_SIDE = 1.5        # px; evens out line thickness between resolutions and re-encodes
_GRID_FLOOR = 40                # darkness left by blurred grid lines is below this (0-255)


def content_hash(source: str | os.PathLike | bytes) -> str:
    """SHA-1 hex digest of a file's bytes (a path) or of the bytes themselves."""
    data = source if isinstance(source, (bytes, bytearray)) else open(source, "rb").read()
    return hashlib.sha1(data).hexdigest()


def _ink_map(img: Image.Image) -> np.ndarray:
    """64×32 float map of dark ink inside the grid box, with the light grid removed."""
    from scipy import ndimage  # imported on first use: scipy costs 0.5 s, and Home needs none of it

    small = img.convert("RGB")
    small.thumbnail((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX, reducing_gap=2.0)
    rgb = np.asarray(crop_to_grid(small, margin=0.0))
    grid = np.maximum(np.maximum(rgb[..., 0], rgb[..., 1]), rgb[..., 2]).astype(np.float32)
    paper = np.percentile(grid, 75)
    sigma = _BLUR_AT_HASH_SIDE * max(small.size) / HASH_SIDE
    darkness = ndimage.gaussian_filter(np.clip(paper - grid, 0, None), sigma)
    ink = Image.fromarray(np.clip(darkness - _GRID_FLOOR, 0, None))
    return np.asarray(ink.resize(_INK_MAP, Image.Resampling.BOX))


def perceptual_hash(img: Image.Image) -> str:
    """512-bit hex hash of the ink on the page; compare two with ``hash_distance``."""
    from scipy.fft import dctn

    rows, cols = _KEPT
    coefficients = dctn(_ink_map(img), norm="ortho")[:rows, :cols].ravel()
    bits = coefficients > np.median(coefficients[1:])  # the DC term only says how much ink
    return np.packbits(bits).tobytes().hex()


def hash_distance(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    if len(a) != len(b):
        raise ValueError(f"Hashes must have the same length. Got {len(a)} and {len(b)} hex digits.")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def hash_bits(hashes) -> np.ndarray:
    """Boolean array of shape (n_hashes, n_bits) for vectorised distance computations."""
    packed = np.array([np.frombuffer(bytes.fromhex(h), dtype=np.uint8) for h in hashes], dtype=np.uint8)
    return np.unpackbits(packed.reshape(len(hashes), -1), axis=1).astype(bool)
