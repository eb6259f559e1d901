"""Clinical guidance per class, kept as data in ``assets/guidance.json`` with its guideline sources.

:func:`guidance_for` turns a :class:`core.use.diagnosis.Diagnosis` into what the page and the report
show, applying the safety rules that do not depend on the data file:

* an UNCERTAIN result never shows LOW risk — it takes the highest risk of the classes the model
  considered likely (at least MEDIUM) and tells the reader to have the ECG read by a clinician, with
  the emergency advice of any plausible acute class;
* an UNCERTAIN result that is an ECG outside the model's domain (another layout, a screen, leads
  the reader could not read) shows no risk level at all: the model's class means little there;
* NOT AN ECG shows no clinical advice at all;
* a class the lab has no guidance for gets a neutral fallback.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache

from core.classes import order_classes
from core.paths import ASSETS_DIR
from core.use.diagnosis import CONFIDENT, NOT_AN_ECG, UNCERTAIN, Diagnosis

GUIDANCE_FILE = ASSETS_DIR / "guidance.json"
OUTSIDE_DOMAIN = "OUTSIDE DOMAIN"               # guidance key of an UNCERTAIN ECG the model does not know
RISK_LEVELS = ("LOW", "MEDIUM", "HIGH")          # ordered; "UNKNOWN" and None sit outside
RISK_COLORS = {"HIGH": "#d32f2f", "MEDIUM": "#f57c00", "LOW": "#388e3c", "UNKNOWN": "#757575"}
SECTIONS = ("tests", "monitoring", "lifestyle")
SECTION_TITLES = {"tests": "Recommended tests", "monitoring": "Monitoring and follow-up",
                  "lifestyle": "Lifestyle and self-care"}


@dataclass(frozen=True)
class Source:
    key: str
    short: str
    citation: str
    doi: str = ""
    url: str = ""


@dataclass(frozen=True)
class Advice:
    """One recommendation in plain words and the keys of the guideline statements behind it."""

    text: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guidance:
    """What to show next to a result. ``clinical`` is False when no medical advice may be shown."""

    key: str
    title: str
    risk: str | None
    interpretation: str
    emergency: Advice | None = None
    tests: tuple[Advice, ...] = ()
    monitoring: tuple[Advice, ...] = ()
    lifestyle: tuple[Advice, ...] = ()
    notes: tuple[str, ...] = ()
    risk_note: str = ""
    clinical: bool = True
    disclaimer: str = ""
    sources: tuple[Source, ...] = field(default_factory=tuple)

    def sections(self) -> list[tuple[str, tuple[Advice, ...]]]:
        """``[(title, advice), ...]`` for the non-empty sections, in display order."""
        return [(SECTION_TITLES[name], getattr(self, name)) for name in SECTIONS if getattr(self, name)]

    def cited_keys(self) -> list[str]:
        keys: list[str] = []
        for advice in [self.emergency, *self.tests, *self.monitoring, *self.lifestyle]:
            for key in (advice.sources if advice else ()):
                if key not in keys:
                    keys.append(key)
        return keys


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(GUIDANCE_FILE.read_text(encoding="utf-8"))


def disclaimer() -> str:
    """The educational-use disclaimer shown on every result."""
    return _data()["disclaimer"]


def sources() -> dict[str, Source]:
    """Every guideline the guidance cites, by key."""
    return {key: Source(key=key, **value) for key, value in _data()["sources"].items()}


def _advice(item: dict | None) -> Advice | None:
    return Advice(item["text"], tuple(item.get("sources", ()))) if item else None


def _with_sources(guidance: Guidance) -> Guidance:
    table = sources()
    return replace(guidance, disclaimer=disclaimer(),
                   sources=tuple(table[k] for k in guidance.cited_keys() if k in table))


def known_classes() -> list[str]:
    return list(_data()["classes"])


def class_guidance(name: str) -> Guidance:
    """The guidance for class ``name``; a neutral fallback for classes the data does not cover."""
    entry = _data()["classes"].get(name)
    if entry is None:
        fallback = _data()["fallback"]
        return _with_sources(Guidance(
            key=name, title=fallback["title"], risk=fallback["risk"],
            interpretation=fallback["interpretation"].replace("{name}", name),
            emergency=_advice(fallback["action"])))
    return _with_sources(Guidance(
        key=name, title=entry["title"], risk=entry.get("risk"), interpretation=entry["interpretation"],
        emergency=_advice(entry.get("emergency")),
        tests=tuple(_advice(a) for a in entry.get("tests", ())),
        monitoring=tuple(_advice(a) for a in entry.get("monitoring", ())),
        lifestyle=tuple(_advice(a) for a in entry.get("lifestyle", ())),
        risk_note=entry.get("risk_note", ""), clinical=entry.get("clinical", True)))


def _rank(risk: str | None) -> int:
    return RISK_LEVELS.index(risk) if risk in RISK_LEVELS else -1


def uncertain_risk(considered: list[str] | tuple[str, ...]) -> str:
    """The highest risk among the ``considered`` classes, never below MEDIUM."""
    ranks = [_rank(class_guidance(c).risk) for c in considered]
    return RISK_LEVELS[max([_rank("MEDIUM"), *ranks])]


def guidance_for(diagnosis: Diagnosis) -> Guidance:
    """The guidance to show for ``diagnosis`` (see the module docstring for the rules)."""
    statuses = _data()["statuses"]
    if diagnosis.status == NOT_AN_ECG:
        status = statuses[NOT_AN_ECG]
        return Guidance(key=NOT_AN_ECG, title=status["title"], risk=None,
                        interpretation=status["interpretation"], notes=diagnosis.reasons,
                        clinical=False, disclaimer=disclaimer())
    base = class_guidance(diagnosis.predicted)
    if diagnosis.status == CONFIDENT:
        return base
    if diagnosis.status != UNCERTAIN:
        raise ValueError(f"unknown diagnosis status {diagnosis.status!r}")
    status = statuses[OUTSIDE_DOMAIN if diagnosis.outside_domain else UNCERTAIN]
    considered = [c for c in diagnosis.considered if c in known_classes() and class_guidance(c).clinical]
    # A plausible acute class (HIGH risk, e.g. MI) brings its own emergency advice; otherwise the
    # generic "symptoms now → emergency number" line (always so outside the model's domain, where
    # its classes mean little). Canonical order puts acute MI first, so its "call now" wins.
    urgent = [] if diagnosis.outside_domain else [
        g.emergency for g in map(class_guidance, order_classes(considered)) if g.risk == "HIGH" and g.emergency]
    uncertain = statuses[UNCERTAIN]       # the outside-domain status shares its advice
    action = _advice(uncertain["action"])
    symptoms = urgent[0] if urgent else _advice(uncertain["symptoms"])
    action = Advice(f"{action.text} {symptoms.text}", tuple(dict.fromkeys([*action.sources, *symptoms.sources])))
    likely = ", ".join(f"{c} ({diagnosis.probabilities.get(c, 0):.0%})" for c in diagnosis.considered)
    notes = (f"The model considered: {likely}.", *diagnosis.reasons)
    return _with_sources(Guidance(
        key=OUTSIDE_DOMAIN if diagnosis.outside_domain else UNCERTAIN, title=status["title"],
        risk=None if diagnosis.outside_domain else uncertain_risk(considered or [diagnosis.predicted]),
        interpretation=status["interpretation"], emergency=action,
        tests=(Advice("A clinician should read the ECG itself before any test or treatment is decided.",
                      action.sources),),
        notes=notes, clinical=True))


def risk_of(diagnosis: Diagnosis) -> str | None:
    """The risk level shown for ``diagnosis`` (None for NOT AN ECG and for an ECG outside the model's domain)."""
    return guidance_for(diagnosis).risk
