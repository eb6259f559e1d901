"""A small hyper-parameter search: learning rate, image size, augmentation strength and model width,
scored by duplicate-safe cross-validation within a time budget the user sets.

Why Optuna and not Keras Tuner: Optuna's study takes ``timeout=`` (the user's budget) directly,
runs in memory (no trial folders on disk), lets the objective be any function — here our own
:func:`core.learn.training.train` on cross-validation folds, so a trial trains exactly like the Train
page — and returns its trials as a pandas DataFrame. Keras Tuner wants to own model building and
``fit``; cross-validation and a wall-clock budget would mean subclassing its ``Tuner`` and
re-implementing both. Optuna is also independent of TensorFlow versions.

Every trial holds the dataset's test split out (the search never sees it) and scores the mean
macro-F1 over ``folds`` folds of the rest (:func:`core.data.splits.group_kfold`, so no duplicate page
is on both sides of a fold). The budget is enforced inside trials too: at the deadline the running
training stops after its current batch and the trial is listed as stopped.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from core.ecg import Preprocessing
from core.learn.training import TrainConfig

Listener = Callable[[dict], None]
COLUMNS = ("rank", "trial", "state", "macro_f1", "accuracy", "learning_rate", "height", "width",
           "augment", "model_width", "folds", "seconds")


@dataclass(frozen=True)
class SearchSpace:
    """What the search may try. Sizes are (height, width); the compact CNN needs multiples of 64."""

    learning_rate: tuple[float, float] = (3e-4, 1e-2)
    sizes: tuple[tuple[int, int], ...] = ((128, 256), (192, 320), (256, 448))
    augment: tuple[float, ...] = (0.0, 0.5, 1.0)
    widths: tuple[float, ...] = (0.5, 1.0, 1.5)


@dataclass
class TuningResult:
    """The ranked trials (best first) and the best configuration, ready to train."""

    table: pd.DataFrame
    best: TrainConfig | None
    seconds: float
    budget: float
    folds: int
    notes: list[str] = field(default_factory=list)


def _config_for(trial, base: TrainConfig, space: SearchSpace, epochs: int) -> TrainConfig:
    """The trial's configuration: the base with the four searched settings replaced."""
    lr = trial.suggest_float("learning_rate", *space.learning_rate, log=True)
    size = trial.suggest_categorical("size", [f"{h}x{w}" for h, w in space.sizes])
    height, width = (int(v) for v in size.split("x"))
    augment = trial.suggest_categorical("augment", list(space.augment))
    # Width only changes the compact CNN; other architectures keep theirs and skip the choice.
    model_width = trial.suggest_categorical("model_width", list(space.widths)) if base.arch == "compact" else base.width
    spec = Preprocessing.from_dict({**base.preprocessing.to_dict(), "height": height, "width": width})
    return replace(base, learning_rate=lr, preprocessing=spec, augment=float(augment),
                   width=float(model_width), epochs=epochs, patience=0)


def cv_indexes(index: pd.DataFrame, folds: int, seed: int) -> list[pd.DataFrame]:
    """One index per fold, without the test split: held-out fold as ``test``, the rest as ``train``."""
    from core.data import group_kfold

    pool = index[index["split"] != "test"].reset_index(drop=True) if "split" in index else index.reset_index(drop=True)
    out = []
    for train_pos, held_pos in group_kfold(pool, n_splits=folds, seed=seed):
        fold = pool.copy()
        fold["split"] = "train"
        fold.loc[held_pos, "split"] = "test"
        out.append(fold)
    return out


def _row(trial, config: TrainConfig, state: str, scores: list[dict], seconds: float) -> dict:
    return {
        "trial": trial.number, "state": state,
        "macro_f1": float(np.mean([s["test_macro_f1"] for s in scores])) if scores else math.nan,
        "accuracy": float(np.mean([s["test_accuracy"] for s in scores])) if scores else math.nan,
        "learning_rate": config.learning_rate, "height": config.preprocessing.height,
        "width": config.preprocessing.width, "augment": config.augment, "model_width": config.width,
        "folds": len(scores), "seconds": round(seconds, 1),
    }


