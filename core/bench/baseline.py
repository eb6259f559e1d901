"""The benchmark's baseline: the original notebooks' input pipeline, written as plainly as they had it.

``ImageDataGenerator(rescale=1/255).flow_from_directory(...)`` opened every file at full size with
PIL, resized it with nearest-neighbour to the target size and scaled it, every batch of every
epoch, with nothing cached. This module does exactly that (and imports Keras: load it lazily).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from PIL import Image


def naive_load(path: str, height: int, width: int, channels: int, *, scale: float = 1.0) -> np.ndarray:
    """Decode ``path`` at full size, resize it (nearest) to ``height``×``width``, times ``scale``."""
    with Image.open(path) as img:
        img = img.convert("RGB" if channels == 3 else "L").resize((width, height), Image.Resampling.NEAREST)
    return (np.asarray(img, dtype="float32") * scale).reshape(height, width, channels)


class NaiveBatches(keras.utils.PyDataset):
    """Batches decoded from disk on every request, like the notebooks' non-caching generator.

    Pixels stay 0–255: the project's models rescale inside the network.
    """

    def __init__(self, paths: Sequence[str], labels: np.ndarray, n_classes: int,
                 input_shape: tuple[int, int, int], batch_size: int) -> None:
        super().__init__()
        self.paths, self.labels, self.n_classes = list(paths), np.asarray(labels), n_classes
        self.input_shape, self.batch_size = input_shape, batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
        images = np.stack([naive_load(p, *self.input_shape) for p in self.paths[batch]])
        return images, np.eye(self.n_classes, dtype="float32")[self.labels[batch]]
