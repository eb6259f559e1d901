"""The training augmenter: JPEG noise (issues 3 and 6), reproducibility, identity at inference, no flips."""
from __future__ import annotations

import numpy as np
import pytest

from core.learn import RandomJpegNoise, jpeg_min_quality, make_augmenter, make_dataset

H, W = 96, 160


def smooth_page(channels: int = 1) -> np.ndarray:
    """A smooth 0-255 float image (1, H, W, C) with no structure tied to the 8×8 JPEG grid."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    image = 150 + 60 * np.sin(xx / 11.0 + yy / 23.0) * np.cos(yy / 15.0)
    return np.repeat(image[None, ..., None], channels, axis=-1).astype(np.float32)


def block_edge_ratio(image: np.ndarray) -> float:
    """Mean jump between neighbouring pixels across JPEG block edges (x or y = 7|8) over the mean
    jump in the middle of blocks (3|4): about 1 for anything but JPEG-grid-aligned artefacts.
    (Checked: on ``smooth_page`` 1.01; its error after quality-30 compression 3.6, and 0.27 when the
    page was compressed shifted by 4 px, on another grid, so the metric sees the grid, not noise.)"""
    image = image.astype(np.float64)
    def jumps(offset: int) -> float:
        return (np.abs(np.diff(image, axis=-2))[..., offset::8, :].mean()
                + np.abs(np.diff(image, axis=-3))[..., offset::8, :, :].mean())
    return jumps(7) / jumps(3)


def test_jpeg_noise_adds_8x8_block_artefacts_in_grey_and_colour() -> None:
    for channels in (1, 3):
        page = smooth_page(channels)
        out = np.asarray(RandomJpegNoise(30, 30, rate=1.0, seed=0)(page, training=True))
        assert out.shape == page.shape and out.dtype == np.float32
        assert 1.0 < np.abs(out - page).mean() < 20.0          # visible but not destructive
        assert block_edge_ratio(out) > 1.3 * block_edge_ratio(page)  # the compressed copy has an 8×8 grid
        assert block_edge_ratio(out - page) > 2.0                # and its error jumps at block edges


def test_jpeg_noise_hits_about_half_the_batch_and_leaves_the_rest_untouched() -> None:
    layer = make_augmenter(1.0, seed=11).get_layer("jpeg_noise")
    assert (layer.min_quality, layer.max_quality, layer.rate) == (30, 95, 0.5)
    batch = np.repeat(smooth_page(), 32, axis=0)
    out = np.asarray(layer(batch, training=True))
    qualities = layer.last_qualities
    hit = qualities > 0
    assert 8 <= hit.sum() <= 24
    assert ((qualities[hit] >= 30) & (qualities[hit] <= 95)).all() and len(set(qualities[hit])) > 3
    for i in range(len(batch)):
        if hit[i]:
            assert block_edge_ratio(out[i] - batch[i]) > 1.5, qualities[i]
        else:
            assert np.array_equal(out[i], batch[i])


def test_jpeg_quality_range_follows_strength() -> None:
    assert [jpeg_min_quality(s) for s in (0.25, 0.5, 1.0, 2.0)] == [79, 62, 30, 10]
    for strength in np.arange(0.25, 2.01, 0.25):      # every Train page slider step builds
        assert make_augmenter(float(strength), seed=0).get_layer("jpeg_noise").max_quality == 95
    with pytest.raises(ValueError):
        RandomJpegNoise(60, 40)


def test_single_unbatched_image_and_wrong_channel_count() -> None:
    page = smooth_page()[0]
    out = np.asarray(RandomJpegNoise(30, 30, rate=1.0, seed=0)(page, training=True))
    assert out.shape == page.shape and not np.array_equal(out, page)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        RandomJpegNoise(rate=1.0)(np.zeros((1, 16, 16, 2), np.float32), training=True)


def test_inference_is_identity() -> None:
    batch = np.repeat(smooth_page(), 4, axis=0)
    assert np.array_equal(np.asarray(RandomJpegNoise(10, 10, rate=1.0, seed=0)(batch, training=False)), batch)
    assert np.array_equal(np.asarray(make_augmenter(2.0, seed=1)(batch, training=False)), batch)


def _epochs(seed: int, n_epochs: int = 2) -> list[np.ndarray]:
    images = np.repeat(smooth_page().astype(np.uint8), 8, axis=0)
    ds = make_dataset(images, np.zeros(8, int), 2, batch_size=4, shuffle=True, seed=0,
                      augment=make_augmenter(1.0, seed))
    return [np.concatenate([np.asarray(x) for x, _, _ in ds]) for _ in range(n_epochs)]


def test_same_seed_same_augmented_batches_in_tf_data() -> None:
    first, second = _epochs(5), _epochs(5)
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], first[1])       # every epoch draws new augmentations
    assert not np.array_equal(first[0], _epochs(6, 1)[0])


def test_augmenter_never_flips() -> None:
    """Strongest UI setting (2.0): every copy still looks like the page, none like a mirror of it.
    (Checked that it fails: with a RandomFlip("horizontal") in front, flipped copies correlate
    -0.3..-0.1 with the page and 0.4..0.66 with its mirror.)"""
    page = np.full((1, H, W, 1), 255.0, np.float32)
    page[:, 8:44, 6:64] = 0.0            # a dark block top-left
    page[:, 50:90, 14:26] = 60.0         # a bar bottom-left
    page[:, 74:80, 40:150] = 30.0        # a line along the bottom
    def corr(a, b):
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    mirrors = [page[0, :, ::-1], page[0, ::-1], page[0, ::-1, ::-1]]   # left-right, up-down, both
    out = np.clip(np.asarray(make_augmenter(2.0, seed=2)(np.repeat(page, 16, axis=0), training=True)), 0, 255)
    for image in out:  # (the pattern is asymmetric: it correlates < 0.2 with each of its mirrors)
        same, mirrored = corr(image, page[0]), max(corr(image, m) for m in mirrors)
        assert same > 0.4 and mirrored < 0.3 and same > mirrored + 0.2, (same, mirrored)


def test_train_page_preview_shows_jpeg_noise(tiny_train_page) -> None:
    at = tiny_train_page
    assert "JPEG" in at.slider(key="train_aug_custom").help
    at.button(key="train_aug_preview").click().run()
    assert not at.exception, at.exception
    captions = [c for img in at.get("image") for c in img.captions]
    assert len(captions) == 8
    assert any(c.startswith("JPEG quality ") for c in captions), captions
    assert all(c.startswith("JPEG quality ") or c == "no JPEG noise" for c in captions), captions
