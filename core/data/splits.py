"""Train/validation/test splits and cross-validation folds that never cut a duplicate group.

The unit of splitting is ``dup_group`` (see ``core.data.duplicates``): all exact and near copies of a
page land on the same side, so the test score measures pages the model has not seen. Splits are
stratified by each group's majority class and seeded.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

from core.data.duplicates import duplicate_groups

SPLITS = ("train", "val", "test")
SPLIT_METHODS = ("duplicate-safe", "random")


class LeakageError(AssertionError):
    """A duplicate group appears on two sides of a split."""


def _with_groups(index: pd.DataFrame) -> pd.DataFrame:
    return index.reset_index(drop=True) if "dup_group" in index else duplicate_groups(index)


def _group_labels(index: pd.DataFrame) -> pd.Series:
    """Majority class of each dup_group (ties broken by class name, so it is deterministic)."""
    counts = index.groupby(["dup_group", "class"]).size().rename("n").reset_index()
    counts = counts.sort_values(["dup_group", "n", "class"], ascending=[True, False, True])
    return counts.drop_duplicates("dup_group").set_index("dup_group")["class"]


def _assign_groups(index: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int) -> pd.Series:
    """Split name per row: whole groups, shuffled within each majority class, cut at the fractions."""
    sizes = index.groupby("dup_group").size()
    labels = _group_labels(index)
    rng = np.random.default_rng(seed)
    split_of_group = {}
    for _, groups in labels.groupby(labels, sort=True):
        order = rng.permutation(groups.index.to_numpy())
        counts = sizes.loc[order].to_numpy()
        # A group goes where the middle of its rows falls on the stratum's 0..1 line.
        middle = (np.cumsum(counts) - counts / 2) / counts.sum()
        names = np.where(middle < test_fraction, "test",
                         np.where(middle < test_fraction + val_fraction, "val", "train"))
        split_of_group.update(zip(order, names))
    return index["dup_group"].map(split_of_group)


def _assign_files(index: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int) -> pd.Series:
    """Split name per row, cutting the raw FILES at random within each class: the wrong way, kept for
    the leakage lesson, because exact copies of one page can land in train and in test."""
    rng = np.random.default_rng(seed)
    split = pd.Series("train", index=index.index, dtype=object)
    for _, rows in index.groupby("class", sort=True):
        order = rng.permutation(rows.index.to_numpy())
        n_test, n_val = round(len(order) * test_fraction), round(len(order) * val_fraction)
        split.loc[order[:n_test]] = "test"
        split.loc[order[n_test:n_test + n_val]] = "val"
    return split


def leaked_groups(index: pd.DataFrame) -> pd.DataFrame:
    """Duplicate groups with files in both train and test: one row per group with its class, the
    number of train and test files and one example path of each side."""
    both = index[index["split"].isin(["train", "test"])]
    sides = both.groupby("dup_group")["split"].nunique()
    rows = both[both["dup_group"].isin(sides[sides > 1].index)]
    columns = ["dup_group", "class", "train_files", "test_files", "train_example", "test_example"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    table = rows.groupby("dup_group").agg(
        **{"class": ("class", "first"),
           "train_files": ("split", lambda s: int((s == "train").sum())),
           "test_files": ("split", lambda s: int((s == "test").sum()))})
    example = rows.groupby(["dup_group", "split"])["path"].first().unstack()
    table["train_example"], table["test_example"] = example["train"], example["test"]
    return table.reset_index()[columns].sort_values("test_files", ascending=False, kind="stable").reset_index(drop=True)


def _leaking(index: pd.DataFrame) -> pd.Series:
    """Rows whose dup_group also appears in a later split (train < val < test)."""
    rank = index["split"].map({name: i for i, name in enumerate(SPLITS)})
    return rank < rank.groupby(index["dup_group"]).transform("max")


def split_dataset(
    index: pd.DataFrame,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    drop_leaking: bool = False,
    method: str = "duplicate-safe",
) -> pd.DataFrame:
    """The index with a ``split`` column (train/val/test) and a boolean ``leaks`` column.

    Without given splits, whole duplicate groups are assigned, stratified by class, so nothing
    leaks. When the dataset brings its own splits (``given_split``), they are kept as given;
    rows whose duplicates sit in a later split are marked ``leaks`` and, with
    ``drop_leaking=True``, removed. Rows without a given split in such a dataset go to train.

    ``method="random"`` is the wrong way, on purpose, for the leakage lesson: the raw files are
    split at random within each class (given splits are ignored), so copies of one page leak
    between train and test; ``leaks`` marks them and no warning is raised.
    """
    if method not in SPLIT_METHODS:
        raise ValueError(f"The 'method' parameter of split_dataset must be one of {SPLIT_METHODS}. Got {method!r} instead.")
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"The '{name}' parameter of split_dataset must be in [0, 1). Got {value!r} instead.")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1 to leave training data. "
            f"Got {val_fraction} + {test_fraction} = {val_fraction + test_fraction}."
        )
    out = _with_groups(index)
    given = out["given_split"].fillna("").astype(str) if "given_split" in out else pd.Series("", index=out.index)
    if method == "random":
        out["split"] = _assign_files(out, val_fraction, test_fraction, seed)
        out["leaks"] = _leaking(out)
        return out
    if (given != "").any():
        out["split"] = given.replace("", "train")
    else:
        out["split"] = _assign_groups(out, val_fraction, test_fraction, seed)
    out["leaks"] = _leaking(out)
    if drop_leaking:
        return out[~out["leaks"]].reset_index(drop=True)
    if out["leaks"].any():
        warnings.warn(
            f"{int(out['leaks'].sum())} rows have a duplicate in a later given split (e.g. a training page "
            "copied into test), which inflates scores; pass drop_leaking=True to remove them.",
            UserWarning,
            stacklevel=2,
        )
    return out


def group_kfold(index: pd.DataFrame, n_splits: int = 5, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (train_positions, test_positions) of stratified folds that keep dup_groups whole."""
    # Imported here: scikit-learn costs ~1 s, and pages that never split should not pay it.
    from sklearn.model_selection import StratifiedGroupKFold

    grouped = _with_groups(index)
    n_groups = grouped["dup_group"].nunique()
    if n_splits > n_groups:
        raise ValueError(f"Cannot have number of splits n_splits={n_splits} greater than the number of "
                         f"duplicate groups: {n_groups}.")
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    yield from folds.split(grouped, grouped["class"], groups=grouped["dup_group"])


def assert_no_leakage(index: pd.DataFrame, *, column: str = "split") -> None:
    """Raise LeakageError listing the dup_groups that appear in more than one ``column`` value."""
    spread = index.groupby("dup_group")[column].nunique()
    bad = spread[spread > 1].index
    if len(bad):
        rows = index[index["dup_group"].isin(bad)].sort_values(["dup_group", column])
        shown = "; ".join(
            f"group {group}: " + ", ".join(f"{split}:{path}" for split, path in zip(g[column], g["path"]))
            for group, g in list(rows.groupby("dup_group"))[:5]
        )
        raise LeakageError(f"{len(bad)} duplicate groups span several '{column}' values: {shown}")
