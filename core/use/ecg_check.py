"""Is this image an ECG? Decided from ECG evidence the page reader measured, not from how the page looks.

An ECG page has a millimetre grid (or at least a page scale), several long trace rows at a regular
spacing, QRS complexes at a physiological rate in several leads, beats that repeat their shape
within a lead, limb leads that obey Einthoven's and Goldberger's laws, and a standard layout. Each of these is one named evidence item with a
strength in [0, 1]; a logistic regression over them (weights in ``assets/ecg_check.json``, fitted by
``scripts/calibrate_ecg_check.py`` on real non-ECG images, real ECG pages and synthetic truth pages)
gives the probability that the image is an ECG. A page the reader could read (signals consistent
with an ECG) is never called "not an ECG", whatever the score.

``check_outcome`` then says which of three answers applies: ``not_ecg``; ``ecg_outside_domain`` (an
ECG, but not a layout, medium or reading quality the diagnosis model knows, see ``ModelDomain``:
show the signals, no risk level); ``ecg``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from core.ecg.reader.beats import beat_similarity
from core.paths import ASSETS_DIR

PARAMS_FILE = ASSETS_DIR / "ecg_check.json"
NOT_ECG, OUTSIDE_DOMAIN, ECG = "not_ecg", "ecg_outside_domain", "ecg"
OUTCOMES = (NOT_ECG, OUTSIDE_DOMAIN, ECG)
STANDARD_LAYOUTS = ("3x4", "3x4+1", "3x4+3", "6x2", "6x2+1", "12x1", "12x1+1")
# The layout of the Mendeley printer: what a model knows when its metadata says nothing else.
DOMAIN_LAYOUTS = ("3x4+1",)
# The formats core.synth.layout.sample_style draws for the built-in pages (a test keeps them in step).
SYNTHETIC_LAYOUTS = ("3x4", "3x4+1", "3x4+3")
WORK_PX_PER_MM = 5.0               # the reader's working scale (core.ecg.reader.WORK_PX_PER_MM)
_ROW_MERGE_MM = 4.0                # leads whose baselines lie this close share a trace row
_FULL_ROW_MM = 200.0               # a 10 s row at 25 mm/s is 250 mm long
_PAGE_MM = (120.0, 450.0)          # widths of a printed or displayed ECG page at its grid's scale
_HR_BPM = (30.0, 220.0)


@dataclass(frozen=True)
class Evidence:
    """One thing that makes an ECG: its strength in [0, 1] and what was measured, in words."""

    name: str
    strength: float
    detail: str


@dataclass(frozen=True)
class EcgEvidence:
    """The evidence items, the probability that the image is an ECG, and the reader's verdict."""

    items: tuple[Evidence, ...]
    score: float
    readable: bool
    layout: str
    reader_reasons: tuple[str, ...]
    quality: dict[str, float | None]
    screen: bool = False                # light traces on a dark background

    def item(self, name: str) -> Evidence:
        """The evidence item called ``name``."""
        return next(e for e in self.items if e.name == name)

    def failed(self, below: float = 0.5) -> tuple[Evidence, ...]:
        """The items weaker than ``below``: what an ECG would show and this image does not."""
        return tuple(e for e in self.items if e.strength < below)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary for ``predict --json``."""
        return {"score": round(self.score, 4), "readable": self.readable, "layout": self.layout,
                "evidence": {e.name: {"strength": round(e.strength, 3), "detail": e.detail} for e in self.items}}


@dataclass(frozen=True)
class ModelDomain:
    """What a diagnosis model knows: the page layouts it learned from, and whether it diagnoses
    from the digitised signals (then the leads must be read reliably) or from the image."""

    layouts: tuple[str, ...] = DOMAIN_LAYOUTS
    reads_signals: bool = False


def model_domain(metadata: Any) -> ModelDomain:
    """The domain of a bundle, from its metadata: ``extra["layouts"]`` when it names them, else
    the built-in generator's formats for a model trained on the built-in pages, else the Mendeley
    printer's layout; a model whose input is ``"signals"`` reads the digitised leads."""
    extra = getattr(metadata, "extra", {}) or {}
    dataset = getattr(metadata, "dataset", {}) or {}
    synthetic = dataset.get("kind") == "synthetic" or str(dataset.get("name", "")).startswith("Built-in synthetic")
    layouts = extra.get("layouts") or (SYNTHETIC_LAYOUTS if synthetic else DOMAIN_LAYOUTS)
    return ModelDomain(tuple(str(x) for x in layouts), extra.get("input") == "signals")


