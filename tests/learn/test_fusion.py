"""The measurement model as plain numbers (core.learn.feature_model) and its vote beside the image
network (core.learn.fusion)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.classes import ECG_CLASSES, NON_ECG
from core.learn.feature_model import FeatureModelError, LinearFeatureModel
from core.learn.features import build_feature_model, describe_feature
from core.learn.fusion import METADATA_KEY, bundle_feature_model, fused_probabilities

FEATURES = ["rate_bpm", "pr_s", "V2:st60_mv", "inferior:st_max"]


@pytest.fixture(scope="module")
def fitted():
    """A logistic pipeline on measurements with gaps (the PR interval is often not measurable)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    x = rng.normal(size=(120, 4)) + y[:, None] * np.array([0.5, 0.0, 0.8, -0.6])
    x[rng.random(120) < 0.3, 1] = np.nan
    table = pd.DataFrame(x, columns=FEATURES)
    return build_feature_model("logistic").fit(table, y), table


def test_the_numbers_give_scikit_learns_probabilities_also_after_json(fitted) -> None:
    pipeline, table = fitted
    model = LinearFeatureModel.from_pipeline(pipeline, FEATURES, ECG_CLASSES)
    expected = pipeline.predict_proba(table)
    assert len(model.flagged) == 1                     # only the PR interval had gaps
    np.testing.assert_allclose(model.probabilities(table), expected, atol=1e-9)
    again = LinearFeatureModel.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_allclose(again.probabilities(table), expected, atol=1e-5)


def test_a_missing_column_counts_as_not_measured(fitted) -> None:
    pipeline, table = fitted
    model = LinearFeatureModel.from_pipeline(pipeline, FEATURES, ECG_CLASSES)
    without = table.drop(columns=["pr_s"])
    np.testing.assert_allclose(model.probabilities(without), pipeline.predict_proba(table.assign(pr_s=np.nan)),
                               atol=1e-9)


def test_it_votes_only_on_readable_pages_of_the_layouts_it_was_fitted_on(fitted) -> None:
    model = LinearFeatureModel.from_pipeline(fitted[0], FEATURES, ECG_CLASSES, layouts=["3x4+1"])
    again = LinearFeatureModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.measures(True, "3x4+1")
    assert not again.measures(True, "6x2") and not again.measures(False, "3x4+1")
    assert LinearFeatureModel.from_pipeline(fitted[0], FEATURES, ECG_CLASSES).measures(True, "12x1")


def test_temperature_softens_the_vote(fitted) -> None:
    pipeline, table = fitted
    sharp = LinearFeatureModel.from_pipeline(pipeline, FEATURES, ECG_CLASSES, temperature=1.0)
    soft = LinearFeatureModel.from_pipeline(pipeline, FEATURES, ECG_CLASSES, temperature=2.0)
    assert soft.probabilities(table).max(axis=1).mean() < sharp.probabilities(table).max(axis=1).mean()
    np.testing.assert_array_equal(soft.probabilities(table).argmax(1), sharp.probabilities(table).argmax(1))


def test_contributions_add_up_to_the_score(fitted) -> None:
    pipeline, table = fitted
    model = LinearFeatureModel.from_pipeline(pipeline, FEATURES, ECG_CLASSES)
    row = table.iloc[3].to_dict()
    parts = model.contributions(row)
    total = parts[list(ECG_CLASSES)].sum().to_numpy() + model.intercept
    np.testing.assert_allclose(total, model.scores(pd.DataFrame([row]))[0], atol=1e-9)
    assert list(parts["feature"]) == FEATURES + ["pr_s (not measured)"]


@pytest.mark.parametrize("damage, words", [
    (lambda d: d.update(coef=d["coef"][:2]), "'coef' has shape (2, 5)"),
    (lambda d: d.update(medians=["x"] * 4), "not numeric"),
    (lambda d: d.pop("intercept"), "incomplete"),
    (lambda d: d.update(kind="forest"), "kind 'logistic'"),
    (lambda d: d.update(temperature=0), "temperature must be positive"),
    (lambda d: d.update(scale=[0.0] * 5), "scales positive"),
    (lambda d: d.update(intercept=[float("nan")] * 4), "must be finite"),
])
def test_a_damaged_stored_model_says_what_is_wrong(fitted, damage, words) -> None:
    data = LinearFeatureModel.from_pipeline(fitted[0], FEATURES, ECG_CLASSES).to_dict()
    damage(data)
    with pytest.raises(FeatureModelError) as caught:
        LinearFeatureModel.from_dict(data)
    assert words in str(caught.value)


def test_a_bundle_whose_measurements_name_other_classes_is_refused(fitted) -> None:
    stored = LinearFeatureModel.from_pipeline(fitted[0], FEATURES, ["A", "B", "C", "D"]).to_dict()
    metadata = SimpleNamespace(name="odd", classes=list(ECG_CLASSES), extra={METADATA_KEY: stored})
    with pytest.raises(FeatureModelError, match="model 'odd' carries a damaged measurement model.*A, B, C, D"):
        bundle_feature_model(metadata)
    assert bundle_feature_model(SimpleNamespace(name="plain", classes=["x"], extra={})) is None


