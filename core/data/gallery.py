"""Pictures for people: thumbnails, paged samples per class, and the crop preview."""
from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from core.ecg import GridBox, find_grid_box
from core.imageio import load_image


def thumbnail(path: str, max_side: int = 360) -> Image.Image:
    """A small RGB copy of an image file (JPEG draft mode makes this cheap for big scans)."""
    img = load_image(path, max_side=max_side * 2)
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return img


def sample_page(index: pd.DataFrame, cls: str, *, page: int, per_page: int, seed: int) -> pd.DataFrame:
    """Rows of class ``cls`` in a seeded shuffled order, ``page`` (0-based) of ``per_page``."""
    rows = index[index["class"] == cls]
    order = np.random.default_rng(seed).permutation(len(rows))
    return rows.iloc[order[page * per_page:(page + 1) * per_page]]


def page_count(n: int, per_page: int) -> int:
    return max(1, -(-n // per_page))


def outline_grid_box(img: Image.Image, box: GridBox | None = None) -> Image.Image:
    """A copy of ``img`` with the detected ECG grid outlined, and the text outside it dimmed."""
    box = box or find_grid_box(img)
    w, h = img.size
    rect = (box.x0 * w, box.y0 * h, box.x1 * w, box.y1 * h)
    dimmed = Image.blend(img.convert("RGB"), Image.new("RGB", img.size, "white"), 0.6)
    dimmed.paste(img.convert("RGB").crop(tuple(map(round, rect))), tuple(map(round, rect[:2])))
    ImageDraw.Draw(dimmed).rectangle(rect, outline=(0, 110, 230), width=max(2, w // 250))
    return dimmed
