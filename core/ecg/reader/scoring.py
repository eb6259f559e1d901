"""How close a digitised lead is to its reference: the PhysioNet/CinC 2024 SNR and Pearson r.

A reader cannot know the exact time origin or the isoelectric level a printer used, so both
scores first align the digitised lead by the best small time shift and a constant vertical
offset, then ignore samples that are NaN in either signal, or
count the digitised lead's NaN samples as a flat line (the Challenge's evaluation code sets
them, and every lead not returned, to zero).
"""
from __future__ import annotations

import numpy as np


def _aligned_pairs(reference: np.ndarray, digitised: np.ndarray, max_shift: int):
    """Yield (shift, ref, dig, unread) for every shift in [-max_shift, max_shift]: the samples
    finite in both, and the reference's samples where the digitised lead is NaN."""
    n = min(len(reference), len(digitised))
    for shift in range(-max_shift, max_shift + 1):
        if shift >= 0:
            ref, dig = reference[shift:n], digitised[:n - shift]
        else:
            ref, dig = reference[:n + shift], digitised[-shift:n]
        ok = np.isfinite(ref) & np.isfinite(dig)
        if ok.sum() >= 2:
            yield shift, ref[ok], dig[ok], ref[np.isfinite(ref) & ~np.isfinite(dig)]


def lead_snr(reference: np.ndarray, digitised: np.ndarray, fs: float = 500.0,
             max_shift_s: float = 0.05, unread_as_flat: bool = False) -> tuple[float, float]:
    """(SNR in dB, Pearson r) of ``digitised`` against ``reference``, after the best alignment.

    SNR = 10·log10(Σ ref² / Σ (dig − ref)²) with ``ref`` centred and ``dig`` given the constant
    offset that fits ``ref`` best; the shift (up to ``max_shift_s``) maximising the SNR is used.
    NaN samples of ``digitised`` are skipped, or with ``unread_as_flat`` read as the lead's level
    (their whole reference is error, as the Challenge's scoring sets them to zero).
    Returns (nan, nan) when the two have fewer than 2 finite samples in common.
    """
    reference = np.asarray(reference, float)
    digitised = np.asarray(digitised, float)
    best = (np.nan, np.nan)
    for _, ref, dig, unread in _aligned_pairs(reference, digitised, int(round(max_shift_s * fs))):
        level = ref.mean()
        ref = ref - level
        dig = dig - dig.mean()                 # the constant offset minimising Σ(dig − ref)²
        noise = float(np.sum((dig - ref) ** 2))
        power = float(np.sum(ref ** 2))
        if unread_as_flat:
            missed = float(np.sum((unread - level) ** 2))
            noise, power = noise + missed, power + missed
        if power == 0:
            continue
        snr = np.inf if noise == 0 else 10 * np.log10(power / noise)
        if np.isnan(best[0]) or snr > best[0]:
            spread = float(np.std(dig)) * float(np.std(ref))
            r = float(np.mean(dig * ref) / spread) if spread > 0 else np.nan
            best = (float(snr), r)
    return best
