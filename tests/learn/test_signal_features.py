"""NeuroKit2 features of page tensors and the feature model (core.learn.features)."""
from __future__ import annotations

import numpy as np
import pytest

from core.classes import ABNORMAL, HISTORY_OF_MI, MI, NORMAL
from core.learn.features import build_feature_model, feature_table, page_features
from core.learn.signal_data import layout_leads, page_tensor
from core.synth.waveforms import LEADS, TERRITORIES, synthesize_ecg


@pytest.mark.parametrize("layout", ["3x4+1", "12x1"])
def test_clean_normal_gives_finite_features_and_its_rate(layout: str) -> None:
    ecg = synthesize_ecg(NORMAL, np.random.default_rng(2))
    features = page_features(page_tensor(layout_leads(ecg, layout)))
    per_lead = {k: v for k, v in features.items() if ":" in k}
    assert all(np.isfinite(v) for v in per_lead.values()), [k for k, v in per_lead.items() if not np.isfinite(v)]
    assert abs(features["rate_bpm"] - ecg.heart_rate) <= 5
    assert features["rr_cv"] < 0.08                                    # sinus: regular


def test_st_elevation_shows_in_its_territory() -> None:
    rng = np.random.default_rng(8)
    ecg = synthesize_ecg(MI, rng)
    features = page_features(page_tensor(layout_leads(ecg, "3x4+1")))
    inside = [features[f"{n}:st60_mv"] for n in ecg.finding_leads]
    outside = [features[f"{n}:st60_mv"] for n in LEADS if n not in ecg.finding_leads]
    assert min(inside) > 0.1 and np.median(inside) > max(np.median(outside), 0) + 0.15
    others = [t for t in TERRITORIES if t != ecg.territory]
    assert features[f"{ecg.territory}:st_max"] > max(features[f"{t}:st_max"] for t in others)


def test_feature_model_separates_synthetic_classes() -> None:
    rng = np.random.default_rng(3)
    classes = (MI, HISTORY_OF_MI, ABNORMAL, NORMAL)
    tensors, y = [], []
    for label, cls in enumerate(classes):
        for _ in range(6):
            tensors.append(page_tensor(layout_leads(synthesize_ecg(cls, rng), "3x4+1")))
            y.append(label)
    table, y = feature_table(tensors), np.array(y)
    train = np.arange(len(y)) % 2 == 0
    model = build_feature_model("logistic").fit(table[train], y[train])
    assert (model.predict(table[~train]) == y[~train]).mean() >= 0.5   # chance is 0.25
