"""The shipped real-page model (models/mendeley-leadnet): the Predict default, small, documented,
right on every real and non-ECG example in assets/examples, and its Grad-CAM on the waveforms, not
the header."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.bundles import default_bundle, load_bundle
from core.classes import NON_ECG
from core.paths import PROJECT_ROOT
from core.use import analyse_image, bundled_examples, explain_image, heat_on_traces, page_heat

BUNDLE = PROJECT_ROOT / "models" / "mendeley-leadnet"
# The real held-out pages and the non-ECG images; the synthetic pages are for the Live-demo model.
CHECKED = [e for e in bundled_examples() if e.name.startswith(("real_", "non_ecg_"))]


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(BUNDLE)


def test_shipped_model_is_the_default_and_under_20_mb() -> None:
    assert default_bundle(PROJECT_ROOT / "models") == BUNDLE
    assert (BUNDLE / "model.keras").stat().st_size < 20 * 2**20


def test_model_card_quotes_the_metadata_numbers() -> None:
    evaluation = json.loads((BUNDLE / "metadata.json").read_text())["evaluation"]
    card = (BUNDLE / "MODEL_CARD.md").read_text()
    assert f"{evaluation['holdout']['macro_f1']['value']:.3f}" in card
    for summary in evaluation["cross_validation"].values():
        assert f"{summary['macro_f1']['value']:.3f}" in card
    assert f"{evaluation['guard']['non_ecg_rejection']['rate']:.3f}" in card
    assert "CC BY 4.0" in card and "10.17632/gwbz3fsgp8.2" in card


def test_examples_come_from_held_out_pages_only() -> None:
    import hashlib

    held = set(json.loads((BUNDLE / "metadata.json").read_text())["evaluation"]["holdout"]["sha1"])
    described = json.loads((PROJECT_ROOT / "assets" / "examples" / "examples.json").read_text())["examples"]
    real = [e for e in described if e["file"].startswith("real_")]
    assert len(real) == 4 and all(e["original_sha1"] in held for e in real)
    for entry in real:
        digest = hashlib.sha1((PROJECT_ROOT / "assets" / "examples" / entry["file"]).read_bytes()).hexdigest()
        assert digest not in held   # a downscaled copy, not the shared file itself


@pytest.mark.parametrize("example", CHECKED, ids=[e.name for e in CHECKED])
def test_each_real_and_non_ecg_example_gets_its_class(bundle, example) -> None:
    result = analyse_image(bundle, example.path, name=example.name)
    assert result.diagnosis.predicted == example.true_class


@pytest.mark.parametrize("example", [e for e in CHECKED if e.true_class != NON_ECG], ids=lambda e: e.name)
def test_gradcam_falls_inside_the_ecg_grid_not_the_header(bundle, example) -> None:
    """The grid crop keeps the header out of the network's view; this checks that the map is real
    (not flat) and lands back on the page inside the detected grid, none of it on the header."""
    result = analyse_image(bundle, example.path, name=example.name)
    saliency = explain_image(bundle, result, "gradcam")
    assert saliency.used == "gradcam" and not saliency.flat
    heat = page_heat(result, saliency, width=400)
    x0, y0, x1, y1 = result.view.grid_box
    rows, cols = heat.shape
    inside = heat[round(y0 * rows):round(y1 * rows), round(x0 * cols):round(x1 * cols)].sum()
    header = heat[:max(1, round(y0 * rows))].sum()
    assert inside / heat.sum() > 0.95 and header / heat.sum() < 0.02
    peak_row, _ = np.unravel_index(heat.argmax(), heat.shape)
    assert y0 * rows <= peak_row <= y1 * rows


@pytest.mark.parametrize("example", [e for e in CHECKED if e.true_class != NON_ECG], ids=lambda e: e.name)
def test_gradcam_heat_lies_on_the_traces(bundle, example) -> None:
    """The ink gate lets only features on a trace through: the heat near the traces is at least
    twice what an evenly spread map would put there (an ungated model put 0.4-1.9x)."""
    result = analyse_image(bundle, example.path, name=example.name)
    share = heat_on_traces(result, explain_image(bundle, result, "gradcam"))
    assert share.heat > 2 * share.area, share


def test_the_shipped_model_votes_with_the_pages_measurements_and_signals(bundle) -> None:
    """The bundle carries the measurement model and the signal CNN (core.learn.fusion); on a real page
    the reader reads, the verdict is the average of the three votes, and Evaluate gives exactly
    Predict's probabilities."""
    from core.evaluate import evaluate_bundle

    real = [e for e in CHECKED if e.true_class != NON_ECG]
    results = [analyse_image(bundle, e.path, name=e.name) for e in real]
    for result in results:
        assert result.reading.readable and result.measured is not None
        votes = result.vote_table()
        assert list(dict.fromkeys(votes["part"])) == ["network", "measurements", "signal CNN", "combined"]
        part = {name: rows.set_index("class")["probability"] for name, rows in votes.groupby("part")}
        share = 1 - part["network"][NON_ECG]
        for c in part["measurements"].index:
            mean = (part["network"][c] / share + part["measurements"][c] + part["signal CNN"][c]) / 3
            assert part["combined"][c] == pytest.approx(share * mean, abs=1e-6)
        drivers = result.measured.drivers(result.diagnosis.predicted, 3)
        assert len(drivers) == 3 and drivers["push"].abs().is_monotonic_decreasing
    index = pd.DataFrame({"path": [str(e.path) for e in real], "class": [e.true_class for e in real]})
    evaluation = evaluate_bundle(bundle, index)
    np.testing.assert_allclose(evaluation.probs, np.array([r.probabilities for r in results]), atol=1e-5)
