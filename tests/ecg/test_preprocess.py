"""Preprocessing colour modes: what the network sees of each pixel."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.ecg import Preprocessing, crop_page, load_page, network_min_side, prepare_image
from core.learn import PRESETS, default_preprocessing
from core.paths import ASSETS_DIR


def test_ink_keeps_the_brightest_channel_of_every_pixel():
    rgb = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    spec = Preprocessing(64, 96, "ink", "none")
    assert np.array_equal(prepare_image(Image.fromarray(rgb), spec)[..., 0], rgb.max(axis=2))


def test_ink_of_a_grey_image_is_the_image():
    grey = np.random.default_rng(1).integers(0, 256, (64, 96), dtype=np.uint8)
    spec = Preprocessing(64, 96, "ink", "none")
    assert np.array_equal(prepare_image(Image.fromarray(grey), spec)[..., 0], grey)


@pytest.mark.parametrize("spec", sorted({*(c.preprocessing for c in PRESETS.values()),
                                         *(default_preprocessing(a) for a in ("compact", "leadnet_hr"))},
                                        key=Preprocessing.key), ids=Preprocessing.key)
@pytest.mark.parametrize("page_size", [(2213, 1572), (1106, 786)])
def test_pages_decode_just_fine_enough_for_the_network(spec, page_size):
    """The decode is coarse for speed, but its crop is never smaller than the network input."""
    data = io.BytesIO()
    Image.open(ASSETS_DIR / "examples" / "real_normal.jpg").resize(page_size).save(data, "JPEG", quality=90)
    page = load_page(data.getvalue(), spec)
    cropped = crop_page(page, spec)
    assert cropped.width >= spec.width and cropped.height >= spec.height, (page.size, cropped.size)
    # ...and no finer than needed: one JPEG scale coarser would be below the minimum side.
    if max(page.size) < max(page_size):
        assert network_min_side(spec) <= max(page.size) < 2 * network_min_side(spec)
