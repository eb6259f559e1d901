"""Bad model bundles in the UI and the CLI: a Lambda layer, a corrupt model file or a bundle whose
model disagrees with its metadata gives a clear error on Predict and Evaluate (never a traceback)
and one ``error:`` line from the CLI. Replacing a model on Train needs a confirmation; unexpected
failures are logged with context and shown as a friendly message.

Covered elsewhere, not repeated here: safe-mode refusal in core and every corrupt-file variant
(tests/bundles/test_bundles.py ``test_load_refuses_lambda_layer``, ``test_load_refuses_unknown_custom_object``,
``test_load_reports_corrupt_model_file``), a save killed midway leaving the previous bundle loadable
(tests/bundles/test_bundles.py ``test_save_killed_midway_leaves_a_loadable_bundle`` and
``test_save_killed_at_random_moments_leaves_a_loadable_bundle``), deleting only after the
confirmation box (tests/ui/test_train_page.py ``test_saved_models_can_be_renamed_downloaded_and_deleted_with_confirmation``).
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _lambda_bundle(tiny_bundle: Path, target: Path) -> Path:
    """The tiny model behind a Lambda layer: same inputs and classes, but Python code inside."""
    import keras

    from core.bundles import load_bundle, save_bundle

    bundle = load_bundle(tiny_bundle)
    inputs = keras.Input(bundle.model.input_shape[1:])
    outputs = bundle.model(keras.layers.Lambda(lambda t: t * 1.0)(inputs))
    return save_bundle(keras.Model(inputs, outputs), bundle.metadata.to_dict(), target)


@pytest.fixture(scope="module")
def bad_bundles(tiny_bundle: Path, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad-bundles")
    made = {"lambda": _lambda_bundle(tiny_bundle, root / "lambda")}
    corrupt = Path(shutil.copytree(tiny_bundle, root / "corrupt"))
    (corrupt / "model.keras").write_bytes(b"PK\x03\x04 this is not a keras file")
    made["corrupt"] = corrupt
    mismatched = Path(shutil.copytree(tiny_bundle, root / "mismatched"))
    meta = json.loads((mismatched / "metadata.json").read_text())
    meta["classes"] = meta["classes"][:3]            # the model still has one output per original class
    (mismatched / "metadata.json").write_text(json.dumps(meta))
    made["mismatched"] = mismatched
    return made


MESSAGES = {
    "lambda": "it contains a Lambda layer or other Python code",
    "corrupt": "is corrupt",
    "mismatched": "classes",
}


def install(bad_bundles, models_root: Path, kind: str) -> Path:
    return Path(shutil.copytree(bad_bundles[kind], models_root / kind))


@pytest.mark.parametrize("kind", list(MESSAGES))
def test_predict_page_shows_a_bad_bundle_as_an_error(app_test, bad_bundles, models_root, kind):
    install(bad_bundles, models_root, kind)
    at = app_test("pages/predict.py")
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(f"The model {kind} cannot be used" in e and MESSAGES[kind] in e for e in errors), errors


@pytest.mark.parametrize("kind", list(MESSAGES))
def test_evaluate_page_shows_a_bad_bundle_as_an_error(app_test, bad_bundles, models_root, tiny_dataset, kind):
    install(bad_bundles, models_root, kind)
    at = app_test("pages/evaluate.py")
    at.radio(key="evaluate_dataset_kind").set_value("A folder on this computer").run()
    at.text_input(key="evaluate_folder").set_value(str(tiny_dataset)).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(MESSAGES[kind] in e for e in errors), errors


@pytest.mark.parametrize("kind", list(MESSAGES))
def test_predict_cli_refuses_a_bad_bundle_in_one_line(bad_bundles, tiny_dataset, kind):
    image = next(tiny_dataset.rglob("*.jpg"))
    result = subprocess.run([sys.executable, "-m", "core", "predict", "--model", str(bad_bundles[kind]), str(image)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # TF logs aside
    assert len(errors) == 1 and MESSAGES[kind] in errors[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_train_page_asks_before_replacing_an_existing_model(app_test, tiny_bundle, models_root):
    shutil.copytree(tiny_bundle, models_root / "mine")
    at = app_test("pages/train.py")
    at.text_input(key="train_bundle_name").set_value("mine").run()
    assert not at.exception
    assert at.button(key="train_start").disabled, "an existing name is not overwritten silently"
    at.checkbox(key="train_overwrite").check().run()
    assert not at.button(key="train_start").disabled


def test_an_unexpected_failure_is_logged_with_context_and_explained(app_test, tiny_bundle, models_root,
                                                                   tiny_dataset, monkeypatch, caplog):
    import core.use.prediction

    def broken(*args, **kwargs):
        raise RuntimeError("GPU on fire")

    monkeypatch.setattr(core.use.prediction, "analyse_image", broken)
    shutil.copytree(tiny_bundle, models_root / "tiny")
    at = app_test("pages/predict.py")
    with caplog.at_level(logging.ERROR, logger="pages.common"):
        at.file_uploader(key="predict_upload").upload("ward <3>.jpg", next(tiny_dataset.rglob("*.jpg")).read_bytes(),
                                                      "image/jpeg")
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    message = at.error[0].value
    assert "Something went wrong while analysing ward &lt;3&gt;.jpg (RuntimeError: GPU on fire)" in message
    assert "Try again" in message and "server log" in message
    record = next(r for r in caplog.records if r.name == "pages.common")
    assert record.getMessage() == "Unexpected error while analysing ward <3>.jpg"
    assert record.exc_info and record.exc_info[0] is RuntimeError
