"""Run a saved model on images exactly as it was trained: same crop, colour mode, size and
calibration. Evaluate, Predict, the CLI and the benchmark all predict through here."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.ecg import Preprocessing, load_and_prepare
from core.learn.calibration import apply_temperature
from core.learn.pipeline import prepare_images
from core.learn.signal_data import SIGNAL_SPEC


def bundle_preprocessing(metadata) -> Preprocessing:
    """The :class:`Preprocessing` a bundle's model was trained with."""
    height, width = metadata.input_size
    prep = metadata.preprocessing
    return Preprocessing(height=height, width=width, color_mode=metadata.color_mode,
                         crop=prep.get("crop", "none"), resize=prep.get("resize", "stretch"))


def temperature_of(metadata) -> float:
    return float(metadata.calibration.get("temperature", 1.0) or 1.0)


def predict_arrays(model, images: np.ndarray, *, temperature: float = 1.0, batch_size: int = 32) -> np.ndarray:
    """Calibrated class probabilities for prepared ``uint8`` arrays (N, H, W, C)."""
    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype="float32")
    probs = model.predict(images.astype("float32"), batch_size=batch_size, verbose=0)
    return apply_temperature(probs, temperature) if temperature != 1.0 else probs


@dataclass
class BatchPrediction:
    """Probabilities for the files that could be read, and messages for those that could not."""

    probs: np.ndarray
    kept: np.ndarray
    errors: dict[str, str]


def predict_files(bundle, paths: Sequence[str], *, hashes: Sequence[str] | None = None,
                  progress=None) -> BatchPrediction:
    """Prepare ``paths`` for ``bundle`` (cached by content hash) and predict them."""
    spec = bundle_preprocessing(bundle.metadata)
    prepared = prepare_images(list(paths), spec, hashes=hashes, progress=progress)
    probs = predict_arrays(bundle.model, prepared.images, temperature=temperature_of(bundle.metadata))
    return BatchPrediction(probs, prepared.kept, prepared.errors)


@dataclass
class PreparedSignals:
    """Page tensors (``core.learn.signal_data``) of the files that could be read, and why not the others."""

    tensors: dict[str, np.ndarray]
    kept: np.ndarray
    errors: dict[str, str]


def prepare_signal_pages(paths: Sequence[str], *, hashes: Sequence[str] | None = None,
                         progress=None) -> PreparedSignals:
    """Each page as the page reader digitises it (cached per content and reader version), as the
    tensors a signal model takes; files that are not readable images are reported, not raised."""
    from core.data import content_hash
    from core.errors import USER_ERRORS
    from core.learn.signal_cache import page_signals
    from core.learn.signal_data import page_tensor, stack

    tensors, kept, errors = [], [], {}
    for i, path in enumerate(paths):
        try:
            sha1 = hashes[i] if hashes is not None else content_hash(path)
            tensors.append(page_tensor(page_signals(path, sha1).leads))
            kept.append(i)
        except USER_ERRORS as exc:
            errors[str(path)] = str(exc)
        if progress is not None:
            progress(i + 1, len(paths))
    empty = {"leads": np.zeros((0, *SIGNAL_SPEC["tensors"]["leads"]), np.float32),
             "rhythm": np.zeros((0, *SIGNAL_SPEC["tensors"]["rhythm"]), np.float32)}
    return PreparedSignals(stack(tensors) if tensors else empty, np.asarray(kept, dtype=int), errors)


def prepare_for_bundle(bundle, source) -> np.ndarray:
    """One image (path, bytes or upload) as a batch of one for ``bundle``'s model."""
    return load_and_prepare(source, bundle_preprocessing(bundle.metadata))[None]