@dataclass(frozen=True)
class CheckOutcome:
    """Which of the three answers applies, and why."""

    outcome: str                        # one of OUTCOMES
    reasons: tuple[str, ...]
    score: float
    evidence: EcgEvidence | None = None  # what was measured (None for an outcome made by hand)

    def to_json(self) -> dict[str, Any]:
        """``outcome`` and ``reasons``, then the evidence's score, items and what the reader found."""
        measured = self.evidence.to_json() if self.evidence else {"score": round(self.score, 4)}
        return {"outcome": self.outcome, "reasons": list(self.reasons), **measured}


def reading_summary(reading: Any, image_size: tuple[int, int] | None = None) -> dict[str, Any]:
    """What the check needs from a ``PageReading``, JSON-ready (the calibration caches it).

    Adds to ``reading.to_json()`` the input size and, per lead, its pen path's median row and
    x extent in working px: they give the trace rows, their spacing and their length.
    """
    summary = reading.to_json()
    rows = {}
    for name, paths in reading.paths.items():
        ys = np.concatenate([p.y for p in paths]) if paths else np.empty(0)
        xs = np.concatenate([p.x[np.isfinite(p.y)] for p in paths]) if paths else np.empty(0)
        ys = ys[np.isfinite(ys)]
        if ys.size and xs.size:
            rows[name] = [float(np.median(ys)), float(xs.min()), float(xs.max())]
    summary["pen_rows"] = rows
    similarity, leads_with_beats = beat_similarity(reading.leads)
    summary["beats"] = {"similarity": similarity, "leads": leads_with_beats}
    summary["image_size"] = list(image_size) if image_size else None
    return summary


def trace_rows(summary: dict[str, Any]) -> list[tuple[float, float]]:
    """(baseline mm, length mm) of each trace row, top to bottom, from the leads' pen paths."""
    found: list[list[float]] = []             # baseline, x0, x1 in working px
    for y, x0, x1 in sorted(summary.get("pen_rows", {}).values()):
        if found and y - found[-1][0] <= _ROW_MERGE_MM * WORK_PX_PER_MM:
            found[-1][1], found[-1][2] = min(found[-1][1], x0), max(found[-1][2], x1)
        else:
            found.append([y, x0, x1])
    return [(y / WORK_PX_PER_MM, (x1 - x0) / WORK_PX_PER_MM) for y, x0, x1 in found]


def _ramp(value: float, low: float, high: float) -> float:
    """0 at ``low``, 1 at ``high``, linear between (``low`` > ``high`` for falling evidence)."""
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _grid_evidence(summary: dict[str, Any]) -> Evidence:
    """A millimetre grid in both directions, whose period makes the image as wide as an ECG page."""
    grid = summary["stages"].get("grid")
    sheet = summary["stages"].get("sheet", {"quality": {}})
    if grid is None:
        return Evidence("grid", 0.0, "the reader stopped before looking for a grid")
    if sheet["quality"].get("dark_background"):
        return Evidence("grid", 0.5, "a screen (light traces on a dark background): no paper grid expected")
    if (grid["fallback"] or "").startswith("no millimetre grid"):
        return Evidence("grid", 0.0, "no millimetre grid found")
    scale, scale_detail = _page_scale(summary)
    if grid["fallback"]:
        # Photos and textures often show a period along one axis only; a printed grid shows both.
        return Evidence("grid", 0.3 * scale, f"a period along one axis only, not a millimetre grid in both "
                                             f"directions; {scale_detail}")
    contrast = min(grid["quality"].get("contrast_x") or 0.0, grid["quality"].get("contrast_y") or 0.0)
    # Contrast: 12 is the reader's floor for a grid, a clear printed grid measures 100 or more.
    strength = _ramp(math.log10(max(contrast, 1.0)), math.log10(12), 2.0) * scale
    return Evidence("grid", strength, f"millimetre grid in both directions (contrast {contrast:.0f}); {scale_detail}")


def _page_scale(summary: dict[str, Any]) -> tuple[float, str]:
    """How plausible the page's width in mm at the grid's period is (1 inside the range, 0 at a factor 1.5 off)."""
    px_per_mm, size = _finite(summary.get("px_per_mm")), summary.get("image_size")
    if px_per_mm is None or not size:
        return 0.0, "no page size to check the period against"
    width_mm = size[0] / px_per_mm
    low, high = _PAGE_MM
    if low <= width_mm <= high:
        return 1.0, f"the image is {width_mm:.0f} mm wide at that period"
    off = abs(math.log(width_mm / (low if width_mm < low else high)))
    return _ramp(off, math.log(1.5), 0.0), (f"the image would be {width_mm:.0f} mm wide at that period "
                                            f"(an ECG page is {low:.0f}-{high:.0f} mm)")


