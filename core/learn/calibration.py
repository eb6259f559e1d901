"""Confidence calibration: temperature scaling and expected calibration error.

A softmax network trained on a few hundred pages is usually over-confident. Temperature scaling
divides the logits by one number ``T`` fitted on the validation split; it never changes which
class wins, only how sure the model claims to be.
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, softmax

_EPS = 1e-7


def probabilities_to_logits(probs: np.ndarray) -> np.ndarray:
    """Logits (up to a per-row constant) of softmax outputs."""
    return np.log(np.clip(probs, _EPS, 1.0))


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale softmax outputs as if the logits had been divided by ``temperature``."""
    return softmax(probabilities_to_logits(probs) / temperature, axis=-1)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises the negative log-likelihood of ``labels``."""
    from scipy.optimize import minimize_scalar   # 0.25 s to import; only training needs it

    if len(labels) == 0:
        return 1.0
    logits = probabilities_to_logits(probs)
    rows = np.arange(len(labels))

    def nll(t: float) -> float:
        return float(-log_softmax(logits / t, axis=-1)[rows, labels].mean())

    result = minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded")
    return float(result.x) if result.success else 1.0


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 10) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins
    and weighted by how many predictions fall in each."""
    if len(labels) == 0:
        return float("nan")
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)
