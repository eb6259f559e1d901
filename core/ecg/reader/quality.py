"""Quality of a reading without labels: lead consistency, heart rate per lead, coverage, a verdict.

Leads recorded at the same moment obey Einthoven (II = I + III) and Goldberger
(aVR + aVL + aVF = 0); their residual over the leads' own size is near 0 for a good reading and
near 1 or more for noise. The heart rate from R peaks (``beats.r_peaks``) must be physiological and the
same in every lead as in the rhythm strip over the same seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.ecg.reader.beats import r_peaks
from core.ecg.reader.signals import LeadSignal

MAX_EINTHOVEN = 0.5
MAX_HR_MAD_BPM = 10.0
MIN_COVERAGE = 0.7
MAX_LAG = 5                 # samples (10 ms at 500 Hz) one lead may lag the others in the law checks
_MIN_RR_BEATS = 1        # a 2.5 s segment at 60 bpm shows 2 or 3 beats


@dataclass(frozen=True)
class PageQuality:
    """Per-page numbers and the verdict."""

    readable: bool
    reasons: tuple[str, ...]
    heart_rate_bpm: float | None
    lead_rates: dict[str, float]
    qc: dict[str, float | None] = field(default_factory=dict)


def _shared(leads: dict[str, LeadSignal], names: tuple[str, ...]) -> np.ndarray | None:
    """The named leads on their common time span as rows of a (k, n) array, or None."""
    if not all(n in leads for n in names):
        return None
    fs = leads[names[0]].fs
    start = max(leads[n].start_s for n in names)
    end = min(leads[n].start_s + len(leads[n].mv) / fs for n in names)
    if end - start < 0.5:
        return None
    rows = []
    for n in names:
        i0 = int(round((start - leads[n].start_s) * fs))
        rows.append(leads[n].mv[i0:i0 + int((end - start) * fs)])
    k = min(len(r) for r in rows)
    return np.array([r[:k] for r in rows])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0


def law_ratio(leads: dict[str, LeadSignal], plus: tuple[str, ...], minus: tuple[str, ...] = (),
              max_lag: int = 0) -> float | None:
    """RMS of (Σ plus − Σ minus) over the mean RMS of the leads, on finite shared samples; None if unknown.

    ``max_lag`` > 0 allows any one lead to move by up to that many samples against the rest, and
    keeps the best: printers sample leads a few ms apart, and a row's time axis can be off by as
    much (a residual skew).
    """
    names = plus + minus
    data = _shared(leads, names)
    if data is None:
        return None
    best = None
    shifts = [(moved, lag) for moved in range(len(names) if max_lag else 1) for lag in range(-max_lag, max_lag + 1)]
    for moved, lag in shifts:
        shifted = data.copy()
        shifted[moved] = np.roll(data[moved], lag)
        part = shifted[:, max_lag:shifted.shape[1] - max_lag]
        part = part[:, np.isfinite(part).all(axis=0)]
        if part.shape[1] < 100:
            continue
        residual = part[:len(plus)].sum(axis=0) - part[len(plus):].sum(axis=0)
        residual -= np.median(residual)             # each lead's zero is the reader's estimate: one offset
        size = float(np.mean([_rms(r - np.median(r)) for r in part]))
        if size > 0:
            ratio = _rms(residual) / size
            best = ratio if best is None else min(best, ratio)
    return best


def r_peaks_s(signal: LeadSignal) -> np.ndarray | None:
    """Times (s, on the page's clock) of the lead's R peaks; None where none can be found."""
    peaks = r_peaks(signal)
    return None if peaks is None else signal.start_s + peaks / signal.fs


def _rate(peaks_s: np.ndarray | None) -> float | None:
    """bpm from the median RR interval, None with fewer than ``_MIN_RR_BEATS`` intervals."""
    if peaks_s is None or len(peaks_s) < _MIN_RR_BEATS + 1:
        return None
    return float(60 / np.median(np.diff(peaks_s)))


def lead_rate(signal: LeadSignal) -> float | None:
    """Heart rate in bpm from the lead's R peaks, None with fewer than 2 RR intervals."""
    return _rate(r_peaks_s(signal))


def _rate_deviations(leads: dict[str, LeadSignal], peaks: dict[str, np.ndarray], rates: dict[str, float]) -> np.ndarray:
    """How far (bpm) each lead's rate is from the rate it should show: the leads' median rate or,
    nearer still, the rhythm strip's rate over the lead's own seconds.

    An irregular rhythm makes leads from different time windows differ honestly, while a lead and
    the strip over one window show the same beats. The strip's few beats in a 2.5 s window are
    easily miscounted too, so the nearer of the two rates counts.
    """
    values = np.array(list(rates.values()))
    deviations = np.abs(values - np.median(values)) if len(values) else values
    strips = [n for n in rates if n.endswith("-rhythm")]
    if not strips:
        return deviations
    strip = peaks[strips[0]]
    for i, (name, rate) in enumerate(rates.items()):
        signal = leads[name]
        end = signal.start_s + len(signal.mv) / signal.fs
        slack = 30 / rate                     # half a beat each side: the strip's beat at a window edge
        window = _rate(strip[(strip >= signal.start_s - slack) & (strip <= end + slack)])
        if window is not None:
            deviations[i] = min(deviations[i], abs(rate - window))
    return deviations


def _simultaneous_spread(leads: dict[str, LeadSignal], rates: dict[str, float]) -> float | None:
    """Largest rate difference (bpm) among leads printed over the same time window.

    Leads from different windows of an irregular rhythm may differ honestly; leads from one
    window cannot, so only those are compared (a diagnostic number: 2.5 s windows hold 1-3 RR
    intervals, so it is noisy and not part of the verdict).
    """
    windows: dict[tuple[float, int], list[float]] = {}
    for name, rate in rates.items():
        signal = leads[name]
        windows.setdefault((round(signal.start_s, 2), len(signal.mv) // 50), []).append(rate)
    spreads = [max(r) - min(r) for r in windows.values() if len(r) >= 2]
    return float(max(spreads)) if spreads else None


def assess(leads: dict[str, LeadSignal], names_known: bool = True) -> PageQuality:
    """Consistency, heart rate and coverage of the leads, and whether the page was read (else why not).

    ``names_known=False`` (a generic "N rows" layout, names guessed by position) skips the law checks.
    """
    reasons: list[str] = []
    coverage = {n: s.coverage for n, s in leads.items()}
    peaks = {n: p for n, s in leads.items() if (p := r_peaks_s(s)) is not None}
    rates = {n: r for n, p in peaks.items() if (r := _rate(p)) is not None}
    einthoven = law_ratio(leads, ("I", "III"), ("II",), MAX_LAG) if names_known else None
    goldberger = law_ratio(leads, ("aVR", "aVL", "aVF"), (), MAX_LAG) if names_known else None
    values = np.array(list(rates.values()))
    rhythm = [r for n, r in rates.items() if n.endswith("-rhythm")]
    # The page's rate from the longest view, a rhythm strip, unless its peaks were missed (it then
    # disagrees with the leads' median by more than the verdict's tolerance).
    hr = float(np.median(values)) if len(values) else None
    if rhythm and hr is not None and abs(float(np.median(rhythm)) - hr) <= MAX_HR_MAD_BPM:
        hr = float(np.median(rhythm))
    mad = float(np.median(_rate_deviations(leads, peaks, rates))) if len(values) else None
    spread = _simultaneous_spread(leads, rates)
    median_cov = float(np.median(list(coverage.values()))) if coverage else 0.0
    if len(leads) < 3:
        reasons.append(f"only {len(leads)} trace rows or leads found (an ECG has at least 3)")
    if median_cov < MIN_COVERAGE:
        reasons.append(f"leads read over {median_cov:.0%} of their length (median), under {MIN_COVERAGE:.0%}")
    if len(rates) < max(2, len(leads) // 2):
        reasons.append(f"R peaks found in {len(rates)} of {len(leads)} leads")
    if hr is not None and not 25 <= hr <= 250:
        reasons.append(f"heart rate {hr:.0f} bpm is not physiological")
    if mad is not None and mad > MAX_HR_MAD_BPM:
        reasons.append(f"heart rate disagrees between leads (median deviation {mad:.0f} bpm)")
    if einthoven is not None and einthoven > MAX_EINTHOVEN:
        reasons.append(f"limb leads break Einthoven's law (residual {einthoven:.2f} of their size)")
    qc: dict[str, float | None] = {
        "einthoven_ratio": einthoven, "goldberger_ratio": goldberger,
        "einthoven_ratio_zero_lag": law_ratio(leads, ("I", "III"), ("II",)) if names_known else None,
        "hr_mad_bpm": mad, "hr_spread_bpm": spread, "leads_with_rate": float(len(rates)),
        "median_coverage": median_cov, "min_coverage": min(coverage.values()) if coverage else 0.0,
    }
    return PageQuality(not reasons, tuple(reasons), hr, rates, qc)
