"""Export a bundle for deployment: ``.keras``, legacy ``.h5``, a TensorFlow SavedModel, or TFLite.

Every export is a folder holding the model and ``model.json`` (class names, input layout and
preprocessing), zipped for download. The exported models take raw 0–255 pixels, as our bundles do:
the scaling is inside the graph, so the JSON's preprocessing is all another tool has to repeat.

Users of other tools complain most that exported models behave differently, so a TFLite export is
run through ``tf.lite.Interpreter`` on a few real pages prepared with :mod:`core.ecg.preprocess` and
compared with the Keras model; past the tolerance the export fails instead of shipping.

TensorFlow is imported inside functions; importing this module stays cheap.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMATS = ("keras", "h5", "savedmodel", "tflite")
MODEL_FILES = {"keras": "model.keras", "h5": "model.h5", "savedmodel": "saved_model", "tflite": "model.tflite"}
SIDECAR = "model.json"
# Max |p_tflite - p_keras| over the check images. Float TFLite differs from Keras by float32
# rounding only (measured 4.5e-8); dynamic-range quantisation stores weights as int8: measured
# 6.0e-4 on the tiny test bundle (tests/use/test_export.py), 4.7e-4 on an untrained 64×64 copy of the
# notebooks' CNN. Deeper
# models lose more, so the default 0.05 flags a broken conversion (a changed top class needs far
# more) while accepting honest quantisation error.
TFLITE_TOLERANCE = {False: 1e-4, True: 0.05}
CHECK_IMAGES = 5


class ExportError(ValueError):
    """An export that could not be made, or whose TFLite model disagrees with the Keras model."""


@dataclass
class ExportResult:
    """What was written and, for TFLite, how closely it matches the Keras model."""

    folder: Path
    format: str
    quantized: bool
    files: list[str]
    max_abs_diff: float | None = None
    tolerance: float | None = None
    check_images: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["folder"] = str(self.folder)
        del data["metadata"]
        return data


def sidecar(metadata, *, fmt: str, quantized: bool = False) -> dict[str, Any]:
    """The small JSON shipped next to every export: what goes in, what comes out."""
    height, width = metadata.input_size
    return {
        "model": metadata.name,
        "format": fmt,
        "quantized": "dynamic-range int8 weights" if quantized else None,
        "classes": list(metadata.classes),
        "input": {"shape": [1, height, width, metadata.channels], "dtype": "float32",
                  "value_range": [0, 255], "layout": "NHWC"},
        "output": {"shape": [1, len(metadata.classes)], "meaning": "class probabilities (softmax)"},
        "preprocessing": {"height": height, "width": width, "color_mode": metadata.color_mode,
                          **metadata.preprocessing,
                          "note": "pixels go in as 0-255; the model scales them itself"},
        "calibration": dict(metadata.calibration),
    }


@contextlib.contextmanager
def _quiet():
    """TF's converters print their SavedModel signatures to stdout and warn about deprecations;
    neither belongs in the CLI's JSON output or the app's log."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def tflite_bytes(model, *, quantize: bool = False) -> bytes:
    """Convert a Keras model to TFLite (float, or dynamic-range quantised weights)."""
    import tensorflow as tf

    with _quiet():
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        try:
            return converter.convert()
        except Exception as exc:  # converter errors are many types, all "this graph cannot convert"
            raise ExportError(f"TFLite conversion failed: {str(exc).splitlines()[0][:300]}") from exc


def tflite_predict(model_content: bytes, images: np.ndarray) -> np.ndarray:
    """Run a TFLite model on prepared ``uint8`` images ``(N, H, W, C)``, one image per invoke."""
    import tensorflow as tf

    with _quiet():
        interpreter = tf.lite.Interpreter(model_content=model_content)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    rows = []
    for image in np.asarray(images, dtype="float32"):
        interpreter.set_tensor(inp["index"], image[None])
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.stack(rows) if rows else np.zeros((0, out["shape"][-1]), "float32")


