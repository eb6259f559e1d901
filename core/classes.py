"""Canonical class names and the mapping from the many ways datasets name their folders.

The Mendeley originals use long folder names such as
``ECG Images of Myocardial Infarction Patients (240x12=2880)``, Kaggle's ECG_DATA uses the same
or short names (``mi``, ``pmi``, ``hb``), and the original notebooks used ``nonecg_images``.
Anything that matches none of the patterns is kept as it is, so any other class set works too.
"""
from __future__ import annotations

import re

MI = "Myocardial Infarction"
HISTORY_OF_MI = "History of MI"
ABNORMAL = "Abnormal Heartbeat"
NORMAL = "Normal"
NON_ECG = "Non-ECG"

CANONICAL_CLASSES: tuple[str, ...] = (MI, HISTORY_OF_MI, ABNORMAL, NORMAL, NON_ECG)
ECG_CLASSES: tuple[str, ...] = CANONICAL_CLASSES[:4]

# Order matters: "history of mi" must be tested before plain "mi", "non ecg" before "ecg"-free
# normal/abnormal patterns, and "abnormal" before "normal".
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"non[\s_-]*ecg|not[\s_-]*ecg|nonecg", NON_ECG),
    (r"history\s+of\s+mi|post[\s_-]*mi|\bp?h?mi[\s_-]*hist|\bpmi\b|\bhmi\b|old[\s_-]*mi|previous[\s_-]*mi", HISTORY_OF_MI),
    (r"abnormal|\bhb\b|arrhythm|irregular", ABNORMAL),
    (r"myocardial\s+infarction|\bami\b|\bmi\b|infarct", MI),
    (r"\bnormal\b", NORMAL),
)


def _normalise(folder_name: str) -> str:
    text = re.sub(r"\(.*?\)", " ", folder_name)          # "(240x12=2880)" counts, not meaning
    text = re.sub(r"[_\-.]+", " ", text).lower()
    return re.sub(r"\s+", " ", text).strip()


def canonical_class(folder_name: str) -> str:
    """Map a dataset folder name to a canonical class; unknown names come back unchanged (stripped)."""
    text = _normalise(folder_name)
    for pattern, label in _PATTERNS:
        if re.search(pattern, text):
            return label
    return folder_name.strip()


def class_slug(name: str) -> str:
    """A file-system friendly name: ``History of MI`` -> ``history_of_mi``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "class"


def order_classes(names) -> list[str]:
    """Canonical classes first in their fixed order, any others after them alphabetically."""
    names = set(names)
    known = [c for c in CANONICAL_CLASSES if c in names]
    return known + sorted(names - set(known))
