"""The training engine: reproducibility, stopping, background jobs, transfer learning."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from core.data import folder_source, prepare_dataset
from core.ecg import Preprocessing
from core.learn import TrainConfig, class_weight_map, train

TINY = Preprocessing(64, 128)


@pytest.fixture(scope="module")
def tiny_index(tiny_dataset: Path):
    return prepare_dataset(folder_source(tiny_dataset), seed=0).index


def test_class_weights_balance_rare_classes() -> None:
    weights = class_weight_map(np.array([0, 0, 0, 1]), 3)
    assert weights[1] == pytest.approx(3 * weights[0])
    assert weights[2] == 0.0
    assert np.mean([weights[c] for c in (0, 0, 0, 1)]) == pytest.approx(1.0)


def test_same_seed_gives_the_same_metrics_and_history(tiny_index) -> None:
    config = TrainConfig(epochs=2, batch_size=8, preprocessing=TINY, augment=0.5, patience=0, seed=3)
    first, second = train(tiny_index, config), train(tiny_index, config)
    assert first.history["loss"] == second.history["loss"]
    assert first.metrics == second.metrics
    other = train(tiny_index, TrainConfig(epochs=2, batch_size=8, preprocessing=TINY, augment=0.5,
                                          patience=0, seed=4))
    assert other.history["loss"] != first.history["loss"]


def test_events_report_every_batch_and_epoch(tiny_index) -> None:
    events: list[dict] = []
    train(tiny_index, TrainConfig(epochs=2, batch_size=8, preprocessing=TINY, patience=0), listener=events.append)
    start = next(e for e in events if e["event"] == "start")
    batches = [e for e in events if e["event"] == "batch"]
    assert len(batches) == 2 * start["batches"]
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
    assert start["counts"]["train"] + start["counts"]["val"] + start["counts"]["test"] == len(tiny_index)


def test_stop_mid_training_keeps_no_bundle_unless_asked(tiny_index, models_root: Path) -> None:
    from core.bundles import list_bundles, load_bundle
    from core.learn import TrainingJob

    config = TrainConfig(epochs=50, batch_size=4, preprocessing=TINY, patience=0)
    job = TrainingJob(tiny_index, config, bundle_name="stopped")
    stop_when_batches = threading.Event()
    original = job._on_event

    def stop_after_a_few_batches(event: dict) -> None:
        original(event)
        if event["event"] == "batch" and job.state.batch >= 2:
            job.stop()

    job._on_event = stop_after_a_few_batches
    job.start().join(timeout=300)
    assert job.state.status == "stopped"
    assert len(job.state.epochs) < 50
    assert list_bundles().empty  # a stopped run saves nothing by itself

    path = job.save("stopped")
    assert load_bundle(path).metadata.metrics["stopped_early_by_user"] is True
    assert not stop_when_batches.is_set()


def test_a_finished_job_saves_its_bundle(tiny_index, models_root: Path) -> None:
    from core.bundles import load_bundle
    from core.learn import TrainingJob

    job = TrainingJob(tiny_index, TrainConfig(epochs=1, batch_size=8, preprocessing=TINY),
                      bundle_name="done").start()
    job.join(timeout=300)
    assert job.state.status == "saved", job.state.error
    bundle = load_bundle("done")
    assert bundle.metadata.input_size == [64, 128] and bundle.metadata.color_mode == "ink"
    assert bundle.metadata.dataset["fingerprint"] == sorted(set(tiny_index.loc[tiny_index["split"] == "train", "sha1"]))


def test_frozen_transfer_trains_the_head_on_cached_features(tiny_index, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    import core.learn.training

    weights = tmp_path / "mobilenetv2.weights.h5"
    keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3)).save_weights(weights)
    base_passes: list[int] = []  # images per forward pass that ends in the base's feature map
    predict = core.learn.training._predict

    def counting_predict(model, images):
        if len(model.output_shape) == 4:
            base_passes.append(len(images))
        return predict(model, images)

    monkeypatch.setattr(core.learn.training, "_predict", counting_predict)
    events: list[dict] = []
    config = TrainConfig(arch="mobilenetv2", epochs=3, batch_size=8, weights_path=str(weights),
                         preprocessing=Preprocessing(96, 96, "rgb"), patience=0)
    outcome = train(tiny_index, config, listener=events.append)
    assert any("features once" in e.get("message", "") for e in events)
    # Three head epochs, yet the base ran once over the training and once over the validation images.
    counts = outcome.split_counts
    assert base_passes == [sum(counts["train"].values()), sum(counts["val"].values())]
    assert len([e for e in events if e["event"] == "epoch"]) == 3
    # The base stayed frozen: its weights are still the file's.
    reference = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3))
    reference.load_weights(weights)
    np.testing.assert_array_equal(outcome.model.get_layer("Conv1").get_weights()[0],
                                  reference.get_layer("Conv1").get_weights()[0])
    assert outcome.model.get_layer("out_relu") is not None
    assert outcome.model.output_shape[-1] == 5


def test_transfer_from_scratch_needs_no_weights(tiny_index) -> None:
    config = TrainConfig(arch="mobilenetv2", epochs=1, batch_size=8, pretrained=False,
                         preprocessing=Preprocessing(96, 96, "rgb"), patience=0)
    assert train(tiny_index, config).model.output_shape[-1] == 5


def test_a_cosine_schedule_decays_the_rate_to_nearly_zero_without_plateau_halving(tiny_index) -> None:
    events: list[dict] = []
    config = TrainConfig(epochs=3, batch_size=8, preprocessing=TINY, patience=0, schedule="cosine",
                         learning_rate=1e-2)
    train(tiny_index, config, listener=events.append)
    rates = [e["learning_rate"] for e in events if e["event"] == "epoch"]
    assert rates[0] < 1e-2 and rates == sorted(rates, reverse=True) and rates[-1] < 1e-4
