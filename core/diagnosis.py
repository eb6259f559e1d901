"""From calibrated class probabilities to a verdict a student can act on: CONFIDENT, UNCERTAIN or
NOT AN ECG.

A softmax classifier always names one of its classes, even for a selfie. Two checks guard that:

* **UNCERTAIN** when the top probability is below :data:`MIN_CONFIDENCE` or the top two are
  closer than :data:`MIN_MARGIN` — the model cannot tell the classes apart for this image;
* **NOT AN ECG** when the Non-ECG class wins, or when the image is out of distribution for the
  model. The out-of-distribution (OOD) score is the *energy* of the pre-softmax logits,
  ``E = -T·logsumexp(logits / T)`` (Liu et al., "Energy-based out-of-distribution detection",
  NeurIPS 2020): pages like the training pages get large logits and a low (very negative) energy;
  images unlike anything seen in training get small logits and a higher energy. The energy is
  compared with :data:`ENERGY_THRESHOLD`, or with a bundle's own threshold
  (``metadata.json`` key ``ood_energy_threshold``, e.g. a high percentile of the validation
  energies), and a page with no ECG grid at all must also pass the stricter
  :data:`ENERGY_THRESHOLD_NO_GRID`.

Everything here is plain NumPy and pure: the same probabilities always give the same verdict.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from core.classes import NON_ECG

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
"""Energy above this → NOT AN ECG. -2.0 means the logits' log-sum-exp is below 2: no class gets a
convincing score. Measured on the lab's compact CNNs (see tests/test_diagnosis.py), ECG pages sit
far below it; bundles can store a tighter, data-driven value."""
ENERGY_THRESHOLD_NO_GRID = -6.0
"""When no ECG grid is found on the image, a stricter energy threshold applies."""


@dataclass(frozen=True)
class Thresholds:
    """The decision thresholds; the defaults are the documented module constants."""

    min_confidence: float = MIN_CONFIDENCE
    min_margin: float = MIN_MARGIN
    energy: float = ENERGY_THRESHOLD
    energy_no_grid: float = ENERGY_THRESHOLD_NO_GRID

    @classmethod
    def for_metadata(cls, metadata) -> "Thresholds":
        """Defaults, with the bundle's own ``ood_energy_threshold`` when it stores one."""
        extra = getattr(metadata, "extra", {}) or {}
        value = extra.get("ood_energy_threshold")
        if isinstance(value, (int, float)) and np.isfinite(value):
            return cls(energy=float(value), energy_no_grid=min(float(value), ENERGY_THRESHOLD_NO_GRID))
        return cls()


@dataclass(frozen=True)
class Diagnosis:
    """The verdict for one image.

    ``probabilities`` are calibrated and sum to 1; ``reasons`` explain an UNCERTAIN or NOT AN ECG
    status in plain words; ``considered`` lists the classes at least :data:`PLAUSIBLE` likely
    (always including the top class), most likely first.
    """

    predicted: str
    confidence: float
    status: str
    probabilities: dict[str, float]
    margin: float
    energy: float | None = None
    reasons: tuple[str, ...] = ()
    considered: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_ecg(self) -> bool:
        return self.status != NOT_AN_ECG

    def to_dict(self) -> dict:
        return {"predicted": self.predicted, "confidence": self.confidence, "status": self.status,
                "probabilities": dict(self.probabilities), "margin": self.margin,
                "energy": self.energy, "reasons": list(self.reasons), "considered": list(self.considered)}


def energy_score(logits: Sequence[float] | np.ndarray, temperature: float = 1.0) -> float:
    """``-T·logsumexp(logits / T)``: low for familiar inputs, higher for out-of-distribution ones."""
    logits = np.asarray(logits, dtype="float64").ravel()
    t = float(temperature) if temperature and temperature > 0 else 1.0
    return float(-t * logsumexp(logits / t))


def diagnose(probabilities: Sequence[float] | np.ndarray | Mapping[str, float], classes: Sequence[str] | None = None,
             *, logits: Sequence[float] | np.ndarray | None = None, temperature: float = 1.0,
             grid_found: bool | None = None, thresholds: Thresholds | None = None) -> Diagnosis:
    """Turn calibrated ``probabilities`` (one per class of ``classes``, or a ``{class: p}`` dict)
    into a :class:`Diagnosis`.

    ``logits`` (the model's pre-softmax outputs) enable the energy check; ``grid_found`` (from the
    grid detector; ``None`` when unknown) selects the stricter threshold for grid-less images.
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

    reasons: list[str] = []
    if predicted == NON_ECG:
        reasons.append("the model's Non-ECG class is the most likely one")
    if energy is not None:
        limit = limits.energy_no_grid if grid_found is False else limits.energy
        if energy > limit:
            where = " and no ECG grid was found on it" if grid_found is False else ""
            reasons.append(f"the image looks unlike the pages the model was trained on{where} "
                           f"(out-of-distribution energy {energy:.1f} > {limit:.1f})")
    if reasons:
        status = NOT_AN_ECG
    else:
        if confidence < limits.min_confidence:
            reasons.append(f"the top probability {confidence:.0%} is below {limits.min_confidence:.0%}")
        if len(probs) > 1 and margin < limits.min_margin:
            second = classes[int(order[1])]
            reasons.append(f"{predicted} and {second} are only {margin:.0%} apart "
                           f"(less than {limits.min_margin:.0%})")
        status = UNCERTAIN if reasons else CONFIDENT
    return Diagnosis(predicted=predicted, confidence=confidence, status=status,
                     probabilities={c: float(p) for c, p in zip(classes, probs)}, margin=margin,
                     energy=energy, reasons=tuple(reasons), considered=considered)
