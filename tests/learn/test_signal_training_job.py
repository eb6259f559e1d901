"""The signal CNN as a training job (core.learn.signal_job): reading progress, curves, the saved
bundle that Predict and Evaluate take as a signal model, the run history, the cache, and Stop."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.classes import ECG_CLASSES, NON_ECG
from core.learn.signal_training import SignalRecipe

TINY_RECIPE = SignalRecipe(epochs=2, batch_size=8, filters=(8, 8, 12, 12), dense=16, synthetic_per_epoch=0)


@pytest.fixture(scope="module")
def tiny_index(tiny_dataset: Path):
    from core.data import folder_source, prepare_dataset

    return prepare_dataset(folder_source(tiny_dataset), seed=0).index


def _job(index, recipe: SignalRecipe, name: str):
    from core.learn import SignalTrainingJob

    return SignalTrainingJob(index, recipe, bundle_name=name, overwrite=True,
                             dataset_info={"name": "tiny", "path": "tiny", "kind": "folder"})


@pytest.fixture(scope="module")
def finished(tiny_index, tmp_path_factory):
    """A two-epoch signal job on the tiny set, run to the end (models saved in a folder of its own)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ECG_LAB_MODELS", str(tmp_path_factory.mktemp("signal-job-models")))
    job = _job(tiny_index, TINY_RECIPE, "signal-tiny").start()
    job.join(timeout=300)
    yield job
    mp.undo()


def test_the_job_reads_every_ecg_page_then_reports_curves_like_an_image_job(finished, tiny_index) -> None:
    state = finished.state
    assert state.status == "saved", state.error
    ecg_pages = int((tiny_index["class"] != NON_ECG).sum())
    assert ecg_pages == 24 and state.prepared == (ecg_pages, ecg_pages)   # Non-ECG images are not read
    assert state.info["classes"] == list(ECG_CLASSES)
    assert sum(state.info["counts"].values()) == ecg_pages and state.info["params"] > 5_000
    assert [e["epoch"] for e in state.epochs] == [1, 2]
    for epoch in state.epochs:   # what the Train page's curves and metrics read
        assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"} <= set(epoch)
        assert np.isfinite(epoch["loss"]) and 0.0 <= epoch["val_accuracy"] <= 1.0
    assert finished.outcome.history["loss"] == [e["loss"] for e in state.epochs]
    assert finished.outcome.metrics["test_images"] == state.info["counts"]["test"]


def test_the_saved_bundle_is_a_signal_model_that_predicts_and_evaluates(finished, tiny_index) -> None:
    from core.bundles import load_bundle, reads_signals
    from core.evaluate import evaluate_bundle
    from core.use import analyse_image

    bundle = load_bundle(Path(finished.state.bundle_path))
    assert reads_signals(bundle.metadata) and bundle.metadata.architecture == "signalnet"
    assert bundle.metadata.classes == list(ECG_CLASSES)
    assert bundle.metadata.hyperparameters["epochs"] == 2
    assert bundle.metadata.dataset["fingerprint"] == sorted(set(
        tiny_index[(tiny_index["split"] == "train") & (tiny_index["class"] != NON_ECG)]["sha1"]))
    page = tiny_index[tiny_index["class"] != NON_ECG]["path"].iloc[0]
    result = analyse_image(bundle, page)
    assert result.probabilities.shape == (4,) and result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    test = tiny_index[tiny_index["split"] == "test"]
    evaluation = evaluate_bundle(bundle, test)   # the same pages, tensors and temperature as the job's test score
    assert evaluation.unknown_classes == {NON_ECG: int((test["class"] == NON_ECG).sum())}
    assert evaluation.predictions["correct"].mean() == pytest.approx(finished.outcome.metrics["test_accuracy"])


def test_the_run_history_lists_it_like_other_runs(finished) -> None:
    from core.learn import load_runs, runs_table

    run = next(r for r in reversed(load_runs()) if r["bundle_name"] == "signal-tiny")
    assert run["status"] == "finished" and run["config"]["arch"] == "signalnet"
    assert len(run["history"]) == 2 and run["metrics"] == finished.outcome.metrics
    row = runs_table([run]).iloc[0]
    assert (row["arch"], row["epochs"]) == ("signalnet", 2)


def test_a_second_run_takes_the_pages_from_the_cache(finished, tiny_index, monkeypatch, models_root) -> None:
    def no_reading(*args, **kwargs):
        raise AssertionError("the page reader ran although every page was read before")

    monkeypatch.setattr("core.ecg.reader.read_page", no_reading)
    job = _job(tiny_index, TINY_RECIPE, "signal-tiny-again")
    messages, report = [], job._on_event
    job._on_event = lambda event: (messages.append(event.get("message")), report(event))
    job.start().join(timeout=300)
    assert job.state.status == "saved", job.state.error
    assert "Loading the signals of 24 ECG pages from the cache" in messages


def test_stop_ends_the_run_early_and_the_model_can_still_be_kept(finished, tiny_index, models_root) -> None:
    import threading

    from core.learn import load_runs

    job = _job(tiny_index, SignalRecipe(epochs=50, batch_size=4, filters=(8, 8, 12, 12), dense=16,
                                        synthetic_per_epoch=0), "signal-stopped")
    first_epoch = threading.Event()
    report = job._on_event

    def on_event(event: dict) -> None:
        report(event)
        if event["event"] == "epoch":
            first_epoch.set()

    job._on_event = on_event
    job.start()
    assert first_epoch.wait(timeout=120)
    job.stop()
    job.join(timeout=120)
    assert job.state.status == "stopped" and job.outcome.stopped
    assert 1 <= len(job.state.epochs) < 50
    assert next(r for r in reversed(load_runs()) if r["bundle_name"] == "signal-stopped")["status"] == "stopped"
    assert job.save("signal-stopped").joinpath("model.keras").is_file()
