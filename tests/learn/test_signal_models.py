"""The signal CNN (core.learn.signal_models), its training and duplicate-safe CV (signal_training),
and signal bundles (core.bundles)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.classes import MI, NORMAL
from core.learn.signal_data import SIGNAL_SPEC, synthetic_batch
from core.learn.signal_training import SignalRecipe, out_of_fold, predict_signalnet, train_signalnet


@pytest.fixture(scope="module")
def trained():
    """A tiny CNN trained a few epochs on synthetic MI vs Normal recordings (3x4+1, 6x2 and 12x1)."""
    rng = np.random.default_rng(1)
    layouts = ("3x4+1", "6x2", "12x1")
    train_x, train_y = synthetic_batch((MI, NORMAL), 48, rng, layouts)
    test_x, test_y = synthetic_batch((MI, NORMAL), 16, rng, layouts)
    recipe = SignalRecipe(epochs=6, batch_size=16, learning_rate=3e-3, filters=(8, 8, 12, 12), dense=16,
                          dropout=0.1, augment=0.5, rhythm=False)
    model = train_signalnet(train_x, train_y, recipe, n_classes=2)
    return model, test_x, test_y


def test_cnn_is_functional_with_a_named_per_lead_last_conv(trained) -> None:
    import keras

    from core.learn.signal_models import RHYTHM_LAST_CONV, build_signalnet

    model, _, _ = trained
    assert isinstance(model, keras.Model) and not isinstance(model, keras.Sequential)
    assert model.get_layer("last_conv").output.shape[1] == 12                 # (leads, time, filters)
    full = build_signalnet(4)
    assert {t.name for t in full.inputs} == {"leads", "rhythm"}
    assert full.get_layer(RHYTHM_LAST_CONV).output.shape[-1] == 32
    assert full.count_params() < 300_000


def test_cnn_learns_st_elevation_from_synthetic_signals(trained) -> None:
    model, test_x, test_y = trained
    accuracy = float((predict_signalnet(model, test_x).argmax(1) == test_y).mean())
    assert accuracy >= 0.75, accuracy                                          # chance is 0.5


def test_out_of_fold_keeps_duplicate_groups_together() -> None:
    pages = pd.DataFrame([{"path": f"{g}_{c}.jpg", "sha1": f"s{g}", "dup_group": g,
                           "class": (MI, NORMAL)[g % 2]} for g in range(30) for c in range(1 + g % 3)])
    seen = []

    def fit_predict(train_pos: np.ndarray, test_pos: np.ndarray) -> np.ndarray:
        train_groups, test_groups = set(pages.iloc[train_pos]["dup_group"]), set(pages.iloc[test_pos]["dup_group"])
        assert train_groups.isdisjoint(test_groups)
        seen.extend(test_pos)
        return np.tile([0.7, 0.1, 0.1, 0.1], (len(test_pos), 1))

    table = out_of_fold(pages, fit_predict)
    assert sorted(seen) == list(range(len(pages))) and set(table["fold"]) == set(range(5))
    assert (table["predicted"] == MI).all() and table["raw p(Myocardial Infarction)"].eq(0.7).all()


def test_signal_bundle_round_trip(trained, models_root) -> None:
    from core.bundles import BundleError, load_bundle, save_bundle
    from core.learn.signal_models import build_signalnet

    model = build_signalnet(4)
    meta = {"classes": ["a", "b", "c", "d"], "input_size": [12, 1250], "input": "signals",
            "signal_spec": SIGNAL_SPEC}
    path = save_bundle(model, meta, "signals")
    bundle = load_bundle(path)
    assert bundle.metadata.extra["input"] == "signals"
    assert {t.name for t in bundle.model.inputs} == {"leads", "rhythm"}
    with pytest.raises(BundleError, match="signal_spec"):
        save_bundle(trained[0], meta, "wrong")                                # no rhythm input
