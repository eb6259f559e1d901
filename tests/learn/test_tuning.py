"""Hyper-parameter search: a tiny budget on the tiny dataset returns a ranked table and a best
configuration; folds never split a duplicate group and never touch the test split."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.ecg import Preprocessing
from core.learn import TrainConfig

TINY_SPACE_SIZES = ((64, 128),)


@pytest.fixture(scope="module")
def tiny_index(tiny_dataset: Path) -> pd.DataFrame:
    from core.data import folder_source, prepare_dataset

    return prepare_dataset(folder_source(tiny_dataset), seed=0).index


def test_cv_folds_are_duplicate_safe_and_exclude_test(tiny_index: pd.DataFrame) -> None:
    from core.learn import cv_indexes

    folds = cv_indexes(tiny_index, 2, seed=0)
    test_paths = set(tiny_index.loc[tiny_index["split"] == "test", "path"])
    held_out = []
    for fold in folds:
        assert not test_paths & set(fold["path"])
        assert fold.groupby("dup_group")["split"].nunique().max() == 1   # no group on both sides
        held_out += list(fold.loc[fold["split"] == "test", "path"])
    assert sorted(held_out) == sorted(set(tiny_index["path"]) - test_paths)  # each row held out once


def test_tiny_budget_search_returns_a_ranked_table(tiny_index: pd.DataFrame) -> None:
    from core.learn import COLUMNS, SearchSpace, tune

    base = TrainConfig(batch_size=8, preprocessing=Preprocessing(64, 128), epochs=7)
    events = []
    result = tune(tiny_index, base, budget_seconds=30, folds=2, epochs=1, max_trials=2,
                  space=SearchSpace(sizes=TINY_SPACE_SIZES, widths=(0.5, 1.0)), listener=events.append)
    table = result.table
    assert list(table.columns) == list(COLUMNS)
    complete = table[table["state"] == "complete"]
    assert len(complete) >= 1, table
    assert list(complete["rank"]) == list(range(1, len(complete) + 1))
    assert complete["macro_f1"].is_monotonic_decreasing
    assert table["learning_rate"].between(3e-4, 1e-2).all()
    assert result.best is not None
    assert result.best.learning_rate == complete.iloc[0]["learning_rate"]
    assert result.best.width == complete.iloc[0]["model_width"]
    assert result.best.epochs == 7          # the search's short epochs are not the training plan
    assert any(e["event"] == "trial" for e in events)


def test_rank_table_puts_unfinished_trials_last() -> None:
    from core.learn import rank_table

    rows = [dict(trial=0, state="stopped", macro_f1=0.9, accuracy=0.9, learning_rate=1e-3, height=64,
                 width=128, augment=0.0, model_width=1.0, folds=1, seconds=1.0),
            dict(trial=1, state="complete", macro_f1=0.5, accuracy=0.6, learning_rate=1e-3, height=64,
                 width=128, augment=0.0, model_width=1.0, folds=2, seconds=2.0),
            dict(trial=2, state="complete", macro_f1=0.7, accuracy=0.6, learning_rate=1e-3, height=64,
                 width=128, augment=0.0, model_width=1.0, folds=2, seconds=2.0)]
    table = rank_table(rows)
    assert list(table["trial"]) == [2, 1, 0]
    assert table["rank"].tolist()[:2] == [1, 2] and pd.isna(table["rank"].iloc[2])


def test_bad_settings_are_clear_errors(tiny_index: pd.DataFrame) -> None:
    from core.learn import SearchSpace, tune

    with pytest.raises(ValueError, match="budget_seconds"):
        tune(tiny_index, TrainConfig(), budget_seconds=0)
    with pytest.raises(ValueError, match="divisible by 64"):
        tune(tiny_index, TrainConfig(), budget_seconds=5, space=SearchSpace(sizes=((100, 128),)))


def test_cli_tune_json(tiny_dataset: Path, capsys) -> None:
    from core.cli import main

    assert main(["tune", "--data", str(tiny_dataset), "--budget", "1", "--epochs", "1", "--json"]) == 0
    done = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert done["event"] == "done" and isinstance(done["trials"], list)
    assert main(["tune", "--data", str(tiny_dataset / "nope"), "--budget", "5"]) == 2