def rank_table(rows: list[dict]) -> pd.DataFrame:
    """Trials best first (complete trials by macro-F1, then accuracy), with a 1-based ``rank``."""
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"])
    complete = table["state"] == "complete"
    table = pd.concat([
        table[complete].sort_values(["macro_f1", "accuracy", "seconds"], ascending=[False, False, True]),
        table[~complete].sort_values("trial"),
    ], ignore_index=True)
    table.insert(0, "rank", pd.array([i + 1 if c else pd.NA for i, c in enumerate(table["state"] == "complete")],
                                     dtype="Int64"))
    return table


def config_from_row(row: dict | pd.Series, base: TrainConfig) -> TrainConfig:
    """The training configuration of one result row (the base's epochs and patience kept)."""
    spec = Preprocessing.from_dict({**base.preprocessing.to_dict(), "height": int(row["height"]),
                                    "width": int(row["width"])})
    return replace(base, learning_rate=float(row["learning_rate"]), preprocessing=spec,
                   augment=float(row["augment"]), width=float(row["model_width"]))


def tune(
    index: pd.DataFrame,
    base: TrainConfig,
    *,
    budget_seconds: float,
    folds: int = 2,
    epochs: int = 3,
    space: SearchSpace | None = None,
    seed: int = 0,
    max_trials: int | None = None,
    listener: Listener | None = None,
    stop: threading.Event | None = None,
) -> TuningResult:
    """Search ``space`` around ``base`` for ``budget_seconds``; each trial trains ``epochs`` epochs per
    fold of a ``folds``-fold duplicate-safe cross-validation. ``stop`` ends the search early.

    ``listener`` receives ``{"event": "trial", **row}`` after each trial and ``{"event": "fold", ...}``
    after each fold.
    """
    import optuna

    from core.learn.training import train

    if not budget_seconds > 0:
        raise ValueError(f"The 'budget_seconds' parameter of tune must be positive. Got {budget_seconds!r} instead.")
    if not 2 <= folds <= 5:
        raise ValueError(f"The 'folds' parameter of tune must be an int in [2, 5]. Got {folds!r} instead.")
    if base.arch == "compact":
        bad = [f"{h}x{w}" for h, w in (space or SearchSpace()).sizes if h % 64 or w % 64]
        if bad:
            raise ValueError(f"the compact CNN needs image sides divisible by 64; got {', '.join(bad)}")
    space = space or SearchSpace()
    listener = listener or (lambda event: None)
    stop = stop or threading.Event()
    fold_indexes = cv_indexes(index, folds, seed)
    started = time.perf_counter()
    deadline = started + budget_seconds
    # The deadline also interrupts a running training: set the event at the deadline.
    timer = threading.Timer(budget_seconds, stop.set)
    timer.daemon = True
    timer.start()
    rows: list[dict] = []

    def objective(trial) -> float:
        config = _config_for(trial, base, space, epochs)
        began = time.perf_counter()
        scores = []
        for k, fold in enumerate(fold_indexes, start=1):
            outcome = train(fold, replace(config, seed=seed + k), stop=stop)
            if outcome.stopped:
                rows.append(_row(trial, config, "stopped", scores, time.perf_counter() - began))
                listener({"event": "trial", **rows[-1]})
                raise optuna.TrialPruned("time budget reached")
            scores.append(outcome.metrics)
            listener({"event": "fold", "trial": trial.number, "fold": k, "folds": folds,
                      "macro_f1": outcome.metrics.get("test_macro_f1")})
            trial.report(float(np.mean([s["test_macro_f1"] for s in scores])), k)
            if k < folds and trial.should_prune():
                rows.append(_row(trial, config, "pruned", scores, time.perf_counter() - began))
                listener({"event": "trial", **rows[-1]})
                raise optuna.TrialPruned("worse than the median after this fold")
        rows.append(_row(trial, config, "complete", scores, time.perf_counter() - began))
        listener({"event": "trial", **rows[-1]})
        return rows[-1]["macro_f1"]

    def halt(study, trial) -> None:
        if stop.is_set() or time.perf_counter() >= deadline:
            study.stop()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2))
    try:
        study.optimize(objective, n_trials=max_trials, timeout=budget_seconds, callbacks=[halt],
                       catch=())
    finally:
        timer.cancel()
    table = rank_table(rows)
    complete = table[table["state"] == "complete"]
    best = config_from_row(complete.iloc[0], replace(base, epochs=base.epochs)) if len(complete) else None
    notes = [] if best is not None else [
        "no trial finished within the budget; give it more seconds or search smaller images"]
    return TuningResult(table, best, time.perf_counter() - started, float(budget_seconds), folds, notes)