def _row_evidence(summary: dict[str, Any]) -> list[Evidence]:
    rows = trace_rows(summary)
    n = len(rows)
    count = Evidence("trace_rows", _ramp(n, 1, 3), f"{n} trace rows" + ("" if n >= 3 else " (an ECG has 3 or more)"))
    if not rows:
        return [count, Evidence("row_length", 0.0, "no trace rows"), Evidence("row_spacing", 0.0, "no trace rows")]
    longest = max(length for _, length in rows)
    length = Evidence("row_length", _ramp(longest, 40.0, _FULL_ROW_MM),
                      f"longest trace row {longest:.0f} mm (a 10 s row is 250 mm)")
    if n < 3:
        return [count, length, Evidence("row_spacing", 0.0, "fewer than 3 rows: no spacing to compare")]
    gaps = np.diff([y for y, _ in rows])
    spread = float(np.std(gaps) / np.mean(gaps))
    spacing = Evidence("row_spacing", _ramp(spread, 0.5, 0.1),
                       f"rows {np.mean(gaps):.0f} mm apart, spread {spread:.0%}")
    return [count, length, spacing]


def _rate_evidence(summary: dict[str, Any]) -> list[Evidence]:
    qc = summary.get("qc", {})
    n_rate = int(_finite(qc.get("leads_with_rate")) or 0)
    n_leads = len(summary.get("leads", {}))
    hr = _finite(summary.get("heart_rate_bpm"))
    # Several leads, and most of them: text and other waveforms give a "rate" in a few rows only.
    share = n_rate / n_leads if n_leads else 0.0
    leads = Evidence("qrs_leads", min(_ramp(n_rate, 1, 6), _ramp(share, 0.3, 0.8)),
                     f"QRS complexes found in {n_rate} of {n_leads} leads")
    if hr is None:
        rate = Evidence("heart_rate", 0.0, "no heart rate: too few QRS complexes")
    else:
        low, high = _HR_BPM
        ok = low <= hr <= high
        rate = Evidence("heart_rate", 1.0 if ok else 0.0,
                        f"heart rate {hr:.0f} bpm" + ("" if ok else f" (not physiological: {low:.0f}-{high:.0f})"))
    mad = _finite(qc.get("hr_mad_bpm"))
    # Rates that agree count as far as the leads take part: 4 of 12 rows of a seismic plot agreeing
    # within 6 bpm is no page-wide rhythm (the check scored it 0.55 on that alone).
    agree = (Evidence("rate_agreement", 0.0, "no rate to compare between leads") if mad is None or n_rate < 2 else
             Evidence("rate_agreement", min(_ramp(mad, 15.0, 3.0), leads.strength),
                      f"leads' rates differ by {mad:.0f} bpm (median) in {n_rate} of {n_leads} leads"))
    return [leads, rate, agree]


def _law_evidence(summary: dict[str, Any]) -> Evidence:
    qc = summary.get("qc", {})
    ratios = [r for r in (_finite(qc.get("einthoven_ratio")), _finite(qc.get("goldberger_ratio"))) if r is not None]
    if not ratios:
        return Evidence("lead_laws", 0.0, "no limb leads to check Einthoven's and Goldberger's laws on")
    best = min(ratios)
    # 0 for a perfect reading; unrelated traces give about 1.
    return Evidence("lead_laws", _ramp(best, 0.9, 0.3), f"limb-lead law residual {best:.2f} of their size")


def _beat_evidence(summary: dict[str, Any]) -> Evidence:
    """The beats of a lead look alike (one heart, one activation sequence), in several leads."""
    beats = summary.get("beats") or {}
    similarity, n = _finite(beats.get("similarity")), int(beats.get("leads") or 0)
    if similarity is None:
        return Evidence("beat_shape", 0.0, "no lead with two beats to compare")
    # EEG, seismic and audio traces measure 0.35 or less; read ECG leads 0.6 to 0.99.
    strength = min(_ramp(similarity, 0.35, 0.8), _ramp(n, 1, 4))
    return Evidence("beat_shape", strength, f"beats alike within a lead: correlation {similarity:.2f} "
                                            f"(median of {n} leads; a heart's beats repeat their shape)")


def _layout_evidence(summary: dict[str, Any]) -> Evidence:
    layout = summary.get("layout", "none")
    known = layout in STANDARD_LAYOUTS
    return Evidence("layout", 1.0 if known else 0.0,
                    f"layout {layout}" + ("" if known else " (no standard 12-lead layout)"))


def _coverage_evidence(summary: dict[str, Any]) -> Evidence:
    coverage = _finite(summary.get("qc", {}).get("median_coverage")) or 0.0
    return Evidence("coverage", _ramp(coverage, 0.3, 0.9), f"leads traced over {coverage:.0%} of their length")


