"""core.use.diagnosis (CONFIDENT / UNCERTAIN / NOT AN ECG) and the HTML report."""
from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from PIL import Image

from core.classes import ABNORMAL, CANONICAL_CLASSES, ECG_CLASSES, HISTORY_OF_MI, MI, NON_ECG, NORMAL
from core.use import (CONFIDENT, ENERGY_THRESHOLD, MIN_CONFIDENCE, MIN_MARGIN, NOT_AN_ECG, UNCERTAIN, Thresholds,
                      diagnose, energy_score)


def test_clear_winner_is_confident():
    d = diagnose([0.9, 0.05, 0.03, 0.01, 0.01], CANONICAL_CLASSES)
    assert (d.predicted, d.status) == (MI, CONFIDENT)
    assert d.confidence == pytest.approx(0.9)
    assert d.margin == pytest.approx(0.85)
    assert d.reasons == ()
    assert d.considered == (MI,)


def test_low_top_probability_is_uncertain_and_says_why():
    d = diagnose([0.45, 0.30, 0.15, 0.10], ECG_CLASSES)
    assert d.status == UNCERTAIN
    assert d.predicted == MI
    assert any("45%" in r and "60%" in r for r in d.reasons)
    assert d.considered == (MI, HISTORY_OF_MI)


def test_close_top_two_is_uncertain_even_above_the_confidence_floor():
    d = diagnose({NORMAL: 0.62, ABNORMAL: 0.36, MI: 0.02})
    assert d.confidence >= MIN_CONFIDENCE and d.margin < MIN_MARGIN
    assert d.status == UNCERTAIN
    assert any("Normal and Abnormal Heartbeat are only 26% apart" in r for r in d.reasons)


def test_probabilities_are_renormalised_and_keep_class_order():
    d = diagnose({NORMAL: 2.0, MI: 6.0, NON_ECG: 2.0})
    assert list(d.probabilities) == [NORMAL, MI, NON_ECG]
    assert d.probabilities[MI] == pytest.approx(0.6)
    assert sum(d.probabilities.values()) == pytest.approx(1.0)


def test_non_ecg_class_winning_means_not_an_ecg():
    d = diagnose([0.05, 0.05, 0.05, 0.05, 0.80], CANONICAL_CLASSES)
    assert d.status == NOT_AN_ECG
    assert not d.is_ecg
    assert "Non-ECG class" in d.reasons[0]


def test_energy_catches_a_four_class_model_that_has_no_non_ecg_class():
    # Small, flat logits: softmax still picks a class, but nothing is recognised — the energy says so.
    logits = np.array([1.2, -0.3, -0.4, -0.6])
    probs = np.exp(logits) / np.exp(logits).sum()
    d = diagnose(probs, ECG_CLASSES, logits=logits)
    assert energy_score(logits) > ENERGY_THRESHOLD
    assert d.status == NOT_AN_ECG
    assert "out-of-distribution energy" in d.reasons[0]


def test_large_logits_pass_the_energy_check():
    logits = np.array([9.0, 1.0, 0.5, -2.0])
    probs = np.exp(logits) / np.exp(logits).sum()
    assert diagnose(probs, ECG_CLASSES, logits=logits).status == CONFIDENT


def test_a_model_specific_energy_threshold_replaces_the_default():
    logits = np.array([1.2, 0.0, 0.0, 0.0])              # energy ≈ -1.84: near-flat logits
    probs = np.exp(logits) / np.exp(logits).sum()
    assert diagnose(probs, ECG_CLASSES, logits=logits).status == NOT_AN_ECG
    # A model whose reference ECG pages themselves reach -1.2 accepts it (its logits are just small).
    lenient = Thresholds.for_metadata(None, reference_energy=-1.2)
    assert lenient.energy == -1.2
    assert diagnose(probs, ECG_CLASSES, logits=logits, thresholds=lenient).status != NOT_AN_ECG


def test_energy_score_matches_its_definition():
    logits = [2.0, 1.0, 0.0]
    assert energy_score(logits) == pytest.approx(-np.log(np.exp(2) + np.exp(1) + 1))
    assert energy_score(logits, temperature=2.0) == pytest.approx(-2 * np.log(np.exp(1) + np.exp(0.5) + 1))


def test_bundle_threshold_overrides_the_default():
    class Meta:
        extra = {"ood_energy_threshold": -10.0}

    limits = Thresholds.for_metadata(Meta(), reference_energy=-3.0)    # the bundle's own value wins
    assert limits.energy == -10.0
    logits = np.array([6.0, 0.0, 0.0, 0.0])
    probs = np.exp(logits) / np.exp(logits).sum()
    assert diagnose(probs, ECG_CLASSES, logits=logits, thresholds=limits).status == NOT_AN_ECG
    assert Thresholds.for_metadata(type("M", (), {"extra": {}})()) == Thresholds()


