"""Training and duplicate-safe cross-validation of the signal models.

The CNN learns from digitised pages and synthetic recordings together: each epoch takes every real
training page once plus a fresh draw from a pool of synthetic recordings, all re-augmented
(``core.learn.signal_data.augment``). Real pages are weighted by class (MI is rare); synthetic ones
count ``synthetic_weight`` each, since their classes are textbook versions of the real labels.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.classes import ECG_CLASSES
from core.learn.signal_data import augment

Arrays = Mapping[str, np.ndarray]
FitPredict = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SignalRecipe:
    """How the signal CNN is trained (all of it recorded in the bundle)."""

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 2e-3
    synthetic_per_epoch: int = 200
    synthetic_weight: float = 0.5
    augment: float = 1.0
    filters: tuple[int, ...] = (12, 16, 24, 32)
    dense: int = 64
    dropout: float = 0.3
    rhythm: bool = True
    seed: int = 0

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {**asdict(self), "filters": list(self.filters)}


def take(arrays: Arrays, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The given rows of every array."""
    return {k: v[rows] for k, v in arrays.items()}


def concat(*parts: Arrays) -> dict[str, np.ndarray]:
    """Arrays of several batches one after the other."""
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def balanced_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-sample weights so that every class carries the same total weight (mean weight 1)."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    per_class = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
    return per_class[labels]


def train_signalnet(x: Arrays, y: np.ndarray, recipe: SignalRecipe, *, synthetic: tuple[Arrays, np.ndarray] | None = None,
                    n_classes: int = len(ECG_CLASSES), listener: Callable[[dict], None] | None = None,
                    validation: tuple[Arrays, np.ndarray] | None = None, stop: threading.Event | None = None):
    """A trained :func:`core.learn.signal_models.build_signalnet` on page tensors ``x``/labels ``y``
    plus draws from the ``synthetic`` pool (tensors, labels).

    ``listener`` gets the image models' events (``core.learn.callbacks.ProgressCallback``: batches,
    epochs with loss, accuracy and, given ``validation`` pages, their val_ figures). A set ``stop``
    ends training after the current batch. With ``validation`` the weights of the epoch with the
    lowest validation loss are kept, as for the image models; without, those of the last epoch.
    """
    import keras

    from core.learn.callbacks import ProgressCallback
    from core.learn.signal_models import build_signalnet
    from core.learn.training import dropping_all_reduce_gradients

    keras.utils.set_random_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    inputs = ("leads", "rhythm") if recipe.rhythm else ("leads",)
    model = build_signalnet(n_classes, filters=recipe.filters, dense=recipe.dense, dropout=recipe.dropout,
                            rhythm=recipe.rhythm)
    batches = int(np.ceil((len(y) + (recipe.synthetic_per_epoch if synthetic else 0)) / recipe.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, max(1, recipe.epochs * batches))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    stop = stop or threading.Event()
    listener = listener or (lambda event: None)
    epoch_started = time.perf_counter()

    def report(event: dict) -> None:
        # An epoch's time includes augmenting its pages in numpy (~8 s for 800 pages on 2 cores, more
        # than the fit itself), or the page's epoch time and ETA would be a fraction of the truth.
        listener({**event, "seconds": time.perf_counter() - epoch_started} if event["event"] == "epoch" else event)

    progress = ProgressCallback(report, stop, batches, "val_loss" if validation is not None else "loss")
    val = ({k: validation[0][k] for k in inputs}, validation[1]) if validation is not None else None
    real_weight = balanced_weights(y, n_classes)
    with dropping_all_reduce_gradients():
        for epoch in range(recipe.epochs):
            epoch_started = time.perf_counter()
            batch, labels, weights = dict(x), y, real_weight
            if synthetic is not None and recipe.synthetic_per_epoch:
                pool, pool_y = synthetic
                rows = rng.choice(len(pool_y), min(recipe.synthetic_per_epoch, len(pool_y)), replace=False)
                batch = concat(batch, take(pool, rows))
                labels = np.concatenate([labels, pool_y[rows]])
                weights = np.concatenate([weights, np.full(len(rows), recipe.synthetic_weight)])
            batch = augment(batch, rng, recipe.augment) if recipe.augment else batch
            # One epoch per fit: each epoch is a fresh augmentation (and synthetic draw) of the pages.
            model.fit({k: batch[k] for k in inputs}, labels, sample_weight=weights, validation_data=val,
                      initial_epoch=epoch, epochs=epoch + 1, batch_size=recipe.batch_size, shuffle=True,
                      callbacks=[progress], verbose=0)
            if progress.stopped:
                break
    if validation is not None and progress.best_weights is not None:
        model.set_weights(progress.best_weights)
    return model


def predict_signalnet(model, x: Arrays, batch_size: int = 64) -> np.ndarray:
    """Class probabilities (before any temperature) of page tensors."""
    names = [t.name for t in model.inputs]
    return np.asarray(model.predict({k: x[k] for k in names}, batch_size=batch_size, verbose=0))


def out_of_fold(pages: pd.DataFrame, fit_predict: FitPredict, *, n_splits: int = 5, seed: int = 0,
                classes: Sequence[str] = ECG_CLASSES, folds: Sequence[int] | None = None) -> pd.DataFrame:
    """Out-of-fold probabilities of a model for every row of ``pages`` (one per duplicate group), on
    the same duplicate-safe folds as the image models (``core.data.group_kfold``).

    ``fit_predict(train_positions, test_positions)`` trains on the first and returns probabilities
    (rows × classes) for the second. The table has ``path``, ``sha1``, ``true``, ``predicted``,
    ``confidence``, one ``raw p(class)`` column per class, ``fold`` and ``seconds`` (as
    ``core.learn.crossval.summarise`` and ``out_of_fold_temperature`` expect).
    """
    from core.data import group_kfold

    tables = []
    for fold, (train_pos, test_pos) in enumerate(group_kfold(pages, n_splits=n_splits, seed=seed)):
        if folds is not None and fold not in folds:
            continue
        start = time.time()
        probs = fit_predict(train_pos, test_pos)
        tables.append(prediction_table(pages.iloc[test_pos], probs, classes)
                      .assign(fold=fold, seconds=round(time.time() - start, 1)))
    return pd.concat(tables, ignore_index=True)


def prediction_table(pages: pd.DataFrame, probs: np.ndarray, classes: Sequence[str] = ECG_CLASSES) -> pd.DataFrame:
    """Per-page predictions: ``path``, ``sha1``, ``true``, ``predicted``, ``confidence``, ``raw p(class)``."""
    from core.learn.training import raw_probability_column

    table = pd.DataFrame({"path": pages["path"].to_numpy(), "sha1": pages["sha1"].to_numpy(),
                          "true": pages["class"].to_numpy(),
                          "predicted": [classes[i] for i in probs.argmax(1)], "confidence": probs.max(1)})
    for i, c in enumerate(classes):
        table[raw_probability_column(c)] = probs[:, i]
    return table


def probabilities(table: pd.DataFrame, classes: Sequence[str] = ECG_CLASSES) -> np.ndarray:
    """The ``raw p(class)`` columns of a prediction table as an array."""
    from core.learn.training import raw_probability_column

    return table[[raw_probability_column(c) for c in classes]].to_numpy(dtype=float)
