"""From calibrated class probabilities to a verdict a student can act on: CONFIDENT, UNCERTAIN or
NOT AN ECG.

A softmax classifier always names one of its classes, even for a selfie. Two checks guard that:

* **UNCERTAIN** when the top probability is below :data:`MIN_CONFIDENCE` or the top two are
  closer than :data:`MIN_MARGIN` — the model cannot tell the classes apart for this image;
* **NOT AN ECG** when

  - the Non-ECG class wins, or
  - the image is out of distribution for the model by the *energy* of its pre-softmax logits,
    ``E = -T·logsumexp(logits / T)`` (Liu et al., "Energy-based out-of-distribution detection",
    NeurIPS 2020): familiar pages get large logits and a low energy, unfamiliar images small logits
    and a higher one. The threshold is the bundle's own ``ood_energy_threshold`` (metadata) when it
    stores one, else one measured on the model's reference ECG pages (:mod:`core.use.ood`), else
    :data:`ENERGY_THRESHOLD`; or
  - for models without a Non-ECG class, the model's features look like those of non-ECG
    reference images (:mod:`core.use.ood`): p(not an ECG) above :data:`NOT_ECG_PROBABILITY`. Energy
    alone separates ECG pages from photos and charts only partly on the compact CNN (measured
    AUROC 0.6-0.86), the features much better (0.97-0.98).

When the page reader's ECG check (:mod:`core.use.ecg_check`) is given, it decides whether the
image is an ECG, from ECG evidence rather than from how the page looks:

* the check finds no ECG → NOT AN ECG, with the evidence that failed;
* an ECG is never NOT AN ECG: the model's own "not an ECG" becomes UNCERTAIN;
* an ECG outside what the model knows (another layout, a screen, leads it could not read) →
  UNCERTAIN with the reasons, marked ``outside_domain``: no risk level is shown for it.

Everything here is plain NumPy and pure: the same inputs always give the same verdict.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from core.classes import NON_ECG
from core.use.ecg_check import NOT_ECG, OUTSIDE_DOMAIN, CheckOutcome

CONFIDENT = "CONFIDENT"
UNCERTAIN = "UNCERTAIN"
NOT_AN_ECG = "NOT AN ECG"
STATUSES = (CONFIDENT, UNCERTAIN, NOT_AN_ECG)

MIN_CONFIDENCE = 0.60
"""Top calibrated probability below this → UNCERTAIN."""
MIN_MARGIN = 0.30
"""Top-two probability gap below this → UNCERTAIN. Any top probability of at least 0.60 already
leaves a gap of at least 0.20, so the gap rule only adds cases where the top class has 0.60–0.65
and the runner-up takes nearly all the rest (e.g. 0.62 MI vs 0.35 History of MI)."""
PLAUSIBLE = 0.20
"""Classes at least this likely count as 'considered' for an UNCERTAIN result's risk."""
ENERGY_THRESHOLD = -2.0
"""Fallback energy threshold (above it → NOT AN ECG) when neither the bundle nor its reference
pages give one: the logits' log-sum-exp is below 2, so no class gets a convincing score."""
NOT_ECG_PROBABILITY = 0.80
"""p(not an ECG) from the feature check of :mod:`core.use.ood` above this → NOT AN ECG."""


@dataclass(frozen=True)
class Thresholds:
    """The decision thresholds; the defaults are the documented module constants."""

    min_confidence: float = MIN_CONFIDENCE
    min_margin: float = MIN_MARGIN
    energy: float = ENERGY_THRESHOLD
    not_ecg_probability: float = NOT_ECG_PROBABILITY

    @classmethod
    def for_metadata(cls, metadata, *, reference_energy: float | None = None) -> "Thresholds":
        """The bundle's own ``ood_energy_threshold`` if it stores one, else ``reference_energy``
        (measured on reference ECG pages), else the default."""
        extra = getattr(metadata, "extra", {}) or {}
        for value in (extra.get("ood_energy_threshold"), reference_energy):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
                return cls(energy=float(value))
        return cls()


@dataclass(frozen=True)
class Diagnosis:
    """The verdict for one image.

    ``probabilities`` are calibrated and sum to 1; ``reasons`` explain an UNCERTAIN or NOT AN ECG
    status in plain words; ``considered`` lists the classes at least :data:`PLAUSIBLE` likely
    (always including the top class), most likely first. ``outside_domain``: an ECG, but not one
    the model knows, so its class is shown for teaching only, without a risk level.
    """

    predicted: str
    confidence: float
    status: str
    probabilities: dict[str, float]
    margin: float
    energy: float | None = None
    reasons: tuple[str, ...] = ()
    considered: tuple[str, ...] = field(default_factory=tuple)
    outside_domain: bool = False

    @property
    def is_ecg(self) -> bool:
        return self.status != NOT_AN_ECG

    def to_dict(self) -> dict:
        return {"predicted": self.predicted, "confidence": self.confidence, "status": self.status,
                "probabilities": dict(self.probabilities), "margin": self.margin,
                "energy": self.energy, "reasons": list(self.reasons), "considered": list(self.considered),
                "outside_domain": self.outside_domain}


