"""Exports of a small trained bundle: TFLite (float and dynamic-range quantised) agrees with Keras
within stated tolerances; .keras, .h5 and SavedModel reload and predict the same; the JSON sidecar
carries class names and preprocessing."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

FLOAT_TOLERANCE = 1e-4
# Measured on tiny_bundle (compact CNN, 64×128 ink, 2 epochs) over the 5 bundled example pages:
# max |Δp| = 6.0e-4 for dynamic-range int8 weights (float: 4.5e-8). 0.01 leaves room for other
# seeds and TF builds while still catching a conversion that changes predictions.
QUANTIZED_BOUND = 0.01


@pytest.fixture(scope="module")
def bundle(tiny_bundle: Path):
    from core.bundles import load_bundle

    return load_bundle(tiny_bundle)


@pytest.fixture(scope="module")
def pages(bundle) -> np.ndarray:
    from core.use import check_images

    images = check_images(bundle.metadata)
    assert len(images) >= 3          # the bundled example pages, prepared with core.ecg.preprocess
    return images


@pytest.mark.parametrize("quantize, bound", [(False, FLOAT_TOLERANCE), (True, QUANTIZED_BOUND)])
def test_tflite_export_matches_keras(bundle, pages, tmp_path: Path, quantize: bool, bound: float) -> None:
    from core.use import export_bundle, tflite_predict

    result = export_bundle(bundle, "tflite", tmp_path, quantize=quantize)
    assert result.check_images == len(pages)
    assert result.max_abs_diff <= bound, result.max_abs_diff
    # Recompute independently of export_bundle's own check.
    content = (result.folder / "model.tflite").read_bytes()
    keras_probs = bundle.model.predict(pages.astype("float32"), verbose=0)
    lite_probs = tflite_predict(content, pages)
    assert np.abs(lite_probs - keras_probs).max() <= bound
    assert (lite_probs.argmax(1) == keras_probs.argmax(1)).all()
    sidecar = json.loads((result.folder / "model.json").read_text())
    assert sidecar["classes"] == bundle.metadata.classes
    assert sidecar["input"]["shape"] == [1, 64, 128, 1]
    assert sidecar["preprocessing"]["color_mode"] == "ink"
    assert sidecar["tflite_check"]["max_abs_probability_difference"] == pytest.approx(result.max_abs_diff)
    print(f"TFLite {'dynamic-range' if quantize else 'float'}: max |dp| = {result.max_abs_diff:.3g}")


def test_tflite_check_fails_loudly_past_tolerance(bundle, tmp_path: Path) -> None:
    from core.use import ExportError, export_bundle

    with pytest.raises(ExportError, match="differ from the Keras model's by up to"):
        export_bundle(bundle, "tflite", tmp_path, quantize=True, tolerance=1e-9)


@pytest.mark.parametrize("fmt", ["keras", "h5", "savedmodel"])
def test_keras_h5_savedmodel_round_trip(bundle, pages, tmp_path: Path, fmt: str) -> None:
    import keras

    from core.use import export_bundle, zip_folder

    result = export_bundle(bundle, fmt, tmp_path)
    expected = bundle.model.predict(pages.astype("float32"), verbose=0)
    target = result.folder / {"keras": "model.keras", "h5": "model.h5", "savedmodel": "saved_model"}[fmt]
    if fmt == "savedmodel":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(target))   # keep a reference: serve() needs its variables
        got = loaded.serve(pages.astype("float32")).numpy()
    else:
        got = keras.saving.load_model(target, compile=False, safe_mode=True).predict(
            pages.astype("float32"), verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    names = zipfile.ZipFile(__import__("io").BytesIO(zip_folder(result.folder))).namelist()
    assert f"{result.folder.name}/model.json" in names


def test_bad_requests_are_clear_errors(bundle, tmp_path: Path) -> None:
    from core.use import ExportError, export_bundle

    with pytest.raises(ExportError, match="unknown export format 'onnx'"):
        export_bundle(bundle, "onnx", tmp_path)
    with pytest.raises(ExportError, match="tflite format only"):
        export_bundle(bundle, "keras", tmp_path, quantize=True)


def test_cli_export_tflite_json(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    from core.cli import main

    assert main(["export", "--model", str(tiny_bundle), "--format", "tflite", "--out", str(tmp_path),
                 "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["max_abs_diff"] <= FLOAT_TOLERANCE and Path(line["zip"]).is_file()
    assert main(["export", "--model", str(tmp_path / "missing"), "--format", "h5", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
