"""Explaining a page reading to students: what each quality number of the reader means.

The reader (:mod:`core.ecg.reader`) checks its own work without labels, with the physics of the
ECG: leads recorded at the same moment must add up (Einthoven, Goldberger) and show the same heart
rate. This module turns its numbers into a table a student can read.
"""
from __future__ import annotations

import pandas as pd

# qc key -> (what it is, when it is good, why it matters). Keys the reader adds later still show,
# with their raw name and no explanation, so a new number is never hidden.
QC_GLOSSARY: dict[str, tuple[str, str, str]] = {
    "einthoven_ratio": (
        "Einthoven residual", "≤ 0.20",
        "Lead II equals I + III at every instant (the three limb electrodes form a loop). What is left of "
        "I + III − II, over the size of those leads: 0 for a perfect reading; near 1 means the leads were "
        "misread or misnamed."),
    "goldberger_ratio": (
        "Goldberger residual", "≤ 0.20",
        "aVR + aVL + aVF = 0 (the augmented leads are built from the same three electrodes). Same scale "
        "as Einthoven's."),
    "einthoven_ratio_zero_lag": (
        "Einthoven residual, no time shift", "≤ 0.30",
        "The same check without letting one lead slide by up to 10 ms: a large gap to the residual above "
        "means the columns of the page were read slightly out of step."),
    "hr_mad_bpm": (
        "Heart-rate disagreement (bpm)", "≤ 5",
        "The heart rate counted from the R peaks of each lead; the median distance from the page's rate. "
        "One heart beats once per beat in every lead, so a good reading agrees."),
    "hr_spread_bpm": (
        "Heart-rate spread (bpm)", "small",
        "Highest minus lowest rate over the leads: one lead with a missed or extra R peak shows here first."),
    "leads_with_rate": (
        "Leads with R peaks", "most leads",
        "How many leads showed at least two R peaks; a 2.5 s segment at a slow rate may show too few."),
    "median_coverage": (
        "Coverage (median lead)", "≥ 0.90",
        "The share of each lead's time where a trace was found; labels, pulses and gaps are not read."),
    "min_coverage": (
        "Coverage (worst lead)", "≥ 0.70",
        "The least-read lead: a fold, a stain or a finger over the paper shows here."),
    "grid_contrast": (
        "Grid contrast", "high",
        "How clearly the millimetre grid stands out in the spectrum of the page: it gives the scale "
        "(1 mm = 0.04 s = 0.1 mV). Without a grid the reader falls back on the calibration pulse or the page size."),
    "rotation_deg": (
        "Rotation (degrees)", "any (corrected)",
        "How far the sheet was turned; the reader turns it back before reading."),
    "perspective": (
        "Perspective", "any (corrected)",
        "How much the camera looked at the sheet from an angle (0 for a flat scan); the reader undoes it."),
}


def quality_table(qc: dict[str, float | None]) -> pd.DataFrame:
    """One row per quality number: ``check``, ``value``, ``good when`` and ``what it means``."""
    rows = []
    for key, value in qc.items():
        name, good, meaning = QC_GLOSSARY.get(key, (key, "", ""))
        rows.append({"check": name, "value": None if value is None else round(float(value), 3),
                     "good when": good, "what it means": meaning})
    return pd.DataFrame(rows, columns=["check", "value", "good when", "what it means"])