def energy_score(logits: Sequence[float] | np.ndarray, temperature: float = 1.0) -> float:
    """``-T·logsumexp(logits / T)``: low for familiar inputs, higher for out-of-distribution ones."""
    logits = np.asarray(logits, dtype="float64").ravel()
    t = float(temperature) if temperature and temperature > 0 else 1.0
    return float(-t * logsumexp(logits / t))


def diagnose(probabilities: Sequence[float] | np.ndarray | Mapping[str, float], classes: Sequence[str] | None = None,
             *, logits: Sequence[float] | np.ndarray | None = None, temperature: float = 1.0,
             not_ecg_probability: float | None = None, thresholds: Thresholds | None = None,
             page_check: CheckOutcome | None = None) -> Diagnosis:
    """Turn calibrated ``probabilities`` (one per class of ``classes``, or a ``{class: p}`` dict)
    into a :class:`Diagnosis`.

    ``logits`` (the model's pre-softmax outputs) enable the energy check; ``not_ecg_probability``
    is the feature check's p(not an ECG), for models that have one. ``page_check`` is the page
    reader's ECG check (None: the model alone decides whether the image is an ECG; see the module
    docstring for how the check and the model combine).
    """
    if isinstance(probabilities, Mapping):
        classes = list(probabilities)
        probs = np.array([float(probabilities[c]) for c in classes], dtype="float64")
    else:
        probs = np.asarray(probabilities, dtype="float64").ravel()
        if classes is None or len(classes) != len(probs):
            raise ValueError(f"need one class name per probability: {len(probs)} probabilities, "
                             f"{'no' if classes is None else len(classes)} class names")
        classes = [str(c) for c in classes]
    if len(probs) == 0 or not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError(f"probabilities must be finite and non-negative; got {probs.tolist()}")
    total = probs.sum()
    if total <= 0:
        raise ValueError("probabilities sum to zero")
    probs = probs / total
    limits = thresholds or Thresholds()

    order = np.argsort(-probs, kind="stable")
    top = int(order[0])
    confidence = float(probs[top])
    margin = float(confidence - probs[order[1]]) if len(probs) > 1 else confidence
    predicted = classes[top]
    energy = energy_score(logits, temperature) if logits is not None else None
    considered = tuple(classes[i] for i in order if i == top or probs[i] >= PLAUSIBLE)

    doubts = _model_doubts(predicted, not_ecg_probability, energy, limits)
    reasons: list[str] = []
    outside = page_check is not None and page_check.outcome == OUTSIDE_DOMAIN
    if page_check is not None and page_check.outcome == NOT_ECG:
        status = NOT_AN_ECG
        reasons += [f"the page shows too little of what makes an ECG (evidence score {page_check.score:.2f})",
                    *page_check.reasons, *doubts]
    elif page_check is None and doubts:
        status, reasons = NOT_AN_ECG, doubts
    else:
        if outside:
            reasons.append("outside what this model learned: " + "; ".join(page_check.reasons))
        if doubts:
            reasons += [f"the page reader found an ECG here (evidence score {page_check.score:.2f}), "
                        f"which this model does not recognise", *doubts]
        if confidence < limits.min_confidence:
            reasons.append(f"the top probability {confidence:.0%} is below {limits.min_confidence:.0%}")
        if len(probs) > 1 and margin < limits.min_margin:
            second = classes[int(order[1])]
            reasons.append(f"{predicted} and {second} are only {margin:.0%} apart "
                           f"(less than {limits.min_margin:.0%})")
        status = UNCERTAIN if reasons else CONFIDENT
    return Diagnosis(predicted=predicted, confidence=confidence, status=status,
                     probabilities={c: float(p) for c, p in zip(classes, probs)}, margin=margin,
                     energy=energy, reasons=tuple(reasons), considered=considered, outside_domain=outside)


def _model_doubts(predicted: str, not_ecg_probability: float | None, energy: float | None,
                  limits: Thresholds) -> list[str]:
    """Why the model itself thinks the image is not an ECG (empty: it does not)."""
    doubts = []
    if predicted == NON_ECG:
        doubts.append("the model's Non-ECG class is the most likely one")
    if not_ecg_probability is not None and not_ecg_probability > limits.not_ecg_probability:
        doubts.append(f"the model's features look like those of non-ECG images, not of ECG pages "
                      f"(p = {not_ecg_probability:.2f} > {limits.not_ecg_probability:.2f})")
    if energy is not None and energy > limits.energy:
        doubts.append(f"the model recognises nothing it was trained on in this image "
                      f"(out-of-distribution energy {energy:.1f} > {limits.energy:.1f})")
    return doubts
