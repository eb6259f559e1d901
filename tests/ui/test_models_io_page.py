"""Train page (AppTest): import a Keras .h5 through the form, refuse a Lambda model, export a bundle
to TFLite with its check and a download, and run a tiny hyper-parameter search whose best
configuration lands in the Train settings."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def _h5_bytes(tmp_path: Path, *, with_lambda: bool = False) -> bytes:
    import keras
    from keras import layers

    extra = [layers.Lambda(lambda t: t / 255.0)] if with_lambda else []
    model = keras.Sequential([keras.Input((32, 32, 3)), *extra, layers.Conv2D(4, 3, activation="relu"),
                              layers.MaxPooling2D(), layers.Flatten(), layers.Dense(5, activation="softmax")])
    path = tmp_path / "ecg_classifier.h5"
    model.save(path)
    return path.read_bytes()


def test_import_form_prefills_original_classes_and_saves_a_bundle(app_test, tmp_path: Path,
                                                                  models_root: Path) -> None:
    at = app_test("pages/train.py")
    at.file_uploader(key="mio_upload").upload("ecg_classifier.h5", _h5_bytes(tmp_path), "application/x-hdf5").run()
    assert not at.exception
    classes = next(t for t in at.text_area if t.key.startswith("mio_classes_"))
    assert classes.value.endswith("Non-ECG")                 # 5 outputs: the notebook's order
    assert any("Sequential, rebuilt" in c.value for c in at.caption)
    at.button(key="mio_import").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert (models_root / "ecg_classifier" / "model.keras").is_file()
    assert any(s.value.startswith("Imported ecg") for s in at.success)   # names are escaped


def test_import_form_refuses_a_lambda_model(app_test, tmp_path: Path, models_root: Path) -> None:
    at = app_test("pages/train.py")
    at.file_uploader(key="mio_upload").upload("lam.h5", _h5_bytes(tmp_path, with_lambda=True),
                                              "application/x-hdf5").run()
    assert not at.exception
    assert any("Lambda layer" in e.value for e in at.error)
    assert not any(b.key == "mio_import" for b in at.button)


def test_export_to_tflite_reports_the_check_and_offers_the_zip(app_test, tiny_bundle: Path,
                                                               models_root: Path) -> None:
    shutil.copytree(tiny_bundle, models_root / "tiny")
    at = app_test("pages/train.py")
    at.selectbox(key="mio_format").set_value("tflite").run()
    at.button(key="mio_export").click().run()
    assert not at.exception
    metric = next(m for m in at.metric if m.label.startswith("TFLite vs Keras"))
    assert float(metric.value) <= 1e-4
    assert at.download_button(key="mio_download").label == "Download tiny-tflite.zip"


@pytest.mark.slow
def test_search_shows_ranked_table_and_fills_the_train_settings(tiny_train_page) -> None:
    at = tiny_train_page
    at.multiselect(key="tune_sizes").set_value([(64, 128)])
    at.number_input(key="tune_budget").set_value(20)
    at.number_input(key="tune_epochs").set_value(1).run()
    at.button(key="tune_run").click().run(timeout=300)
    assert not at.exception
    result = at.session_state["tune_result"]
    assert len(result.table) >= 1
    assert any(list(df.value.columns[:3]) == ["rank", "trial", "state"] for df in at.dataframe)
    assert any("Search trials" in c.proto.spec for c in at.get("vega_lite_chart"))
    best = result.best
    assert best is not None, result.table
    at.button(key="tune_use_best").click().run()
    assert not at.exception
    assert at.session_state["train_preset"] == "custom"
    assert at.number_input(key="train_lr_custom").value == pytest.approx(best.learning_rate)
    assert at.slider(key="train_aug_custom").value == best.augment
    assert any(f"Model width {best.width:g} from the search" in c.value for c in at.caption)
    assert any("best configuration is now in the Train settings" in s.value for s in at.success)
