"""Train page (AppTest): a two-epoch run on a tiny folder dataset ends in a chart and a bundle."""
from __future__ import annotations

import json
from pathlib import Path

from core.synth.dataset import BUILTIN_PER_CLASS


def train_until_saved(at, name: str, timeout: float = 300):
    """Name the model, press Train, wait for the job; returns it, saved."""
    at.text_input(key="train_bundle_name").set_value(name).run()
    at.button(key="train_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["train_job"]
    job.join(timeout=timeout)
    assert job.state.status == "saved", job.state.error
    return job


def test_train_page_runs_a_short_training_and_saves_the_bundle(tiny_train_page,
                                                                models_root: Path) -> None:
    at = tiny_train_page
    at.number_input(key="train_epochs_custom").set_value(2)
    at.text_input(key="train_bundle_name").set_value("apptest-tiny").run()
    at.button(key="train_start").click().run()
    assert not at.exception
    job = at.session_state["train_job"]
    # The click's own run already shows the job: Train greyed out (a tiny model still needs seconds).
    assert job.state.running and at.button(key="train_start").disabled

    job.join(timeout=300)
    assert job.state.status == "saved", job.state.error
    at.run()  # what the page's live fragment would show next
    assert not at.exception
    # This run's loss and accuracy curves (the run history below may overlay earlier runs too).
    curves = at.get_by_key("train_live").get("vega_lite_chart")
    assert [json.loads(c.proto.spec)["title"] for c in curves] == ["Loss", "Accuracy"]
    assert {m.label for m in at.metric} >= {"Epoch", "Test accuracy", "Test macro-F1"}
    assert any("apptest-tiny" in s.value for s in at.success)
    assert (models_root / "apptest-tiny" / "model.keras").is_file()


def test_after_a_run_with_the_default_name_the_next_run_gets_a_new_one(tiny_train_page, models_root: Path) -> None:
    at = tiny_train_page
    at.number_input(key="train_epochs_custom").set_value(1).run()
    first = at.text_input(key="train_bundle_name").value
    at.button(key="train_start").click().run()
    at.session_state["train_job"].join(timeout=300)
    at.run()
    assert (models_root / first / "model.keras").is_file()
    assert at.text_input(key="train_bundle_name").value == f"{first}-2"
    assert not at.button(key="train_start").disabled
    assert "train_overwrite" not in [c.key for c in at.checkbox]            # nothing to replace


def test_vgg16_without_weights_explains_and_offers_training_from_scratch(app_test) -> None:
    at = app_test("pages/train.py")
    at.radio(key="train_preset").set_value("custom").run()
    at.selectbox(key="train_arch_custom").set_value("vgg16").run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in warning
    assert "random weights" in warning


def test_saved_models_can_be_renamed_downloaded_and_deleted_with_confirmation(app_test, tiny_bundle: Path,
                                                                           models_root: Path) -> None:
    import shutil

    shutil.copytree(tiny_bundle, models_root / "first")
    at = app_test("pages/train.py")
    assert at.selectbox(key="bundle_pick").options == ["first"]

    at.text_input(key="bundle_new_name").set_value("renamed").run()
    at.button(key="bundle_rename").click().run()
    assert not at.exception
    assert (models_root / "renamed").is_dir() and not (models_root / "first").exists()

    at.selectbox(key="bundle_pick").set_value("renamed").run()
    # AppTest cannot fetch a deferred download; the zip itself is core's (tests/bundles/test_bundles.py).
    assert at.download_button(key="bundle_download").label == "Download .zip"

    assert at.button(key="bundle_delete").disabled  # nothing is deleted without the confirmation
    at.checkbox(key="bundle_confirm_delete").check().run()
    at.button(key="bundle_delete").click().run()
    assert not (models_root / "renamed").exists()


def test_a_dataset_zip_upload_is_extracted_and_used(app_test, tiny_dataset: Path, tmp_path: Path) -> None:
    import shutil

    archive = shutil.make_archive(str(tmp_path / "ecg"), "zip", root_dir=tiny_dataset.parent,
                                  base_dir=tiny_dataset.name)
    at = app_test("pages/explore.py")
    at.radio(key="explore_dataset_kind").set_value("Upload a .zip").run()
    at.file_uploader(key="explore_zip").upload("ecg.zip", Path(archive).read_bytes(), "application/zip").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Images"] == "30"


def test_the_live_demo_trains_on_the_builtin_set(app_test, models_root: Path) -> None:
    # At the tests' size (12 a class) the starter pack does not fit: the page uses the drawn set.
    at = app_test("pages/train.py")
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="train_preset").value == "live-demo"
    assert any("inputs of the built-in pages ship with the app" in c.value for c in at.caption)
    job = train_until_saved(at, "apptest-live", timeout=600)
    assert job.dataset_info["name"] == "Built-in synthetic ECG pages (12 per class)"
    assert len(job.index) == 60 and (models_root / "apptest-live" / "model.keras").is_file()


