"""Fit the ECG check's weights on the corpus's "fit" split and report it on the "test" split.

The model is a logistic regression on the evidence strengths (each in [0, 1]), class-balanced, so
every weight reads as "how much this evidence says ECG". The report counts non-ECG images refused
by kind and ECG images accepted by source (Mendeley, each ecg-other-dev kind, synthetic pages by
layout and by effect), only on images the fit did not see.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from core.use.ecg_check import EVIDENCE_NAMES, NOT_ECG, check_outcome, evidence_from_summary, evidence_items

REFUSE_SHARE = 0.98        # of the fit split's non-ECG images, as the issue asks of held-out ones
_C = 1.0                   # inverse regularisation: weights stay readable (single digits)


def feature_matrix(records: list[dict]) -> np.ndarray:
    """(n, items) evidence strengths of readable-or-not summaries (records with a summary only)."""
    return np.array([[e.strength for e in evidence_items(r["summary"])] for r in records])


def fit_params(records: list[dict], reader: str) -> dict[str, Any]:
    """Logistic-regression weights on the fit split's records (those the reader did not crash on)."""
    from sklearn.linear_model import LogisticRegression

    fit = [r for r in records if r["split"] == "fit" and r["summary"] is not None]
    x = feature_matrix(fit)
    y = np.array([r["group"] == "ecg" for r in fit], int)
    model = LogisticRegression(C=_C, class_weight="balanced", max_iter=2000).fit(x, y)
    scores = model.predict_proba(x)[:, 1]
    return {
        "about": "Weights of core.use.ecg_check: P(ECG) = logistic(bias + sum(weight * strength)); "
                 "fitted by scripts/calibrate_ecg_check.py (class-balanced logistic regression, C=1); "
                 "below 'threshold' an image the reader did not read as an ECG is not an ECG.",
        "bias": round(float(model.intercept_[0]), 4),
        "weights": {n: round(float(w), 4) for n, w in zip(EVIDENCE_NAMES, model.coef_[0])},
        "threshold": round(choose_threshold(scores[y == 0], scores[[r["source"] == "mendeley" for r in fit]]), 4),
        "fitted_on": {"ecg": int(y.sum()), "non_ecg": int(len(y) - y.sum())},
        "reader_hash": reader,
    }


def choose_threshold(non_ecg: np.ndarray, real_ecg: np.ndarray) -> float:
    """The score under which an image is not an ECG, from the fit split only.

    High enough to refuse ``REFUSE_SHARE`` of the non-ECG images, but never above the lowest real
    ECG page (every real page must pass), and never under 0.5.
    """
    wanted = float(np.quantile(non_ecg, REFUSE_SHARE)) + 0.01
    return float(np.clip(wanted, 0.5, real_ecg.min() - 0.01 if real_ecg.size else 0.9))


def _group_key(record: dict) -> list[str]:
    """The table rows a record counts in."""
    kind = record["kind"]
    if kind.startswith("synthetic_"):
        _, rest = kind.split("_", 1)
        layout, effect = rest.split("_", 1)
        return ["synthetic (all)", f"synthetic layout {layout}", f"synthetic effect {effect}"]
    return [kind]


def report(records: list[dict], params: dict[str, Any], split: str = "test") -> dict[str, Any]:
    """Per group: images, how many got the right answer (refused / accepted), and the misses."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {"n": 0, "right": 0, "misses": []})
    for record in records:
        if record["split"] != split:
            continue
        if record["summary"] is None:
            right, why = record["group"] == "non_ecg", f"reader error {record['error']}"
        else:
            evidence = evidence_from_summary(record["summary"], params)
            outcome = check_outcome(evidence, params=params)
            right = (outcome.outcome == NOT_ECG) == (record["group"] == "non_ecg")
            why = f"score {evidence.score:.2f}, {outcome.outcome}: {'; '.join(outcome.reasons[:3])}"
        for key in _group_key(record):
            row = rows[(record["group"], key)]
            row["n"] += 1
            row["right"] += int(right)
            if not right:
                row["misses"].append(f"{record['key']} ({why})")
    return {f"{g}/{k}": v for (g, k), v in sorted(rows.items())}


def format_report(table: dict[str, Any]) -> str:
    """The report as a text table: refused for non-ECG kinds, accepted for ECG sources."""
    lines = [f"{'group':44s} {'n':>5s} {'right':>6s} {'rate':>7s}"]
    for key, row in table.items():
        verb = "refused" if key.startswith("non_ecg") else "accepted"
        lines.append(f"{key:44s} {row['n']:5d} {row['right']:6d} {row['right'] / row['n']:7.1%}  {verb}")
    misses = [m for row in table.values() for m in row["misses"]]
    lines += ["", f"misses ({len(misses)}):"] + [f"  {m}" for m in dict.fromkeys(misses)]
    return "\n".join(lines)
