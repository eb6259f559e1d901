"""Do a lead's beats look alike? The shape test that tells a heart from other wiggles.

A heart repeats one activation sequence, so the QRS-T complexes of a lead have nearly the same
shape even when the rhythm is irregular (atrial fibrillation changes the timing, not the beat).
EEG, seismic and audio traces give NeuroKit2 "R peaks" too, and at plausible rates, but what
follows one peak does not resemble what follows the next. Measured on the readings of the ECG
check's corpus: Mendeley pages 0.80-0.99, other-source ECGs mostly 0.6-0.99, EEG and seismic
plots 0.35 or less.
"""
from __future__ import annotations

import warnings

import numpy as np

from core.ecg.reader.signals import LeadSignal

BEFORE_S, AFTER_S = 0.2, 0.4     # a beat: from before the QRS to the end of the T wave at normal rates
_MIN_READ = 0.6                  # share of a lead that must be read to look for beats in it


def r_peaks(signal: LeadSignal) -> np.ndarray | None:
    """Sample indices of the lead's R peaks (NeuroKit2), gaps bridged; None when there is too little to look at."""
    import neurokit2 as nk

    mv = filled(signal.mv)
    if mv is None or len(mv) < signal.fs or np.ptp(mv) < 0.05:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, info = nk.ecg_peaks(nk.ecg_clean(mv, sampling_rate=signal.fs), sampling_rate=signal.fs)
        except (ValueError, IndexError, ZeroDivisionError):
            return None
    return np.asarray(info["ECG_R_Peaks"], dtype=int)


def filled(mv: np.ndarray) -> np.ndarray | None:
    """The lead with its unread gaps interpolated, or None when less than 60 % of it was read."""
    ok = np.isfinite(mv)
    if ok.mean() < _MIN_READ:
        return None
    index = np.arange(len(mv))
    return np.interp(index, index[ok], mv[ok])


def lead_beat_similarity(signal: LeadSignal) -> float | None:
    """Mean correlation between every two beats of the lead (1: identical shapes), None under 2 beats."""
    peaks = r_peaks(signal)
    if peaks is None:
        return None
    before, after = int(BEFORE_S * signal.fs), int(AFTER_S * signal.fs)
    mv = filled(signal.mv)
    peaks = peaks[(peaks >= before) & (peaks + after <= len(mv))]
    if len(peaks) < 2:
        return None
    beats = np.stack([mv[p - before:p + after] for p in peaks])
    beats = beats - beats.mean(axis=1, keepdims=True)
    if np.any(beats.std(axis=1) == 0):
        return None
    n = len(beats)
    return float((np.corrcoef(beats).sum() - n) / (n * (n - 1)))


def beat_similarity(leads: dict[str, LeadSignal]) -> tuple[float | None, int]:
    """The median of the leads' beat similarities, and how many leads had two beats or more."""
    values = [v for s in leads.values() if (v := lead_beat_similarity(s)) is not None]
    return (float(np.median(values)) if values else None), len(values)