def test_the_live_demo_starts_from_the_starter_pack_while_the_pages_are_drawn(app_test, monkeypatch) -> None:
    # The built-in size on a fresh machine: nothing drawn yet, yet the Live demo is ready at once.
    monkeypatch.setattr("core.synth.background.builtin_generation", lambda *a, **k: _Drawing())
    monkeypatch.setattr("pages.choosers.SYNTHETIC_PER_CLASS", BUILTIN_PER_CLASS)
    at = app_test("pages/train.py")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("progress"), "the Live demo should not wait for the drawing"
    assert [e for e in at.expander if "Model summary" in e.label]
    assert not at.button(key="train_start").disabled
    at.radio(key="train_preset").set_value("custom").run()
    assert at.get("progress"), "other presets train on the drawn pages and show the drawing's progress"


class _Drawing:
    """The built-in pages half drawn."""

    finished = failed = paused = False
    error = None

    def progress(self) -> tuple[int, int]:
        return 30, 60


def test_while_the_pages_are_drawn_the_count_shows_and_train_stays_enabled(app_test, monkeypatch) -> None:
    monkeypatch.setattr("core.synth.background.builtin_generation", lambda *a, **k: _Drawing())
    at = app_test("pages/train.py")
    assert not at.exception, [e.value for e in at.exception]
    text = at.get("progress")[0].proto.text
    assert text.startswith("Drawing the built-in synthetic ECG pages (first run only): 30 of 60. Press Train now")
    assert not at.button(key="train_start").disabled
    assert not [e for e in at.expander if "Model summary" in e.label]   # they need the pages


def test_the_signal_cnn_trains_under_custom_and_evaluate_and_predict_take_it(tiny_train_page, models_root: Path,
                                                                             tiny_dataset: Path, monkeypatch,
                                                                             tmp_path: Path) -> None:
    from core.bundles import load_bundle, reads_signals

    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path))      # no page read by an earlier test
    at = tiny_train_page
    at.radio(key="train_preset").set_value("original-notebook").run()
    assert "signalnet" not in at.selectbox(key="train_arch_original-notebook").options   # Custom only
    at.radio(key="train_preset").set_value("custom").run()
    at.selectbox(key="train_arch_custom").set_value("signalnet").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("page reader first digitises every page" in i.value for i in at.info)
    assert any("0 of 24 distinct ECG pages read already" in c.value for c in at.caption)
    assert at.text_input(key="train_bundle_name").value.startswith("signalnet-")
    assert not [e for e in at.expander if "Model summary" in e.label]      # an image model's tools
    at.number_input(key="train_epochs_signal").set_value(2)
    job = train_until_saved(at, "apptest-signal")
    assert job.state.prepared == (24, 24)

    at.run()
    assert not at.exception, [e.value for e in at.exception]
    curves = at.get_by_key("train_live").get("vega_lite_chart")
    assert [json.loads(c.proto.spec)["title"] for c in curves] == ["Loss", "Accuracy"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Epoch"] == "2/2"
    assert metrics["Test accuracy"] == f"{job.outcome.metrics['test_accuracy']:.3f}"
    assert metrics["Test images"] == str(job.state.info["counts"]["test"])
    assert [c for c in at.get("vega_lite_chart") if "Confusion matrix: test split" in c.proto.spec]
    assert any("apptest-signal" in s.value for s in at.success)
    assert reads_signals(load_bundle(models_root / "apptest-signal").metadata)
    assert any("0 of 24" not in c.value and "24 of 24 distinct ECG pages read already" in c.value
               for c in at.caption)                                            # the next run reads nothing

    # Evaluate and Predict open on the model just saved (the page's links set it for the session).
    at.session_state["evaluate_dataset_kind"] = "A folder on this computer"
    at.session_state["evaluate_folder"] = str(tiny_dataset)
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="evaluate_model").value == "apptest-signal"
    scores = {m.label: m.value for m in at.metric}     # its own test split: the score the Train page showed
    assert at.radio(key="evaluate_split").value == "test" and scores["Seen in training"] == "0"
    assert (scores["Accuracy"], scores["Images"]) == (metrics["Test accuracy"], metrics["Test images"])
    at.switch_page("pages/predict.py").run()
    assert not at.exception, [e.value for e in at.exception]
    page = next((tiny_dataset / "Myocardial Infarction").iterdir())
    at.file_uploader(key="predict_upload").upload(page.name, page.read_bytes(), "image/png").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.label == "Predicted class" for m in at.metric)
    assert any("1-D Grad-CAM" in c.value for c in at.caption)