@pytest.mark.parametrize("bad", [[], [0.5, -0.1], [np.nan, 1.0], [0.0, 0.0]])
def test_invalid_probabilities_raise(bad):
    with pytest.raises(ValueError):
        diagnose(bad, ["a", "b"][: len(bad)] if bad else [])


def test_class_names_must_match_probabilities():
    with pytest.raises(ValueError, match="one class name per probability"):
        diagnose([0.5, 0.5], [MI])


# --- report --------------------------------------------------------------------------------------

def _report(file_name="<script>alert(1)</script>.png", probs=(0.92, 0.04, 0.02, 0.01, 0.01)):
    from core.use import ReportInput, guidance_for, report_html

    d = diagnose(list(probs), CANONICAL_CLASSES)
    image = Image.new("RGB", (64, 40), "white")
    return d, report_html(ReportInput(file_name=file_name, diagnosis=d, guidance=guidance_for(d), image=image,
                                      overlay=image, method="Grad-CAM", model_name="m<1>",
                                      model_details={"name": "m<1>", "architecture": "compact"}))


def test_report_is_self_contained_and_escapes_names():
    d, html = _report()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.png" in html
    assert "m&lt;1&gt;" in html
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2
    assert base64.b64decode(images[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http" not in re.sub(r'href="https?://[^"]+"', "", html).split("<h2>Sources</h2>")[0]


def test_report_has_probabilities_status_guidance_citations_and_disclaimer():
    d, html = _report()
    assert "Myocardial Infarction" in html and "92.0%" in html and "CONFIDENT" in html
    assert "call your local emergency number now" in html
    assert "Eur Heart J. 2023;44(38):3720-3826" in html       # 2023 ESC ACS guidelines cited
    assert html.count("Educational use only") >= 2            # top and bottom


def test_report_for_not_an_ecg_has_no_clinical_advice():
    _, html = _report(probs=(0.02, 0.02, 0.02, 0.02, 0.92))
    assert "NOT AN ECG" in html
    assert "No clinical advice is given" in html
    assert "troponin" not in html and "emergency number now" not in html
    assert "Educational use only" in html


def test_feature_check_flags_images_that_do_not_look_like_ecg_pages():
    from core.use import NOT_ECG_PROBABILITY

    probs = [0.9, 0.05, 0.03, 0.02]
    flagged = diagnose(probs, ECG_CLASSES, not_ecg_probability=0.97)
    assert flagged.status == NOT_AN_ECG
    assert "features look like those of non-ECG images" in flagged.reasons[0] and "0.97" in flagged.reasons[0]
    assert diagnose(probs, ECG_CLASSES, not_ecg_probability=NOT_ECG_PROBABILITY - 0.01).status == CONFIDENT


# --- the page reader's ECG check decides whether the image is an ECG ------------------------------

def _check(outcome: str, *reasons: str, score: float = 0.9):
    from core.use import CheckOutcome

    return CheckOutcome(outcome, reasons, score)


def test_the_check_refuses_what_the_model_would_call_a_confident_mi():
    from core.use import NOT_ECG

    d = diagnose([0.9, 0.05, 0.03, 0.02], ECG_CLASSES,
                 page_check=_check(NOT_ECG, "grid: no millimetre grid found", "trace_rows: 1 trace rows", score=0.03))
    assert d.status == NOT_AN_ECG and not d.outside_domain
    assert "evidence score 0.03" in d.reasons[0]
    assert d.reasons[1:] == ("grid: no millimetre grid found", "trace_rows: 1 trace rows")


def test_an_ecg_the_model_doubts_is_uncertain_never_not_an_ecg():
    from core.use import ECG

    d = diagnose([0.9, 0.05, 0.03, 0.02], ECG_CLASSES, not_ecg_probability=0.97, page_check=_check(ECG, score=0.88))
    assert d.status == UNCERTAIN and not d.outside_domain
    assert "page reader found an ECG here (evidence score 0.88)" in d.reasons[0]
    assert "features look like those of non-ECG images" in d.reasons[1]


def test_an_ecg_outside_the_models_domain_is_uncertain_with_its_reasons_even_when_the_model_is_sure():
    from core.use import OUTSIDE_DOMAIN, risk_of

    d = diagnose([0.95, 0.03, 0.01, 0.01], ECG_CLASSES,
                 page_check=_check(OUTSIDE_DOMAIN, "layout 6x2: the diagnosis model knows 3x4+1"))
    assert d.status == UNCERTAIN and d.outside_domain
    assert d.reasons == ("outside what this model learned: layout 6x2: the diagnosis model knows 3x4+1",)
    assert risk_of(d) is None
    assert d.to_dict()["outside_domain"] is True


def test_an_ecg_in_the_domain_keeps_the_models_verdict():
    from core.use import ECG

    assert diagnose([0.9, 0.05, 0.03, 0.02], ECG_CLASSES, page_check=_check(ECG)).status == CONFIDENT
    assert diagnose([0.45, 0.30, 0.15, 0.10], ECG_CLASSES, page_check=_check(ECG)).status == UNCERTAIN
