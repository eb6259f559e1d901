"""The signal CNN trained like the image models: a :class:`SignalTrainingJob` is a
:class:`core.learn.jobs.TrainingJob` whose training step first has the page reader digitise the
dataset's pages (cached per content and reader version, so only the first run waits for it), then
fits the 12-lead CNN on their signals and saves a bundle that reads signals.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.classes import NON_ECG, order_classes
from core.learn.architectures import SIGNAL_ARCHITECTURE
from core.learn.jobs import TrainingJob
from core.learn.signal_training import SignalRecipe, take
from core.learn.training import Listener, TrainOutcome, finish_outcome, run_metadata

SPLITS = ("train", "val", "test")


def signal_pages(index: pd.DataFrame) -> pd.DataFrame:
    """The pages a signal model learns from: every ECG class (Non-ECG images carry no leads to read;
    telling them apart is the ECG check's job, as for the shipped signal model)."""
    return index[index["class"] != NON_ECG].reset_index(drop=True)


def train_on_pages(index: pd.DataFrame, recipe: SignalRecipe, *, listener: Listener | None = None,
                   stop: threading.Event | None = None) -> TrainOutcome:
    """Digitise the ECG pages of ``index`` (``path``, ``class``, ``split``, ideally ``sha1``) and
    train the signal CNN on the train split; the outcome is scored as an image model's is."""
    from core.learn.inference import prepare_signal_pages
    from core.learn.models import count_flops
    from core.learn.signal_cache import cached_pages
    from core.learn.signal_models import build_signalnet
    from core.learn.signal_training import train_signalnet

    listener = listener or (lambda event: None)
    stop = stop or threading.Event()
    started = time.perf_counter()
    pages = signal_pages(index)
    if not (pages["split"] == "train").any():
        raise ValueError("the training split holds no ECG pages: a signal model learns from ECG classes only")
    classes = order_classes(pages["class"].unique())
    hashes = pages["sha1"].tolist() if "sha1" in pages else None
    known = cached_pages(hashes) if hashes else 0
    listener({"event": "status", "message": (
        f"Loading the signals of {len(pages)} ECG pages from the cache" if hashes and known == len(set(hashes))
        else f"Reading {len(pages)} ECG pages with the page reader" + (f" ({known} from the cache)" if known else ""))})
    prepared = prepare_signal_pages(pages["path"].tolist(), hashes=hashes,
                                    progress=lambda done, total: listener({"event": "prepare", "done": done,
                                                                           "total": total}))
    for path, message in prepared.errors.items():
        listener({"event": "warning", "message": message, "path": path})
    kept = pages.iloc[prepared.kept].reset_index(drop=True)
    labels = kept["class"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    positions = {s: np.flatnonzero(kept["split"].to_numpy() == s) for s in SPLITS}
    rows = {s: kept.iloc[p].reset_index(drop=True) for s, p in positions.items()}
    x = {s: take(prepared.tensors, p) for s, p in positions.items()}
    y = {s: labels[p] for s, p in positions.items()}

    preview = build_signalnet(len(classes), filters=recipe.filters, dense=recipe.dense, dropout=recipe.dropout,
                              rhythm=recipe.rhythm)
    listener({"event": "start", "epochs": recipe.epochs, "classes": classes,
              "batches": int(np.ceil(len(y["train"]) / recipe.batch_size)),
              "params": int(preview.count_params()), "flops": count_flops(preview),
              "counts": {s: len(rows[s]) for s in SPLITS}})
    listener({"event": "status", "message": "Training"})
    epochs: list[dict] = []

    def on_event(event: dict) -> None:
        if event["event"] == "epoch":
            epochs.append(event)
        listener(event)

    model = train_signalnet(x["train"], y["train"], recipe, n_classes=len(classes), listener=on_event, stop=stop,
                            validation=(x["val"], y["val"]) if len(y["val"]) else None)
    listener({"event": "status", "message": "Evaluating on the test split"})
    history = {key: [e[key] for e in epochs] for key in (epochs[0] if epochs else {})
               if key not in ("event", "epoch", "seconds")}
    return finish_outcome(model, recipe, pages, classes, rows, history=history, stopped=stop.is_set(),
                          started=started, val=(_probabilities(model, x["val"], len(classes)), y["val"]),
                          test=(_probabilities(model, x["test"], len(classes)), y["test"]))


def _probabilities(model, x: dict[str, np.ndarray], n_classes: int) -> np.ndarray:
    from core.learn.signal_training import predict_signalnet

    return predict_signalnet(model, x) if len(x["leads"]) else np.zeros((0, n_classes))


def signal_metadata(outcome: TrainOutcome, *, dataset_info: dict | None = None) -> dict:
    """Bundle metadata of a signal outcome: what Predict and Evaluate need to feed it signals."""
    from core.bundles import SIGNAL_INPUT
    from core.learn.models import LAST_CONV
    from core.learn.signal_data import SIGNAL_SPEC
    from core.learn.signal_models import RHYTHM_LAST_CONV

    recipe: SignalRecipe = outcome.config
    return {
        **run_metadata(outcome, dataset_info=dataset_info),
        "input_size": SIGNAL_SPEC["tensors"]["leads"][:2],
        "architecture": SIGNAL_ARCHITECTURE.key,
        "hyperparameters": recipe.to_dict(),
        "input": SIGNAL_INPUT, "signal_spec": SIGNAL_SPEC,
        "gradcam_layer": LAST_CONV,
        "gradcam_layers": {"leads": LAST_CONV, **({"rhythm": RHYTHM_LAST_CONV} if recipe.rhythm else {})},
    }


class SignalTrainingJob(TrainingJob):
    """A :class:`TrainingJob` of the signal CNN: ``config`` is a :class:`SignalRecipe`."""

    def _train(self) -> TrainOutcome:
        return train_on_pages(self.index, self.config, listener=self._on_event, stop=self._stop)

    def _save_outcome(self, name: str, overwrite: bool) -> Path:
        from core.bundles import save_bundle

        return save_bundle(self.outcome.model, signal_metadata(self.outcome, dataset_info=self.dataset_info), name,
                           overwrite=overwrite)

    def _config_dict(self) -> dict:
        return {"arch": SIGNAL_ARCHITECTURE.key, **self.config.to_dict()}
