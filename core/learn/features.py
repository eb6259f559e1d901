"""What a cardiologist measures, from the page tensor: the clinical baseline students can read.

Per page, from the rhythm strip (or the longest lead II) with NeuroKit2: heart rate, RR variability
(atrial fibrillation, ectopics and dropped beats make it irregular), and the PR, QRS and QT
intervals where its delineation works. Per lead, from the lead's median beat (beats aligned on
their R peaks): R and S amplitude, Q depth, the ST level 60 ms after the J point and the T wave, in
mV above the isoelectric line. Territory summaries (highest ST, deepest Q per coronary territory)
make a linear model's job plain. Features that cannot be measured are NaN; the model imputes them.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.ecg.reader import FS
from core.learn.feature_model import NOT_MEASURED
from core.synth.waveforms import LEADS, TERRITORIES

_PRE_S, _POST_S = 0.25, 0.45             # median-beat window around the R peak
_DEFAULT_J_S = 0.05                      # R peak → J point when delineation fails
LEAD_FEATURES = ("r_mv", "s_mv", "q_mv", "st60_mv", "t_mv")
RHYTHM_FEATURES = ("rate_bpm", "rr_cv", "rr_range", "pr_s", "qrs_s", "qt_s", "qtc_s")


def _read_span(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The samples between the first and last read one."""
    read = np.flatnonzero(mask > 0.5)
    return values[read[0]:read[-1] + 1] if len(read) else values[:0]


def _r_peaks(signal: np.ndarray) -> np.ndarray:
    """R peaks (sample indices) of one lead; empty when NeuroKit2 finds no rhythm in it."""
    import neurokit2 as nk

    if len(signal) < FS or np.ptp(signal) < 0.1:
        return np.array([], int)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, info = nk.ecg_peaks(nk.ecg_clean(signal, sampling_rate=FS), sampling_rate=FS)
    except Exception:  # noqa: BLE001 - NeuroKit2 raises many kinds on flat or odd signals
        return np.array([], int)
    peaks = np.asarray(info["ECG_R_Peaks"], int)
    # NeuroKit's peak is on its cleaned signal; move to the extreme of the raw QRS (either polarity).
    half = int(0.04 * FS)
    return np.array([max(0, p - half) + int(np.argmax(np.abs(signal[max(0, p - half):p + half])))
                     for p in peaks if p < len(signal)], int)


def _delineation(signal: np.ndarray, peaks: np.ndarray) -> dict[str, float]:
    """Median PR, QRS and QT (s) from NeuroKit2's wavelet delineation; NaN where it fails."""
    import neurokit2 as nk

    out = {"pr_s": np.nan, "qrs_s": np.nan, "qt_s": np.nan}
    if len(peaks) < 3:
        return out
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, waves = nk.ecg_delineate(nk.ecg_clean(signal, sampling_rate=FS), peaks, sampling_rate=FS,
                                        method="dwt")
    except Exception:  # noqa: BLE001
        return out

    def median_gap(start: str, end: str, low: float, high: float) -> float:
        a = np.asarray(waves.get(start, []), float)
        b = np.asarray(waves.get(end, []), float)
        n = min(len(a), len(b))
        gaps = (b[:n] - a[:n]) / FS
        gaps = gaps[np.isfinite(gaps) & (gaps >= low) & (gaps <= high)]   # delineation slips count as missing
        return float(np.median(gaps)) if len(gaps) else np.nan

    out["pr_s"] = median_gap("ECG_P_Onsets", "ECG_R_Onsets", 0.06, 0.40)
    out["qrs_s"] = median_gap("ECG_R_Onsets", "ECG_R_Offsets", 0.04, 0.20)
    out["qt_s"] = median_gap("ECG_R_Onsets", "ECG_T_Offsets", 0.20, 0.65)
    return out


def rhythm_features(strip: np.ndarray) -> dict[str, float]:
    """Rate, RR variability and intervals of a rhythm trace in mV at 500 Hz."""
    peaks = _r_peaks(strip)
    out = dict.fromkeys(RHYTHM_FEATURES, np.nan)
    if len(peaks) >= 2:
        rr = np.diff(peaks) / FS
        out.update(rate_bpm=60.0 / float(np.mean(rr)), rr_cv=float(np.std(rr) / np.mean(rr)),
                   rr_range=float(rr.max() / rr.min()))
        out.update(_delineation(strip, peaks))
        out["qtc_s"] = out["qt_s"] / np.sqrt(np.mean(rr))          # Bazett
    return out


def median_beat(signal: np.ndarray, peaks: np.ndarray) -> np.ndarray | None:
    """The median of the beats around ``peaks`` (from 0.25 s before to 0.45 s after), or None."""
    pre, post = int(_PRE_S * FS), int(_POST_S * FS)
    beats = [signal[p - pre:p + post] for p in peaks if p - pre >= 0 and p + post <= len(signal)]
    return np.median(beats, axis=0) if beats else None


