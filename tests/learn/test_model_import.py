"""Importing the original notebooks' models: a Sequential CNN saved as .h5 becomes a functional
bundle that predicts exactly like the source and gets a Grad-CAM overlay; unsafe or wrong files are
refused with clear messages."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

# The notebooks' CNN at 64×64 instead of 224×224: same layers, ~1/12 of the pixels.
SIDE = 64
CLASSES = ["Myocardial Infarction", "History of MI", "Abnormal Heartbeat", "Normal", "Non-ECG"]


def _notebook_cnn(n_classes: int = 5):
    """Shaped like ecg_classifier.h5: Sequential Conv 32/64/128 + pools, Dense 256, Dropout, softmax."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input((SIDE, SIDE, 3)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(128, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(256, activation="relu"), layers.Dropout(0.5),
        layers.Dense(n_classes, activation="softmax"),
    ])


@pytest.fixture(scope="module")
def notebook_h5(tmp_path_factory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("notebook") / "ecg_classifier.h5"
    model = _notebook_cnn()
    model.save(path)
    return path, model


def _pages(n: int = 4) -> np.ndarray:
    """Real example pages prepared as for the bundle (224×224 RGB, no crop, here at 64×64)."""
    from core.ecg import Preprocessing
    from core.use import bundled_examples, view_page

    spec = Preprocessing(SIDE, SIDE, "rgb", "none")
    return np.stack([view_page(e.path, spec).network_input for e in bundled_examples()[:n]])


def test_notebook_cnn_h5_imports_predicts_identically_and_explains(notebook_h5, models_root: Path) -> None:
    from core.bundles import load_bundle
    from core.learn import import_model, predict_arrays
    from core.use import analyse_image, bundled_examples, explain_image, page_heat

    path, source = notebook_h5
    bundle_path = import_model(path, ",".join(CLASSES), name="notebook-cnn")
    bundle = load_bundle(bundle_path)
    assert bundle.metadata.classes == CLASSES
    assert bundle.metadata.color_mode == "rgb" and bundle.metadata.input_size == [SIDE, SIDE]
    assert bundle.metadata.preprocessing["crop"] == "none"
    assert bundle.metadata.extra["imported"]["rebuilt_from_sequential"] is True
    assert type(bundle.model).__name__ == "Functional"
    assert bundle.model.get_layer("import_rescale").scale == pytest.approx(1 / 255)

    pages = _pages()
    expected = source.predict(pages.astype("float32") / 255.0, verbose=0)   # the notebook's way
    got = predict_arrays(bundle.model, pages)                               # ours: raw 0-255 pixels
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert (got.argmax(1) == expected.argmax(1)).all()

    # Grad-CAM through the Predict pipeline (tf-keras-vis on the rebuilt functional graph).
    result = analyse_image(bundle, bundled_examples()[0].path)
    saliency = explain_image(bundle, result, "gradcam")
    assert saliency.used == "gradcam", saliency.note      # not the tape fallback
    assert saliency.layer == bundle.metadata.extra["gradcam_layer"]
    heat = page_heat(result, saliency, width=200)
    assert heat.shape[1] == 200 and 0 <= heat.min() and heat.max() <= 1


def test_model_that_rescales_itself_gets_no_second_rescaling(tmp_path: Path, models_root: Path) -> None:
    import keras
    from keras import layers

    from core.bundles import load_bundle
    from core.learn import import_model, inspect_model_file

    inputs = keras.Input((32, 32, 1))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(4, 3, activation="relu")(x)
    outputs = layers.Dense(3)(layers.GlobalAveragePooling2D()(x))       # logits: a softmax is added
    path = tmp_path / "gray.keras"
    source = keras.Model(inputs, outputs)
    source.save(path)
    assert inspect_model_file(path)[1].suggested_input_scale == 1
    bundle = load_bundle(import_model(path, ["a", "b", "c"]))
    assert bundle.metadata.color_mode == "grayscale"
    assert not any(layer.name == "import_rescale" for layer in bundle.model.layers)
    pixels = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 1)).astype("float32")
    expected = keras.activations.softmax(source(pixels)).numpy()
    np.testing.assert_allclose(bundle.model.predict(pixels, verbose=0), expected, atol=1e-5)


def test_lambda_layer_model_is_refused_before_loading(tmp_path: Path) -> None:
    import keras
    from keras import layers

    from core.learn import ModelImportError, import_model

    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Lambda(lambda t: t / 255.0),
                              layers.Flatten(), layers.Dense(4, activation="softmax")])
    path = tmp_path / "with_lambda.h5"
    model.save(path)
    with pytest.raises(ModelImportError, match=r"contains a Lambda layer.*Rescaling layer"):
        import_model(path, "a,b,c,d")


def test_custom_objects_are_refused(tmp_path: Path) -> None:
    import json

    from core.learn import ModelImportError, check_config_safe

    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "MyAttention", "module": "my_lab.layers", "config": {}}]}}
    with pytest.raises(ModelImportError, match="custom object 'MyAttention'"):
        check_config_safe(json.loads(json.dumps(config)))
    legacy = {"class_name": "Sequential", "config": {"layers": [{"class_name": "MyAttention", "config": {}}]}}
    with pytest.raises(ModelImportError, match="unknown layer type 'MyAttention'"):
        check_config_safe(legacy)


@pytest.mark.parametrize("content, suffix, message", [
    (b"not a model at all", ".h5", "corrupt or not an HDF5 model"),
    (b"PK\x03\x04 broken", ".keras", "corrupt or not a .keras file"),
    (b"\x89PNG\r\n", ".png", "not a Keras model file"),
])
def test_bad_files_give_clear_errors(tmp_path: Path, content: bytes, suffix: str, message: str) -> None:
    from core.learn import ModelImportError, import_model

    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(ModelImportError, match=message):
        import_model(path, "a,b")


def test_weights_only_h5_and_wrong_class_count(notebook_h5, tmp_path: Path) -> None:
    from core.learn import ModelImportError, import_model

    path, source = notebook_h5
    weights = tmp_path / "only.weights.h5"
    source.save_weights(weights)
    renamed = weights.rename(tmp_path / "only.h5")
    with pytest.raises(ModelImportError, match="weights only"):
        import_model(renamed, "a,b")
    with pytest.raises(ModelImportError, match="5 outputs but 4 class names"):
        import_model(path, "a,b,c,d")


def test_original_class_orders_prefill() -> None:
    from core.learn import default_class_names, parse_class_names

    assert default_class_names(5)[-1] == "Non-ECG"
    assert default_class_names(4) == ["Myocardial Infarction", "History of MI", "Abnormal Heartbeat", "Normal"]
    assert default_class_names(3) is None
    assert parse_class_names(" A, B ,\nC,, ") == ["A", "B", "C"]


def test_cli_import_prints_error_and_exits_2(tmp_path: Path, capsys) -> None:
    from core.cli import main

    bad = tmp_path / "x.h5"
    bad.write_bytes(b"nope")
    assert main(["import", str(bad), "--classes", "a,b"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
