"""Train page (AppTest): a two-epoch run on a tiny folder dataset ends in a chart and a bundle."""
from __future__ import annotations

from pathlib import Path


def test_train_page_runs_a_short_training_and_saves_the_bundle(app_test, tiny_dataset: Path,
                                                                models_root: Path) -> None:
    at = app_test("pages/train.py")
    assert not at.exception
    at.radio(key="train_dataset_kind").set_value("A folder on this computer").run()
    at.text_input(key="train_folder").set_value(str(tiny_dataset)).run()
    at.radio(key="train_preset").set_value("custom").run()
    at.number_input(key="train_epochs_custom").set_value(2)
    at.number_input(key="train_h_custom_compact").set_value(64)
    at.number_input(key="train_w_custom_compact").set_value(128)
    at.text_input(key="train_bundle_name").set_value("apptest-tiny").run()
    at.button(key="train_start").click().run()
    assert not at.exception

    job = at.session_state["train_job"]
    job.join(timeout=300)
    assert job.state.status == "saved", job.state.error
    at.run()  # what the page's live fragment would show next
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 2  # loss and accuracy curves
    assert {m.label for m in at.metric} >= {"Epoch", "Test accuracy", "Test macro-F1"}
    assert any("apptest-tiny" in s.value for s in at.success)
    assert (models_root / "apptest-tiny" / "model.keras").is_file()


def test_vgg16_without_weights_explains_and_offers_training_from_scratch(app_test) -> None:
    at = app_test("pages/train.py")
    at.radio(key="train_preset").set_value("custom").run()
    at.selectbox(key="train_arch_custom").set_value("vgg16").run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in warning
    assert "random weights" in warning