def test_fusion_keeps_the_networks_non_ecg_share_and_averages_the_rest() -> None:
    classes = [*ECG_CLASSES, NON_ECG]
    image = np.array([[0.1, 0.1, 0.2, 0.4, 0.2],
                      [0.0, 0.5, 0.5, 0.0, 0.0]])
    measured = np.array([[0.7, 0.1, 0.1, 0.1],
                         [np.nan] * 4])               # a page that could not be measured
    out = fused_probabilities(image, classes, [measured], ECG_CLASSES)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert out[0, 4] == pytest.approx(0.2)
    # ECG share 0.8, split by the mean of (0.125, 0.125, 0.25, 0.5) and (0.7, 0.1, 0.1, 0.1).
    np.testing.assert_allclose(out[0, :4], 0.8 * np.array([0.4125, 0.1125, 0.175, 0.3]))
    np.testing.assert_array_equal(out[1], image[1])
    assert out[0].argmax() == 0 and image[0].argmax() == 3     # the measurements changed the verdict


def test_each_vote_counts_only_on_the_pages_it_could_read() -> None:
    classes = [*ECG_CLASSES, NON_ECG]
    image = np.array([[0.25, 0.25, 0.25, 0.25, 0.0]] * 2)
    measured = np.array([[1.0, 0.0, 0.0, 0.0], [np.nan] * 4])
    signal = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    out = fused_probabilities(image, classes, [measured, signal], ECG_CLASSES)
    np.testing.assert_allclose(out[0, :4], [0.25 / 3 + 1 / 3, 0.25 / 3 + 1 / 3, 0.25 / 3, 0.25 / 3])
    np.testing.assert_allclose(out[1, :4], [0.125, 0.125, 0.625, 0.125])     # image and signal only
    np.testing.assert_allclose(fused_probabilities(image, classes, [], ECG_CLASSES), image)


def test_measurements_are_named_in_words() -> None:
    assert describe_feature("V2:st60_mv") == "V2: ST level 60 ms after J (mV)"
    assert describe_feature("inferior:q_min") == "inferior: deepest Q wave (mV)"
    assert describe_feature("qtc_s") == "QTc, Bazett (s)"
    assert describe_feature("pr_s (not measured)") == "PR interval (s) not measured"


def test_a_signal_network_must_come_with_its_description_and_fit_it() -> None:
    from core.bundles import BundleError
    from core.learn import build_signalnet
    from core.learn.fusion import SIGNAL_NETWORK_KEY, bundle_signal_network

    network = build_signalnet(len(ECG_CLASSES))
    described = {"classes": list(ECG_CLASSES), "temperature": 1.3, "layouts": ["3x4+1"]}

    def bundle(companions, extra):
        return SimpleNamespace(companions=companions,
                               metadata=SimpleNamespace(name="fused", classes=[*ECG_CLASSES, NON_ECG], extra=extra))

    voter = bundle_signal_network(bundle({"signal_model": network}, {SIGNAL_NETWORK_KEY: described}))
    assert voter.temperature == 1.3 and voter.measures(True, "3x4+1") and not voter.measures(True, "6x2")
    assert bundle_signal_network(bundle({}, {})) is None
    with pytest.raises(BundleError, match="half a signal network: no signal_model.keras"):
        bundle_signal_network(bundle({}, {SIGNAL_NETWORK_KEY: described}))
    with pytest.raises(BundleError, match="half a signal network: no 'signal_network' description"):
        bundle_signal_network(bundle({"signal_model": network}, {}))
    with pytest.raises(BundleError, match="does not match its description"):
        bundle_signal_network(bundle({"signal_model": network},
                                     {SIGNAL_NETWORK_KEY: {**described, "classes": list(ECG_CLASSES[:3])}}))


def test_the_two_votes_must_be_on_the_same_classes(fitted) -> None:
    from core.bundles import BundleError
    from core.learn import build_signalnet
    from core.learn.fusion import SIGNAL_NETWORK_KEY, bundle_votes

    stored = LinearFeatureModel.from_pipeline(fitted[0], FEATURES, list(reversed(ECG_CLASSES))).to_dict()
    described = {"classes": list(ECG_CLASSES), "temperature": 1.0}
    metadata = SimpleNamespace(name="mixed", classes=[*ECG_CLASSES, NON_ECG],
                               extra={METADATA_KEY: stored, SIGNAL_NETWORK_KEY: described})
    bundle = SimpleNamespace(companions={"signal_model": build_signalnet(len(ECG_CLASSES))}, metadata=metadata)
    with pytest.raises(BundleError, match="model 'mixed': its measurement model votes on"):
        bundle_votes(bundle)
    assert bundle_votes(SimpleNamespace(companions={}, metadata=SimpleNamespace(
        name="plain", classes=list(ECG_CLASSES), extra={}))) == (None, None, ())