def lead_features(beat: np.ndarray | None, j_s: float = _DEFAULT_J_S) -> dict[str, float]:
    """Amplitudes (mV, isoelectric = 0) of one lead's median beat; ``j_s`` is R peak → J point."""
    if beat is None:
        return dict.fromkeys(LEAD_FEATURES, np.nan)
    r0 = int(_PRE_S * FS)

    def part(a: float, b: float) -> np.ndarray:
        return beat[r0 + int(a * FS):r0 + int(b * FS) + 1]

    t_wave = part(j_s + 0.10, j_s + 0.35)
    return {
        "r_mv": float(max(part(-0.05, 0.05).max(), 0.0)),
        "s_mv": float(min(part(0.0, 0.08).min(), 0.0)),
        "q_mv": float(min(part(-0.06, -0.015).min(), 0.0)),
        "st60_mv": float(part(j_s + 0.05, j_s + 0.07).mean()),
        "t_mv": float(t_wave[np.argmax(np.abs(t_wave))]) if len(t_wave) else np.nan,
    }


def page_features(tensor: Mapping[str, np.ndarray]) -> dict[str, float]:
    """All features of one page tensor (``core.learn.signal_data.page_tensor``)."""
    rhythm = _read_span(tensor["rhythm"][:, 0], tensor["rhythm"][:, 1])
    if len(rhythm) < 2 * FS:    # no strip: the longest-read lead carries the rhythm
        spans = [_read_span(tensor["leads"][i, :, 0], tensor["leads"][i, :, 1]) for i in range(len(LEADS))]
        rhythm = max(spans, key=len)
    out = rhythm_features(rhythm)
    qrs = out["qrs_s"]
    j_s = float(np.clip(qrs / 2, 0.03, 0.08)) if np.isfinite(qrs) else _DEFAULT_J_S
    per_lead = {}
    for i, name in enumerate(LEADS):
        signal = _read_span(tensor["leads"][i, :, 0], tensor["leads"][i, :, 1])
        per_lead[name] = lead_features(median_beat(signal, _r_peaks(signal)), j_s)
        out.update({f"{name}:{k}": v for k, v in per_lead[name].items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN territories stay NaN
        for territory, names in TERRITORIES.items():
            out[f"{territory}:st_max"] = float(np.nanmax([per_lead[n]["st60_mv"] for n in names]))
            out[f"{territory}:q_min"] = float(np.nanmin([per_lead[n]["q_mv"] for n in names]))
            out[f"{territory}:t_min"] = float(np.nanmin([per_lead[n]["t_mv"] for n in names]))
    return out


def feature_table(tensors: Sequence[Mapping[str, np.ndarray]]) -> pd.DataFrame:
    """One row of :func:`page_features` per page tensor."""
    return pd.DataFrame([page_features(t) for t in tensors])


def build_feature_model(kind: str = "logistic", seed: int = 0):
    """The scikit-learn pipeline: median imputation (with missing-value flags), scaling, and a
    class-balanced logistic regression (readable coefficients) or gradient boosting."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic":
        classifier = LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000)
    elif kind == "boosting":
        classifier = HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05, max_iter=200,
                                                    class_weight="balanced", random_state=seed)
    else:
        raise ValueError(f"unknown feature model {kind!r}; expected 'logistic' or 'boosting'")
    return make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler(), classifier)


_WAVES = {"r_mv": "R wave (mV)", "s_mv": "S wave (mV)", "q_mv": "Q wave (mV)",
          "st60_mv": "ST level 60 ms after J (mV)", "t_mv": "T wave (mV)",
          "st_max": "highest ST level (mV)", "q_min": "deepest Q wave (mV)", "t_min": "lowest T wave (mV)"}
_RHYTHM = {"rate_bpm": "heart rate (bpm)", "rr_cv": "RR variability (SD / mean)",
           "rr_range": "longest / shortest RR", "pr_s": "PR interval (s)", "qrs_s": "QRS width (s)",
           "qt_s": "QT interval (s)", "qtc_s": "QTc, Bazett (s)"}


def describe_feature(name: str) -> str:
    """A feature's name in words: ``"V2:st60_mv"`` → ``"V2: ST level 60 ms after J (mV)"``; a
    measurement's "(not measured)" flag keeps its suffix."""
    flagged = name.endswith(NOT_MEASURED)
    base, flag = (name[:-len(NOT_MEASURED)], " not measured") if flagged else (name, "")
    where, _, what = base.rpartition(":")
    words = _WAVES.get(what) or _RHYTHM.get(what) or what
    return f"{where}: {words}{flag}" if where else f"{words}{flag}"
