"""Clinical guidance: coverage of every class, its sources, and the safety rules per status."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core.classes import ABNORMAL, CANONICAL_CLASSES, ECG_CLASSES, HISTORY_OF_MI, MI, NON_ECG, NORMAL
from core.use import (CONFIDENT, GUIDANCE_FILE, NOT_AN_ECG, RISK_LEVELS, UNCERTAIN, class_guidance, diagnose,
                      disclaimer, guidance_for, risk_of, sources)

EXPECTED_RISK = {MI: {"HIGH"}, HISTORY_OF_MI: {"HIGH", "MEDIUM"}, ABNORMAL: {"MEDIUM"}, NORMAL: {"LOW"},
                 NON_ECG: {None}}


@pytest.mark.parametrize("name", CANONICAL_CLASSES)
def test_every_canonical_class_has_guidance_with_the_required_risk(name):
    guidance = class_guidance(name)
    assert guidance.key == name
    assert guidance.risk in EXPECTED_RISK[name]
    assert len(guidance.interpretation) > 80
    assert guidance.disclaimer.startswith("Educational use only")


@pytest.mark.parametrize("name", ECG_CLASSES)
def test_ecg_classes_have_every_section_and_cite_known_guidelines(name):
    guidance = class_guidance(name)
    assert guidance.clinical
    assert guidance.emergency is not None and guidance.tests and guidance.monitoring and guidance.lifestyle
    known = sources()
    for advice in [guidance.emergency, *guidance.tests, *guidance.monitoring, *guidance.lifestyle]:
        assert advice.sources, f"{name}: uncited advice {advice.text!r}"
        assert set(advice.sources) <= set(known), f"{name}: unknown source in {advice.sources}"
    assert [s.key for s in guidance.sources] == guidance.cited_keys()


def test_every_source_is_a_current_guideline_with_a_link_and_is_cited():
    data = json.loads(GUIDANCE_FILE.read_text(encoding="utf-8"))
    table = sources()
    cited = set()
    for entry in [*data["classes"].values(), *data["statuses"].values(), data["fallback"]]:
        for section in ("tests", "monitoring", "lifestyle"):
            for advice in entry.get(section, []):
                cited.update(advice["sources"])
        for key in ("emergency", "action", "symptoms"):
            if entry.get(key):
                cited.update(entry[key]["sources"])
    assert cited == set(table), "every source is cited and every citation has a source"
    for source in table.values():
        assert source.url.startswith("https://")
        assert int(re.search(r"\b(20\d\d)\b", source.short).group(1)) >= 2018   # guideline year
    assert {"esc-acs-2023", "acc-aha-acs-2025", "aha-acc-ccd-2023", "esc-af-2024", "acc-aha-af-2023",
            "acc-aha-hrs-brady-2018", "uspstf-ecg-2018"} <= set(table)


def test_suspected_acute_mi_says_call_emergency_services_now():
    emergency = class_guidance(MI).emergency
    assert "call your local emergency number now" in emergency.text
    assert "acc-aha-acs-2025" in emergency.sources and "esc-acs-2023" in emergency.sources


def test_non_ecg_class_gives_no_clinical_advice():
    guidance = class_guidance(NON_ECG)
    assert not guidance.clinical
    assert guidance.risk is None
    assert guidance.emergency is None and not guidance.tests and not guidance.monitoring and not guidance.lifestyle


def test_unknown_class_falls_back_sensibly():
    guidance = class_guidance("Covid-19")
    assert guidance.risk == "UNKNOWN"
    assert "'Covid-19'" in guidance.interpretation
    assert "clinician" in guidance.emergency.text
    assert guidance.sources                            # still cites what it says about emergencies
    confident = diagnose({"Covid-19": 0.9, NORMAL: 0.1})
    assert guidance_for(confident).risk == "UNKNOWN"


def test_confident_result_uses_the_class_guidance():
    d = diagnose([0.05, 0.05, 0.05, 0.85], ECG_CLASSES)
    assert d.status == CONFIDENT
    assert guidance_for(d) == class_guidance(NORMAL)
    assert risk_of(d) == "LOW"


def test_uncertain_never_shows_low_and_asks_for_a_clinician():
    d = diagnose([0.05, 0.05, 0.40, 0.50], ECG_CLASSES)   # Normal on top, but not sure
    assert (d.predicted, d.status) == (NORMAL, UNCERTAIN)
    guidance = guidance_for(d)
    assert guidance.risk == "MEDIUM"                      # highest of Normal (LOW) and Abnormal (MEDIUM)
    assert "read by a clinician" in guidance.emergency.text
    assert any("Normal (50%)" in note and "Abnormal Heartbeat (40%)" in note for note in guidance.notes)


def test_uncertain_with_a_plausible_mi_carries_the_emergency_advice():
    d = diagnose([0.35, 0.05, 0.05, 0.55], ECG_CLASSES)
    assert d.status == UNCERTAIN and MI in d.considered
    guidance = guidance_for(d)
    assert guidance.risk == "HIGH"
    assert "call your local emergency number now" in guidance.emergency.text


def test_an_ecg_outside_the_models_domain_gets_no_risk_level_but_a_clinician_and_the_emergency_line():
    from core.use import OUTSIDE_DOMAIN, CheckOutcome

    check = CheckOutcome(OUTSIDE_DOMAIN, ("layout 12x1: the diagnosis model knows 3x4+1",), 0.9)
    d = diagnose([0.35, 0.05, 0.05, 0.55], ECG_CLASSES, page_check=check)   # MI plausible, as above
    guidance = guidance_for(d)
    assert guidance.risk is None and guidance.title == "An ECG this model does not know"
    assert "read by a clinician" in guidance.emergency.text
    assert "symptoms now" in guidance.emergency.text       # the generic line, not MI's "call now"
    assert "layout 12x1" in " ".join(guidance.notes)


def test_uncertain_never_low_for_any_probabilities():
    rng = np.random.default_rng(0)
    seen = 0
    for _ in range(400):
        d = diagnose(rng.dirichlet(np.full(5, 0.6)), CANONICAL_CLASSES)
        if d.status == UNCERTAIN:
            seen += 1
            assert guidance_for(d).risk in ("MEDIUM", "HIGH")
    assert seen > 50


def test_not_an_ecg_shows_no_clinical_advice_even_if_an_ecg_class_is_close():
    logits = np.array([0.8, 0.2, 0.1, 0.5])              # flat logits: out of distribution
    probs = np.exp(logits) / np.exp(logits).sum()
    for d in (diagnose(probs, ECG_CLASSES, logits=logits), diagnose([0.3, 0.0, 0.0, 0.1, 0.6], CANONICAL_CLASSES)):
        assert d.status == NOT_AN_ECG
        guidance = guidance_for(d)
        assert not guidance.clinical
        assert guidance.risk is None and risk_of(d) is None
        assert guidance.emergency is None and not guidance.sections() and not guidance.sources
        assert guidance.notes == d.reasons
        assert guidance.disclaimer == disclaimer()


def test_risk_levels_are_ordered():
    assert RISK_LEVELS == ("LOW", "MEDIUM", "HIGH")
