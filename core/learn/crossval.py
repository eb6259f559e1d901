"""Honest numbers for a training recipe: a held-out portion set aside once, duplicate-safe k-fold
cross-validation on the rest, and bootstrap intervals over pages.

Every function here works on whole duplicate groups (``dup_group``, see ``core.data.duplicates``):
copies of a page are one page, so they never sit on both sides of a split and never count twice
in a score. The recipe itself is always :func:`core.learn.training.train`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from core.classes import ECG_CLASSES
from core.data import group_kfold, split_dataset
from core.learn.training import Listener, TrainConfig, train


def distinct_pages(index: pd.DataFrame) -> pd.DataFrame:
    """One row per duplicate group (its first file), so every page counts once."""
    return index.drop_duplicates("dup_group").reset_index(drop=True)


def holdout_split(index: pd.DataFrame, *, fraction: float = 0.2, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(development, holdout)``: whole duplicate groups, stratified by class, seeded.

    The holdout is meant to be scored once, at the end; tune only on the development part.
    """
    marked = split_dataset(index, val_fraction=0.0, test_fraction=fraction, seed=seed)
    held = marked["split"] == "test"
    clean = marked.drop(columns=["split", "leaks"])
    return clean[~held].reset_index(drop=True), clean[held].reset_index(drop=True)


def training_index(pages: pd.DataFrame, *, test: pd.DataFrame | None = None, extras: pd.DataFrame | None = None,
                   val_fraction: float = 0.15, seed: int = 0) -> pd.DataFrame:
    """The index :func:`core.learn.training.train` takes: ``pages`` split into train/val by duplicate
    group, ``test`` rows as the test split and ``extras`` (e.g. generated Non-ECG images) in train."""
    parts = [split_dataset(pages, val_fraction=val_fraction, test_fraction=0.0, seed=seed)]
    if test is not None:
        parts.append(test.assign(split="test"))
    if extras is not None:
        parts.append(extras.assign(split="train"))
    return pd.concat(parts, ignore_index=True).drop(columns=["leaks"], errors="ignore")


def cross_validate(pages: pd.DataFrame, config: TrainConfig, *, extras: pd.DataFrame | None = None,
                   n_splits: int = 5, seed: int = 0, val_fraction: float = 0.15,
                   folds: Sequence[int] | None = None, listener: Listener | None = None,
                   on_fold: Callable[[pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """Out-of-fold predictions of ``config`` for every row of ``pages`` (one per duplicate group).

    Folds come from :func:`core.data.splits.group_kfold`; inside each fold a ``val_fraction`` of the
    training groups is kept for best-weights selection and temperature fitting. ``folds`` runs only
    those fold numbers (the same folds and inner splits as a full run, so recipes can be compared
    fold by fold), and ``on_fold`` receives each fold's table as soon as it is done (to keep it
    should a later fold be interrupted). Returns the per-page table of
    :func:`core.learn.training.train` (``path``, ``true``, ``predicted``, ``confidence``) plus ``fold``
    and ``seconds``.
    """
    listener = listener or (lambda event: None)
    tables = []
    for fold, (train_pos, test_pos) in enumerate(group_kfold(pages, n_splits=n_splits, seed=seed)):
        if folds is not None and fold not in folds:
            continue
        listener({"event": "fold", "fold": fold + 1, "folds": n_splits})
        index = training_index(pages.iloc[train_pos], test=pages.iloc[test_pos], extras=extras,
                               val_fraction=val_fraction, seed=seed + fold)
        outcome = train(index, config, listener=listener)
        table = outcome.test_predictions.assign(fold=fold, seconds=round(outcome.seconds, 1))
        if on_fold is not None:
            on_fold(table)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def out_of_fold_temperature(predictions: pd.DataFrame, classes: Sequence[str]) -> float:
    """The temperature that best calibrates ``config``'s models, fitted on the pooled out-of-fold
    probabilities (before scaling) of :func:`cross_validate`.

    Each fold's own validation split also picked that fold's best epoch, which makes it look more
    accurate than the model is; a temperature fitted there sharpens the probabilities too much. The
    out-of-fold pages were never used to select anything, and there are k times as many of them.
    """
    from core.learn.calibration import fit_temperature
    from core.learn.training import raw_probability_column

    probs = predictions[[raw_probability_column(c) for c in classes]].to_numpy(dtype=float)
    known = predictions["true"].isin(classes).to_numpy()
    labels = predictions.loc[known, "true"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return fit_temperature(probs[known], labels)


def _scores(true: np.ndarray, predicted: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Macro-F1 over ``classes`` followed by each class's recall (predictions outside ``classes``,
    e.g. Non-ECG, count as misses)."""
    from sklearn.metrics import f1_score, recall_score

    labels = list(classes)
    f1 = f1_score(true, predicted, labels=labels, average="macro", zero_division=0)
    recall = recall_score(true, predicted, labels=labels, average=None, zero_division=0)
    return np.concatenate([[f1], recall])


def summarise(predictions: pd.DataFrame, *, classes: Sequence[str] = ECG_CLASSES, n_boot: int = 2000,
              seed: int = 0) -> dict:
    """Macro-F1 over ``classes`` and per-class recall, each with a 95 % percentile bootstrap
    interval (pages resampled with replacement, stratified by true class so every resample holds
    every class)."""
    true, predicted = predictions["true"].to_numpy(), predictions["predicted"].to_numpy()
    point = _scores(true, predicted, classes)
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(true == c) for c in classes if (true == c).any()]
    draws = np.array([
        _scores(true[rows], predicted[rows], classes)
        for rows in (np.concatenate([rng.choice(s, len(s)) for s in strata]) for _ in range(n_boot))
    ])
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    names = ["macro_f1", *(f"recall[{c}]" for c in classes)]
    return {
        "pages": int(len(true)),
        "pages_per_class": {c: int((true == c).sum()) for c in classes},
        **{name: {"value": round(float(v), 3), "ci95": [round(float(lo), 3), round(float(hi), 3)]}
           for name, v, lo, hi in zip(names, point, low, high)},
    }


def format_summary(summary: dict, title: str) -> str:
    """The summary as a few aligned lines of text."""
    lines = [f"{title}: {summary['pages']} distinct pages {summary['pages_per_class']}"]
    for name, value in summary.items():
        if isinstance(value, dict) and "ci95" in value:
            low, high = value["ci95"]
            lines.append(f"  {name:<32} {value['value']:.3f}  (95% CI {low:.3f}–{high:.3f})")
    return "\n".join(lines)