def check_images(metadata, paths: Sequence[str | os.PathLike] | None = None, n: int = CHECK_IMAGES) -> np.ndarray:
    """A few pages prepared exactly as for the bundle: ``paths`` if given, else the bundled
    examples; random pages only when neither exists (a bare checkout)."""
    from core.ecg import load_and_prepare
    from core.learn import bundle_preprocessing
    from core.use.prediction import bundled_examples

    spec = bundle_preprocessing(metadata)
    chosen = list(paths) if paths else [e.path for e in bundled_examples()]
    images = [load_and_prepare(p, spec) for p in chosen[:n]]
    if images:
        return np.stack(images)
    return np.random.default_rng(0).integers(0, 256, (n, *spec.input_shape)).astype("uint8")


def compare_tflite(model, content: bytes, images: np.ndarray) -> float:
    """Max absolute probability difference between the TFLite and the Keras model on ``images``."""
    expected = model.predict(np.asarray(images, "float32"), verbose=0)
    return float(np.max(np.abs(tflite_predict(content, images) - expected)))


def _write(model, metadata, fmt: str, folder: Path, quantize: bool, images: np.ndarray | None,
           tolerance: float | None) -> ExportResult:
    target = folder / MODEL_FILES[fmt]
    result = ExportResult(folder, fmt, quantize and fmt == "tflite", [])
    with _quiet():
        if fmt == "keras":
            model.save(target)
        elif fmt == "h5":
            model.save(target)                 # legacy HDF5, for tools that only read .h5
        elif fmt == "savedmodel":
            model.export(target, format="tf_saved_model", verbose=False)
    if fmt == "tflite":
        content = tflite_bytes(model, quantize=quantize)
        target.write_bytes(content)
        result.tolerance = TFLITE_TOLERANCE[quantize] if tolerance is None else tolerance
        result.check_images = len(images)
        result.max_abs_diff = compare_tflite(model, content, images)
    result.metadata = sidecar(metadata, fmt=fmt, quantized=result.quantized)
    if result.max_abs_diff is not None:
        result.metadata["tflite_check"] = {"max_abs_probability_difference": result.max_abs_diff,
                                           "tolerance": result.tolerance, "images": result.check_images}
    (folder / SIDECAR).write_text(json.dumps(result.metadata, indent=2), encoding="utf-8")
    result.files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return result


def export_bundle(
    bundle_or_path,
    fmt: str,
    out_dir: str | os.PathLike,
    *,
    quantize: bool = False,
    image_paths: Sequence[str | os.PathLike] | None = None,
    tolerance: float | None = None,
) -> ExportResult:
    """Export a bundle (loaded :class:`~core.bundles.Bundle`, name or path) into ``out_dir/<name>-<fmt>``.

    For TFLite, the converted model is run on a few prepared pages (``image_paths`` or the bundled
    examples) and :class:`ExportError` is raised when its probabilities differ from the Keras
    model's by more than ``tolerance`` (default :data:`TFLITE_TOLERANCE`). ``quantize`` applies to
    TFLite only (dynamic-range: int8 weights, float activations).
    """
    from core.bundles import Bundle, load_bundle

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if quantize and fmt != "tflite":
        raise ExportError("--quantize applies to the tflite format only")
    bundle = bundle_or_path if isinstance(bundle_or_path, Bundle) else load_bundle(bundle_or_path)
    suffix = f"{fmt}-quantized" if quantize else fmt
    folder = Path(out_dir) / f"{bundle.metadata.name or bundle.path.name}-{suffix}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    images = check_images(bundle.metadata, image_paths) if fmt == "tflite" else None
    try:
        result = _write(bundle.model, bundle.metadata, fmt, folder, quantize, images, tolerance)
    except ExportError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ExportError(f"could not write the export to {folder}: {exc.strerror or exc}") from exc
    if result.max_abs_diff is not None and not result.max_abs_diff <= result.tolerance:
        raise ExportError(
            f"the TFLite model's probabilities differ from the Keras model's by up to "
            f"{result.max_abs_diff:.3g} on {result.check_images} images (tolerance {result.tolerance:g}); "
            f"not exporting a model that behaves differently (files left in {folder} for inspection)")
    return result


def zip_folder(folder: str | os.PathLike) -> bytes:
    """The export folder as a zip (top folder kept), for a download button or a file."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()
