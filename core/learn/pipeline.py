"""Input pipeline: decode each page once, cache it at the network's size, then feed tf.data.

Decoding a 2213×1572 JPEG costs far more than a training step of the compact CNN, so pages are
decoded in JPEG draft mode, cropped and resized once, kept as ``uint8`` arrays on disk (keyed by
content hash and preprocessing), and every epoch reshuffles and augments those small arrays.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.cachefiles import write_cache_file
from core.ecg import Preprocessing, load_and_prepare
from core.imageio import ImageLoadError
from core.paths import cache_dir

Progress = Callable[[int, int], None]


@dataclass
class PreparedImages:
    """Network-ready arrays of the files that could be read, and why the others could not."""

    images: np.ndarray          # (N, H, W, C) uint8
    kept: np.ndarray            # indices into the requested paths that made it into ``images``
    errors: dict[str, str]      # path -> message for files that could not be read


def _cache_file(spec: Preprocessing, content_hash: str) -> Path:
    return cache_dir() / "prepared" / spec.key() / f"{content_hash}.u8"


# Cached arrays are raw uint8 bytes, their shape given by the key's spec: np.load would parse each
# .npy header with ast.literal_eval, which CPython 3.11 can fail from concurrent threads
# ("SystemError: AST constructor recursion depth mismatch", python/cpython#106905): it failed a
# training once while the pool's two threads read cached pages.
def _prepare_one(path: str, content_hash: str | None, spec: Preprocessing) -> np.ndarray:
    cached = _cache_file(spec, content_hash) if content_hash else None
    if cached is not None and cached.exists():
        try:
            data = cached.read_bytes()
            if len(data) == int(np.prod(spec.input_shape)):
                return np.frombuffer(data, np.uint8).reshape(spec.input_shape).copy()
        except OSError:
            pass  # an unreadable or damaged cache entry is simply rebuilt
    array = load_and_prepare(path, spec)
    if cached is not None:
        data = np.ascontiguousarray(array, np.uint8).tobytes()
        write_cache_file(cached, lambda tmp: tmp.write_bytes(data))
    return array


def store_prepared(spec: Preprocessing, hashes: Sequence[str], images: np.ndarray) -> int:
    """Put network inputs made elsewhere (the Live demo's starter pack) in the cache, under the content
    hashes of the pages they come from; entries already there are kept. Returns how many were written."""
    if images.shape[1:] != tuple(spec.input_shape):
        raise ValueError(f"inputs of shape {images.shape[1:]} do not match the preprocessing {spec.key()}")

    def writer(image: np.ndarray) -> Callable[[Path], int]:
        data = np.ascontiguousarray(image, np.uint8).tobytes()
        return lambda tmp: tmp.write_bytes(data)

    missing = [(h, image) for h, image in zip(hashes, images) if not _cache_file(spec, h).exists()]
    return sum(write_cache_file(_cache_file(spec, h), writer(image)) for h, image in missing)


def prepare_images(paths: Sequence[str], spec: Preprocessing, *, hashes: Sequence[str] | None = None,
                   workers: int = 2, progress: Progress | None = None) -> PreparedImages:
    """Decode, crop and resize ``paths`` in ``workers`` threads (PIL decodes without the GIL),
    reusing cached arrays for content hashes seen before."""
    hashes = list(hashes) if hashes is not None else [None] * len(paths)
    arrays: list[np.ndarray | None] = [None] * len(paths)
    errors: dict[str, str] = {}

    def work(i: int) -> tuple[int, np.ndarray | None, str | None]:
        try:
            return i, _prepare_one(paths[i], hashes[i], spec), None
        except ImageLoadError as exc:
            return i, None, str(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, (i, array, error) in enumerate(pool.map(work, range(len(paths))), start=1):
            arrays[i] = array
            if error:
                errors[paths[i]] = error
            if progress:
                progress(done, len(paths))
    kept = np.array([i for i, a in enumerate(arrays) if a is not None], dtype=int)
    images = (np.stack([arrays[i] for i in kept]) if len(kept)
              else np.zeros((0, *spec.input_shape), np.uint8))
    return PreparedImages(images, kept, errors)


def jpeg_min_quality(strength: float) -> int:
    """Lowest JPEG quality the augmenter uses at ``strength`` (30 at 1, never below 10)."""
    return int(max(10, min(95, round(95 - 65 * float(strength)))))


def make_augmenter(strength: float, seed: int):
    """Augmentation for ECG pages and phone photos of them: small rotation, shift, zoom,
    perspective, lighting, blur and JPEG noise (half the images are re-encoded as JPEG, at quality
    ``95 - 65 * strength`` .. 95, i.e. 30..95 at strength 1, the blocky 8x8 artefacts of phone
    photos and re-saved scans). Never flips: a mirrored ECG is a different ECG.

    ``strength`` 0 disables it; 1 is the default used for real pages. Works on uint8-range floats,
    filling new borders with white paper. ``training=False`` gives the input back unchanged.
    """
    if strength <= 0:
        return None
    import keras
    from keras import layers

    from core.learn.augment import RandomJpegNoise

    s = float(strength)
    paper = 255.0
    return keras.Sequential(
        [
            layers.RandomRotation(0.006 * s, fill_mode="constant", fill_value=paper, seed=seed),
            layers.RandomTranslation(0.03 * s, 0.03 * s, fill_mode="constant", fill_value=paper, seed=seed + 1),
            layers.RandomZoom(0.06 * s, fill_mode="constant", fill_value=paper, seed=seed + 2),
            layers.RandomPerspective(factor=0.3, scale=0.15 * s, fill_value=paper, seed=seed + 3),
            layers.RandomBrightness(0.15 * s, value_range=(0, 255), seed=seed + 4),
            layers.RandomContrast(0.3 * s, value_range=(0, 255), seed=seed + 5),
            layers.RandomGaussianBlur(factor=0.3, sigma=min(1.0, 0.8 * s), value_range=(0, 255),
                                     seed=seed + 6),  # Keras caps sigma at 1
            # Last: a photo is compressed after it was taken, not before.
            RandomJpegNoise(jpeg_min_quality(s), 95, rate=0.5, seed=seed + 7, name="jpeg_noise"),
        ],
        name="augmentation",
    )


def make_dataset(images: np.ndarray, labels: np.ndarray, n_classes: int, *, batch_size: int,
                 shuffle: bool = False, seed: int = 0, augment=None,
                 class_weights: dict[int, float] | None = None):
    """A tf.data pipeline over prepared arrays: reshuffled every epoch, augmented per batch after
    the (in-memory) cache, prefetched. With ``class_weights`` it also yields per-sample weights
    (Keras's own ``class_weight`` argument does not accept this pipeline's one-hot targets)."""
    import tensorflow as tf

    labels = labels.astype("int32")
    weights = np.ones(len(labels), "float32")
    if class_weights:
        weights = np.array([class_weights[int(c)] for c in labels], "float32")
    ds = tf.data.Dataset.from_tensor_slices((images, labels, weights))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def to_model_input(x, y, w):
        x = tf.cast(x, tf.float32)
        if augment is not None:
            x = tf.clip_by_value(augment(x, training=True), 0.0, 255.0)
        return x, tf.one_hot(y, n_classes), w

    # Augmentation draws from stateful seed generators: batches mapped in parallel would draw in
    # a different order every run, so a seeded run would not repeat.
    parallel = None if augment is not None else tf.data.AUTOTUNE
    return ds.map(to_model_input, num_parallel_calls=parallel).prefetch(tf.data.AUTOTUNE)