def evidence_items(summary: dict[str, Any]) -> tuple[Evidence, ...]:
    """Every evidence item from a ``reading_summary``."""
    return (_grid_evidence(summary), *_row_evidence(summary),
            *_rate_evidence(summary), _beat_evidence(summary), _law_evidence(summary), _layout_evidence(summary),
            _coverage_evidence(summary))


EVIDENCE_NAMES = tuple(e.name for e in evidence_items(
    {"stages": {}, "qc": {}, "leads": {}, "layout": "none", "pen_rows": {}}))


@lru_cache(maxsize=1)
def load_params() -> dict[str, Any]:
    """The fitted weights (``assets/ecg_check.json``)."""
    return json.loads(PARAMS_FILE.read_text())


def score_items(items: tuple[Evidence, ...], params: dict[str, Any] | None = None) -> float:
    """Probability of an ECG: the logistic of the bias plus each strength times its weight."""
    params = params or load_params()
    z = params["bias"] + sum(params["weights"][e.name] * e.strength for e in items)
    return float(1 / (1 + math.exp(-float(np.clip(z, -50, 50)))))


def evidence_from_summary(summary: dict[str, Any], params: dict[str, Any] | None = None) -> EcgEvidence:
    """The check on a cached ``reading_summary``."""
    items = evidence_items(summary)
    return EcgEvidence(items, score_items(items, params), bool(summary.get("readable")), summary.get("layout", "none"),
                       tuple(summary.get("reasons", ())), dict(summary.get("qc", {})),
                       bool(summary["stages"].get("sheet", {}).get("quality", {}).get("dark_background")))


def ecg_evidence(reading: Any, image: Any = None, params: dict[str, Any] | None = None) -> EcgEvidence:
    """The ECG evidence in a ``PageReading`` (``core.ecg.reader.read_page``) and its ECG probability.

    ``image`` (PIL image or array of the page read) gives the page's size in pixels, which with
    the grid's period tells whether the page is as wide as an ECG; without it that item is 0.
    """
    return evidence_from_summary(reading_summary(reading, _size_of(image)), params)


def _size_of(image: Any) -> tuple[int, int] | None:
    if image is None:
        return None
    if isinstance(image, np.ndarray):
        return int(image.shape[1]), int(image.shape[0])
    return tuple(image.size) if hasattr(image, "size") and not callable(image.size) else None


def read_as_ecg(evidence: EcgEvidence) -> bool:
    """The reader read the page (its own consistency checks pass) as a standard layout or with valid lead laws.

    The reader's "readable" alone is not enough: a photo read as 8 rows of flat lines with a
    steady "rate" passes its checks, but no 12-lead layout and no lead law vouches for it.
    """
    return evidence.readable and (evidence.layout in STANDARD_LAYOUTS or evidence.item("lead_laws").strength >= 0.5)


def _domain_problems(evidence: EcgEvidence, domain: ModelDomain) -> list[str]:
    """Why a page that is an ECG is not one the diagnosis model knows (empty: it is).

    Unreliable leads (a lead law broken, rates that disagree) matter to a model that diagnoses
    from them; an image model sees the page, whose layout and medium are what it must know.
    """
    problems = []
    if domain.reads_signals and not evidence.readable:
        why = "; ".join(evidence.reader_reasons)
        problems.append("the leads could not be read reliably" + (f" ({why})" if why else ""))
    if evidence.layout not in domain.layouts:
        problems.append(f"layout {evidence.layout}: the diagnosis model knows {', '.join(domain.layouts)}")
    if evidence.screen:
        problems.append("a screen capture: the diagnosis model knows printed pages")
    return problems


def check_outcome(evidence: EcgEvidence, domain: ModelDomain = ModelDomain(),
                  params: dict[str, Any] | None = None) -> CheckOutcome:
    """``not_ecg``, ``ecg_outside_domain`` or ``ecg`` for the evidence, with reasons a student can read.

    A page read as an ECG (``read_as_ecg``) is never ``not_ecg``: the score decides for the others.
    """
    threshold = (params or load_params())["threshold"]
    if evidence.score < threshold and not read_as_ecg(evidence):
        failed = evidence.failed() or tuple(sorted(evidence.items, key=lambda e: e.strength)[:3])
        return CheckOutcome(NOT_ECG, tuple(f"{e.name}: {e.detail}" for e in failed), evidence.score, evidence)
    problems = _domain_problems(evidence, domain)
    if problems:
        return CheckOutcome(OUTSIDE_DOMAIN, tuple(problems), evidence.score, evidence)
    return CheckOutcome(ECG, (f"an ECG in the model's domain (layout {evidence.layout}, "
                              f"ECG probability {evidence.score:.2f})",), evidence.score, evidence)
