"""Held-out portion, duplicate-safe cross-validation and bootstrap summaries (core.learn.crossval)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import folder_source, prepare_dataset
from core.ecg import Preprocessing
from core.learn import (TrainConfig, cross_validate, distinct_pages, format_summary, holdout_split,
                        out_of_fold_temperature, summarise, training_index)


def _pages(n_groups: int = 40, copies: int = 2) -> pd.DataFrame:
    classes = ["MI", "Normal"]
    rows = [{"path": f"{g}_{c}.jpg", "class": classes[g % 2], "sha1": f"s{g}", "dup_group": g}
            for g in range(n_groups) for c in range(copies)]
    return pd.DataFrame(rows)


def test_distinct_pages_keeps_one_row_per_group() -> None:
    pages = distinct_pages(_pages())
    assert len(pages) == 40 and pages["dup_group"].is_unique


def test_holdout_takes_whole_groups_stratified_and_repeats() -> None:
    index = _pages()
    dev, held = holdout_split(index, fraction=0.2, seed=5)
    assert set(dev["dup_group"]).isdisjoint(held["dup_group"])
    assert len(dev) + len(held) == len(index)
    assert held.drop_duplicates("dup_group")["class"].value_counts().to_dict() == {"MI": 4, "Normal": 4}
    again, _ = holdout_split(index, fraction=0.2, seed=5)
    assert dev["path"].tolist() == again["path"].tolist()


def test_training_index_puts_test_and_extras_on_their_sides() -> None:
    index = distinct_pages(_pages())
    extras = pd.DataFrame({"path": ["x.jpg"], "class": ["Non-ECG"], "sha1": ["x"], "dup_group": [999]})
    out = training_index(index.iloc[:30], test=index.iloc[30:], extras=extras, val_fraction=0.2)
    assert out["split"].value_counts().to_dict() == {"train": 25, "val": 6, "test": 10}
    assert out.loc[out["path"] == "x.jpg", "split"].item() == "train"


@pytest.mark.parametrize(("sure", "expect_above_one"), [(0.99, True), (0.55, False)])
def test_out_of_fold_temperature_undoes_over_and_under_confidence(sure: float, expect_above_one: bool) -> None:
    from core.learn import raw_probability_column

    # Two classes, right 80 % of the time: claiming 0.99 is over-confident, 0.55 under-confident.
    true = np.array(["MI", "Normal"] * 50)
    predicted = np.where(np.arange(100) % 5 == 0, np.where(true == "MI", "Normal", "MI"), true)
    table = pd.DataFrame({"true": true,
                          raw_probability_column("MI"): np.where(predicted == "MI", sure, 1 - sure),
                          raw_probability_column("Normal"): np.where(predicted == "MI", 1 - sure, sure)})
    temperature = out_of_fold_temperature(table, ["MI", "Normal"])
    assert (temperature > 1.5) if expect_above_one else (temperature < 0.7)
    from core.learn import apply_temperature
    calibrated = apply_temperature(table[[raw_probability_column("MI"), raw_probability_column("Normal")]]
                                   .to_numpy(), temperature).max(axis=1)
    assert np.allclose(calibrated, 0.8, atol=0.01)  # exactly the accuracy


def test_summary_counts_non_ecg_predictions_as_misses_and_brackets_the_point() -> None:
    true = np.array(["MI"] * 10 + ["Normal"] * 10)
    predicted = true.copy()
    predicted[:2] = "Non-ECG"
    summary = summarise(pd.DataFrame({"true": true, "predicted": predicted}), classes=("MI", "Normal"),
                        n_boot=200)
    assert summary["recall[MI]"]["value"] == 0.8
    assert summary["recall[Normal]"]["value"] == 1.0
    low, high = summary["macro_f1"]["ci95"]
    assert low <= summary["macro_f1"]["value"] <= high
    assert "macro_f1" in format_summary(summary, "test")


def test_cross_validate_predicts_every_page_once(tiny_dataset: Path) -> None:
    pages = distinct_pages(prepare_dataset(folder_source(tiny_dataset)).index)
    config = TrainConfig(epochs=1, batch_size=8, preprocessing=Preprocessing(64, 128), patience=0)
    predictions = cross_validate(pages, config, n_splits=3, val_fraction=0.2)
    assert sorted(predictions["path"]) == sorted(pages["path"])
    assert set(predictions["fold"]) == {0, 1, 2}

    # The probabilities before scaling come along, so a final model can be calibrated out of fold.
    temperature = out_of_fold_temperature(predictions, sorted(pages["class"].unique()))
    assert 0.05 <= temperature <= 20

    # One fold alone is that same fold of the full run (paired comparisons), handed over when done.
    handed: list[pd.DataFrame] = []
    alone = cross_validate(pages, config, n_splits=3, val_fraction=0.2, folds=[1], on_fold=handed.append)
    assert len(handed) == 1 and handed[0].equals(alone)
    same = predictions[predictions["fold"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.drop(columns="seconds"), same.drop(columns="seconds"))


@pytest.mark.parametrize("shape", [(320, 512, 1), (384, 640, 1)])
def test_leadnet_has_a_page_level_gradcam_map_and_rejects_odd_sizes(shape) -> None:
    from core.learn import build_model, gradcam_layer

    model = build_model("leadnet", shape, 5)
    assert gradcam_layer(model) == "last_conv"
    conv = model.get_layer("last_conv").output
    assert (conv.shape[1] * 16, conv.shape[2] * 16) == shape[:2]
    with pytest.raises(ValueError, match="divisible"):
        build_model("leadnet", (320, 500, 1), 5)
