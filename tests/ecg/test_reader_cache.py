"""core.ecg.reader.cache: one reading per decoded page, whoever asks and in whatever form."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.ecg.reader import cache, read_page_cached


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_same_pixels_from_any_source_are_read_once(monkeypatch):
    calls = []
    real = cache.read_page
    monkeypatch.setattr(cache, "read_page", lambda rgb: calls.append(rgb.shape) or real(rgb))
    rgb = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    first = read_page_cached(rgb)
    assert read_page_cached(Image.fromarray(rgb)) is first
    assert read_page_cached(_png(rgb)) is first
    assert calls == [(120, 200, 3)]
    other = rgb.copy()
    other[0, 0, 0] ^= 1                                    # one bit changed: another page
    assert read_page_cached(other) is not first
    assert len(calls) == 2


def test_only_the_last_pages_are_kept(monkeypatch):
    monkeypatch.setattr(cache, "KEEP", 3)
    pages = [np.full((64, 96, 3), value, np.uint8) for value in range(5)]
    readings = [read_page_cached(p) for p in pages]
    assert read_page_cached(pages[4]) is readings[4]       # recent: kept
    assert read_page_cached(pages[0]) is not readings[0]   # the oldest was dropped


def test_a_page_of_the_same_bytes_but_another_shape_is_another_page():
    flat = np.full((64, 96, 3), 200, np.uint8)
    assert cache.content_key(flat) != cache.content_key(flat.reshape(96, 64, 3))
