"""The ECG check: ECG pages accepted, non-ECG images refused with the evidence that failed, no warnings."""
from __future__ import annotations

import io
import warnings
from functools import lru_cache

import numpy as np
import pytest
from PIL import Image

from core.ecg.reader import read_page
from core.use.ecg_check import (ECG, EVIDENCE_NAMES, NOT_ECG, OUTCOMES, OUTSIDE_DOMAIN, EcgEvidence, Evidence,
                                check_outcome, ecg_evidence, evidence_from_summary, load_params)


def checked(image: Image.Image):
    """The evidence and outcome for an image, with every warning raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evidence = ecg_evidence(read_page(image), image)
        return evidence, check_outcome(evidence)


@lru_cache(maxsize=None)
def non_ecg(name: str) -> Image.Image:
    from core.bench.nonecg_sources import non_ecg_sources

    return next(load for n, _, _, load in non_ecg_sources() if n == name)()


def test_the_weights_name_every_evidence_item():
    params = load_params()
    assert set(params["weights"]) == set(EVIDENCE_NAMES)
    assert 0 < params["threshold"] < 1
    # The evidence that only an ECG shows must count for an ECG.
    for name in ("lead_laws", "rate_agreement", "trace_rows"):
        assert params["weights"][name] > 0, name


# Pages the reader finds rows and QRS on; the share of every layout x effect that the check accepts
# (about 0.9: the reader misreads some folded, curved and photographed pages) is in the calibration table.
@pytest.mark.parametrize("seed,layout,effect", [(12345, "3x4+1", "clean"), (1001, "6x2", "photo"),
                                                (1002, "12x1", "scan")])
def test_synthetic_ecg_pages_are_accepted(seed, layout, effect):
    from core.synth.truth import render_truth_page

    image, _ = render_truth_page(seed, layout=layout, effect=effect)
    evidence, outcome = checked(image)
    assert outcome.outcome != NOT_ECG, outcome.reasons
    assert evidence.score > 0.9
    assert evidence.item("trace_rows").strength == 1.0 and evidence.item("heart_rate").strength == 1.0


def test_a_clean_mendeley_style_page_is_in_the_domain():
    from core.synth.truth import render_truth_page

    image, _ = render_truth_page(777, layout="3x4+1", effect="clean", grid="pink")
    _, outcome = checked(image)
    assert outcome.outcome == ECG, outcome.reasons


@pytest.mark.parametrize("name,failed", [
    ("flat-white", "trace_rows"), ("flat-pink-jpeg", "trace_rows"), ("flat-cmyk-jpeg", "trace_rows"),
    ("noise-grey", "lead_laws"), ("document-0", "lead_laws"), ("chart-line-default-pink", "lead_laws"),
    ("chart-bar-ggplot-white", "lead_laws"), ("strip-paper", "trace_rows"), ("strip-screen", "trace_rows"),
    ("flat-tiny", "trace_rows"),
])
def test_non_ecg_images_are_refused_naming_the_failed_evidence(name, failed):
    evidence, outcome = checked(non_ecg(name))
    assert outcome.outcome == NOT_ECG
    assert evidence.score < load_params()["threshold"]
    assert any(reason.startswith(f"{failed}:") for reason in outcome.reasons), outcome.reasons
    assert all(reason.split(":")[0] in EVIDENCE_NAMES for reason in outcome.reasons)


def test_a_blank_image_says_why_in_words():
    _, outcome = checked(non_ecg("flat-white"))
    assert any("0 trace rows" in r for r in outcome.reasons), outcome.reasons


def _evidence(readable: bool, score: float, layout: str = "3x4+1") -> EcgEvidence:
    items = tuple(Evidence(n, 0.0, f"{n} missing") for n in EVIDENCE_NAMES)
    return EcgEvidence(items, score, readable, layout, (), {})


def test_a_readable_page_is_never_not_an_ecg_whatever_the_score():
    for score in (0.0, 0.01, 0.3):
        assert check_outcome(_evidence(True, score)).outcome != NOT_ECG
    assert check_outcome(_evidence(False, 0.0)).outcome == NOT_ECG


def test_an_ecg_in_another_layout_or_unread_is_outside_the_domain():
    from core.use import ModelDomain

    other = check_outcome(_evidence(True, 0.99, "6x2"))
    assert other.outcome == OUTSIDE_DOMAIN and "layout 6x2" in other.reasons[0]
    signal_model = ModelDomain(reads_signals=True)
    unread = check_outcome(_evidence(False, 0.99), signal_model)
    assert unread.outcome == OUTSIDE_DOMAIN and "could not be read" in unread.reasons[0]
    # An image model diagnoses from the page, not from the leads the reader could not trust.
    assert check_outcome(_evidence(False, 0.99)).outcome == ECG
    assert {other.outcome, unread.outcome, check_outcome(_evidence(True, 0.99)).outcome, NOT_ECG} == set(OUTCOMES)


def test_a_models_domain_comes_from_what_it_was_trained_on():
    from core.bundles import BundleMetadata
    from core.use import DOMAIN_LAYOUTS, SYNTHETIC_LAYOUTS, model_domain

    def metadata(**fields):
        return BundleMetadata(classes=["Normal", "Myocardial Infarction"], input_size=[64, 64], **fields)

    assert model_domain(metadata(dataset={"kind": "synthetic"})).layouts == SYNTHETIC_LAYOUTS
    assert model_domain(metadata(dataset={"name": "Built-in synthetic ECG pages (300 per class)"})).layouts \
        == SYNTHETIC_LAYOUTS                                             # bundles saved before "kind"
    assert model_domain(metadata(dataset={"name": "Shared Mendeley ECG pages"})).layouts == DOMAIN_LAYOUTS
    named = model_domain(metadata(extra={"layouts": ["6x2", "12x1"], "input": "signals"}))
    assert named.layouts == ("6x2", "12x1") and named.reads_signals


def test_the_built_in_generator_draws_only_the_layouts_its_models_are_said_to_know():
    from core.synth.layout import sample_style
    from core.use import SYNTHETIC_LAYOUTS

    rng = np.random.default_rng(0)
    assert {sample_style(rng).format for _ in range(400)} == set(SYNTHETIC_LAYOUTS)


def test_a_summary_with_nothing_measured_gives_zero_evidence_not_an_error():
    empty = {"readable": False, "reasons": ["no trace rows found"], "layout": "none", "px_per_mm": None,
             "heart_rate_bpm": None, "leads": {"I": {"coverage": 0.0}}, "stages": {},
             "qc": {"einthoven_ratio": None, "goldberger_ratio": float("nan"), "leads_with_rate": 0.0},
             "pen_rows": {}, "image_size": None}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evidence = evidence_from_summary(empty)
    assert [e.strength for e in evidence.items] == [0.0] * len(EVIDENCE_NAMES)
    assert check_outcome(evidence).outcome == NOT_ECG


@pytest.mark.parametrize("with_rate,strength", [(4, 0.07), (12, 1.0)])
def test_rates_agree_only_as_far_as_the_leads_take_part(with_rate, strength):
    """Four of twelve rows of a seismic plot agreeing within 3 bpm are no page-wide rhythm."""
    summary = {"layout": "6x2", "heart_rate_bpm": 70.0, "leads": {f"row{i}": {"coverage": 1.0} for i in range(12)},
               "qc": {"leads_with_rate": float(with_rate), "hr_mad_bpm": 3.0}, "stages": {}, "pen_rows": {}}
    agreement = evidence_from_summary(summary).item("rate_agreement")
    assert agreement.strength == pytest.approx(strength, abs=0.01)
    assert f"in {with_rate} of 12 leads" in agreement.detail


def test_all_nan_leads_give_reasons_not_warnings():
    # A page of straight, perfectly flat lines: rows are found but no lead has a QRS.
    page = np.full((786, 1106, 3), 255, np.uint8)
    for y in (200, 350, 500, 650):
        page[y:y + 2, 60:1050] = 0
    evidence, outcome = checked(Image.fromarray(page))
    assert outcome.outcome == NOT_ECG
    assert evidence.item("qrs_leads").strength == 0.0


def test_the_json_holds_the_score_and_every_item():
    image = Image.open(io.BytesIO(_jpeg(non_ecg("noise-pink"))))
    evidence, _ = checked(image)
    data = evidence.to_json()
    assert set(data["evidence"]) == set(EVIDENCE_NAMES) and 0 <= data["score"] <= 1


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.mendeley
def test_other_source_ecgs_are_not_refused():
    from core.bench.ecg_check_corpus import OTHER_DEV_DIR

    paths = sorted(OTHER_DEV_DIR.glob("*__*"))[::3]       # a photo, scans, renders and a screen; all in the table
    if not paths:
        pytest.skip("ecg-other-dev not found")
    refused = [p.name for p in paths if checked(Image.open(p))[1].outcome == NOT_ECG]
    assert refused == []


def test_outcome_names_are_the_three_answers():
    assert OUTCOMES == (NOT_ECG, OUTSIDE_DOMAIN, ECG) == ("not_ecg", "ecg_outside_domain", "ecg")
