"""JPEG noise for the augmenter: compression artefacts of phone photos and re-saved scans.

Keras 3.15 has no JPEG-quality augmentation layer (its image augmentation layers are rotation,
translation, zoom, perspective, shear, elastic, brightness, contrast, blur, colour, erasing,
flip ...), so this is a small one on top of TensorFlow's JPEG codec. It imports TensorFlow, so
``core.learn.pipeline`` imports it lazily.
"""
from __future__ import annotations

import keras
import tensorflow as tf


class RandomJpegNoise(keras.layers.Layer):
    """Re-encode each image of a batch as JPEG at a random quality, with probability ``rate``.

    Works on uint8-range floats (0-255), 1 or 3 channels, batched (N, H, W, C) or a single
    (H, W, C) image. Qualities are drawn per image, uniformly in ``[min_quality, max_quality]``.
    Randomness comes from a Keras ``SeedGenerator`` (a seed plus a step counter fed to stateless
    ops), like the built-in augmentation layers: the same seed gives the same sequence of outputs.
    Only active with ``training=True`` (the default, as for Keras's augmentation layers);
    ``training=False`` returns the input unchanged. Images left alone keep their exact values.

    In eager calls (the Train page preview) ``last_qualities`` holds the quality used per image,
    0 where the image was left alone.
    """

    def __init__(self, min_quality: int = 30, max_quality: int = 95, rate: float = 0.5,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= min_quality <= max_quality <= 100:
            raise ValueError(f"JPEG qualities must satisfy 0 <= min <= max <= 100, got "
                             f"{min_quality}..{max_quality}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        self.min_quality = int(min_quality)
        self.max_quality = int(max_quality)
        self.rate = float(rate)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self.last_qualities = None
        self.supports_masking = False

    def call(self, images, training=True):
        if not training or self.rate <= 0.0:
            return images
        images = tf.convert_to_tensor(images)
        single = images.shape.rank == 3
        batch = images[None] if single else images
        channels = batch.shape[-1]
        if channels not in (1, 3):
            raise ValueError(f"JPEG noise needs 1 or 3 channels, got {channels}")
        n = tf.shape(batch)[0]
        apply = keras.random.uniform((n,), seed=self.generator) < self.rate
        quality = tf.cast(tf.floor(keras.random.uniform(
            (n,), minval=float(self.min_quality), maxval=self.max_quality + 1.0, seed=self.generator)), tf.int32)
        quality = tf.minimum(quality, self.max_quality)
        quality = tf.where(apply, quality, 0)

        def one(args):
            image, q = args
            return tf.cond(q > 0, lambda: _jpeg(image, q), lambda: image)

        out = tf.map_fn(one, (tf.cast(batch, tf.float32), quality),
                        fn_output_signature=tf.TensorSpec(batch.shape[1:], tf.float32))
        out = tf.cast(out, images.dtype)
        if tf.executing_eagerly():
            self.last_qualities = quality.numpy()
        return out[0] if single else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "min_quality": self.min_quality, "max_quality": self.max_quality,
                "rate": self.rate, "seed": self.seed}


def _jpeg(image, quality):
    """One (H, W, C) 0-255 float image through a JPEG encode/decode at ``quality``."""
    pixels = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)
    return tf.cast(tf.image.adjust_jpeg_quality(pixels, quality), tf.float32)
