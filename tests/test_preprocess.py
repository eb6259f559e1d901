"""Preprocessing colour modes: what the network sees of each pixel."""
from __future__ import annotations

import numpy as np
from PIL import Image

from core.preprocess import Preprocessing, prepare_image


def test_ink_keeps_the_brightest_channel_of_every_pixel():
    rgb = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    spec = Preprocessing(64, 96, "ink", "none")
    assert np.array_equal(prepare_image(Image.fromarray(rgb), spec)[..., 0], rgb.max(axis=2))


def test_ink_of_a_grey_image_is_the_image():
    grey = np.random.default_rng(1).integers(0, 256, (64, 96), dtype=np.uint8)
    spec = Preprocessing(64, 96, "ink", "none")
    assert np.array_equal(prepare_image(Image.fromarray(grey), spec)[..., 0], grey)
