"""Physiological 12-lead ECG signals: one heart vector model, beat timing per rhythm, class findings.

Each wave (P, septal q, R, S, T, ...) is a Gaussian in time carried by a 3-D dipole vector
(x = patient's left, y = inferior, z = anterior). A lead sees the dipole projected on its axis:
hexaxial frontal-plane angles for the limb leads, horizontal-plane angles for V1-V6. Projection
keeps Einthoven's law (I + III = II) for free and makes axis changes move every lead coherently.

Class findings are then written into the leads where they occur clinically (coronary territories
for infarction, the rhythm for arrhythmias), so the per-lead "where" is known exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.classes import ABNORMAL, HISTORY_OF_MI, MI, NORMAL

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_LIMB_ANGLES = {"I": 0, "II": 60, "III": 120, "aVR": -150, "aVL": -30, "aVF": 90}
_PRECORDIAL_ANGLES = {"V1": 115, "V2": 90, "V3": 75, "V4": 60, "V5": 30, "V6": 0}
# Augmented leads are sqrt(3)/2 of a bipolar lead (aVF = (II + III) / 2); chest electrodes sit
# closer to the heart, V2-V4 closest, so they record larger complexes.
_LEAD_GAIN = np.array([1, 1, 1, 0.866, 0.866, 0.866, 1.1, 1.6, 1.7, 1.6, 1.3, 1.0])

TERRITORIES: dict[str, tuple[str, ...]] = {
    "anterior": ("V1", "V2", "V3", "V4"),
    "inferior": ("II", "III", "aVF"),
    "lateral": ("I", "aVL", "V5", "V6"),
}
# Leads facing the infarct from the opposite side, with how strong the mirror image is.
_RECIPROCAL: dict[str, tuple[tuple[str, ...], tuple[float, float]]] = {
    "anterior": (("II", "III", "aVF"), (0.15, 0.35)),
    "inferior": (("I", "aVL"), (0.4, 0.8)),
    "lateral": (("II", "III", "aVF"), (0.4, 0.8)),
}

SINUS = "sinus rhythm"
# Rhythms a student can see on the printed strip. First-degree AV block is left out on purpose:
# a PR of 0.3 s instead of 0.16 s moves a 1-mm P wave by 3.5 mm, which is a pixel or two at the
# sizes a live demo trains on, so its pages would teach the network to guess.
ARRHYTHMIAS: tuple[str, ...] = (
    "atrial fibrillation",
    "premature ventricular complexes",
    "sinus bradycardia",
    "sinus tachycardia",
    "second-degree AV block",
)


@dataclass(frozen=True)
class Ecg:
    """A synthetic 12-lead recording in millivolts plus what it shows and where."""

    signals: np.ndarray          # (12, n_samples) mV, rows in LEADS order
    fs: int
    heart_rate: int              # ventricular rate as a machine would print it
    rhythm: str
    finding: str
    territory: str               # "anterior" / "inferior" / "lateral" / ""
    finding_leads: tuple[str, ...]

    def lead(self, name: str) -> np.ndarray:
        """One lead's samples."""
        return self.signals[LEADS.index(name)]


@dataclass(frozen=True)
class _Wave:
    offset: float                # s relative to the R peak
    sigma_left: float
    sigma_right: float
    amplitude: np.ndarray        # (12,) mV per lead


@dataclass(frozen=True)
class _Beat:
    r_time: float | None         # None: a P wave that was not conducted
    p_time: float | None         # None: no atrial wave (AF, ventricular beat)
    kind: str = "sinus"          # "sinus" | "pvc"


def _lead_axes() -> np.ndarray:
    axes = []
    for name in LEADS:
        if name in _LIMB_ANGLES:
            a = np.deg2rad(_LIMB_ANGLES[name])
            axes.append((np.cos(a), np.sin(a), 0.0))
        else:
            a = np.deg2rad(_PRECORDIAL_ANGLES[name])
            axes.append((np.cos(a), 0.15, np.sin(a)))
    return np.array(axes) * _LEAD_GAIN[:, None]


_AXES = _lead_axes()


def _project(vector) -> np.ndarray:
    return _AXES @ np.asarray(vector, dtype=float)


def _frontal(angle_deg: float, magnitude: float, z: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return magnitude * np.array([np.cos(a), np.sin(a), z])


def _sinus_waves(rng: np.random.Generator) -> dict[str, _Wave]:
    """Waves of one person's normal beat; the axis and sizes vary from person to person."""
    axis = float(np.clip(rng.normal(45, 25), -25, 95))
    size = rng.uniform(0.75, 1.35)
    pr = rng.uniform(0.13, 0.19)
    p_angle = rng.uniform(40, 75)
    p_size = rng.uniform(0.08, 0.17)
    return {
        # Right then left atrium: biphasic P in V1, upright in II.
        "p1": _Wave(-pr - 0.01, 0.018, 0.018, _project(_frontal(p_angle + 15, p_size, 0.5))),
        "p2": _Wave(-pr + 0.025, 0.02, 0.02, _project(_frontal(p_angle - 10, p_size * 0.8, -0.5))),
        # Septum depolarises left to right: small q in I/aVL/V5-V6, small r in V1.
        "q": _Wave(-0.024, 0.007, 0.007, _project(size * rng.uniform(0.1, 0.22) * np.array([-0.8, 0.1, 0.6]))),
        "r_ant": _Wave(-0.012, 0.009, 0.009, _project(size * np.array([0.2, 0.2, rng.uniform(0.3, 0.6)]))),
        "r": _Wave(0.0, 0.0105, 0.0105, _project(_frontal(axis, size * rng.uniform(1.0, 1.7), rng.uniform(-0.6, -0.2)))),
        "s": _Wave(0.026, 0.009, 0.009, _project(size * rng.uniform(0.25, 0.5) * np.array([-0.5, -0.5, -0.7]))),
        "t": _Wave(0.0, 0.055, 0.04, _project(_frontal(axis + rng.uniform(-25, 20), rng.uniform(0.22, 0.4), rng.uniform(0.1, 0.6)))),
        "q_path": _Wave(-0.028, 0.013, 0.011, np.zeros(len(LEADS))),
    }


def _pvc_waves(rng: np.random.Generator) -> dict[str, _Wave]:
    """A ventricular ectopic: wide, large, oddly oriented QRS with a T pointing the other way."""
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    second = rng.normal(size=3) * 0.5 - direction
    size = rng.uniform(1.3, 2.2)
    return {
        "r": _Wave(0.0, 0.03, 0.04, _project(direction * size)),
        "r2": _Wave(0.06, 0.025, 0.03, _project(second * size * 0.4)),
        "t": _Wave(0.0, 0.07, 0.05, _project(-direction * rng.uniform(0.4, 0.7))),
    }


def _gauss(t: np.ndarray, sigma_left: float, sigma_right: float) -> np.ndarray:
    sigma = np.where(t < 0, sigma_left, sigma_right)
    return np.exp(-0.5 * (t / sigma) ** 2)


def _add_wave(signals: np.ndarray, fs: int, center: float, wave: _Wave) -> None:
    start = max(0, int((center - 5 * wave.sigma_left) * fs))
    stop = min(signals.shape[1], int((center + 5 * wave.sigma_right) * fs) + 1)
    if stop <= start:
        return
    t = np.arange(start, stop) / fs - center
    signals[:, start:stop] += wave.amplitude[:, None] * _gauss(t, wave.sigma_left, wave.sigma_right)[None, :]


def _t_peak_after_r(rr: float, qtc: float) -> float:
    # Bazett: QT = QTc * sqrt(RR); QT runs from QRS onset (~40 ms before R) to T end (~90 ms after the peak).
    return qtc * np.sqrt(rr) - 0.04 - 0.09


def _render_beats(beats, waves, pvc, st_offset, duration, fs, qtc) -> np.ndarray:
    n = int(round(duration * fs))
    signals = np.zeros((len(LEADS), n))
    t_axis = np.arange(n) / fs
    previous_r = None
    for beat in beats:
        if beat.p_time is not None:
            # P offsets are relative to the R a normal PR later; p_time is that would-be R.
            for name in ("p1", "p2"):
                _add_wave(signals, fs, beat.p_time + waves[name].offset, waves[name])
        if beat.r_time is None:
            continue
        rr = 0.8 if previous_r is None else beat.r_time - previous_r
        previous_r = beat.r_time
        t_peak = beat.r_time + _t_peak_after_r(float(np.clip(rr, 0.35, 1.6)), qtc)
        if beat.kind == "pvc":
            for name in ("r", "r2"):
                _add_wave(signals, fs, beat.r_time + pvc[name].offset, pvc[name])
            _add_wave(signals, fs, t_peak + 0.04, pvc["t"])
            continue
        for name in ("q", "r_ant", "r", "s", "q_path"):
            _add_wave(signals, fs, beat.r_time + waves[name].offset, waves[name])
        _add_wave(signals, fs, t_peak, waves["t"])
        if np.any(st_offset):
            # Injury current: a plateau from the J point that melts into the T wave.
            rise = 1 / (1 + np.exp(np.clip(-(t_axis - beat.r_time - 0.045) / 0.006, -50, 50)))
            fall = 1 / (1 + np.exp(np.clip((t_axis - t_peak - 0.03) / 0.025, -50, 50)))
            signals += st_offset[:, None] * (rise * fall)[None, :]
    return signals


def _sinus_beats(rng, duration, rate, pr_jitter=0.0) -> list[_Beat]:
    """Sinus beats with respiratory variation; each P precedes its R by the beat's PR."""
    rr_mean = 60.0 / rate
    breath = rng.uniform(3.0, 5.0)
    phase = rng.uniform(0, 2 * np.pi)
    beats, t = [], rng.uniform(0.05, rr_mean)
    while t < duration + 0.5:
        beats.append(_Beat(t, t, "sinus"))
        rr = rr_mean * (1 + 0.035 * np.sin(2 * np.pi * t / breath + phase) + rng.normal(0, 0.012))
        t += rr
    return beats


def _af_beats(rng, duration, rate) -> list[_Beat]:
    beats, t = [], rng.uniform(0.05, 0.6)
    while t < duration + 0.5:
        beats.append(_Beat(t, None))
        t += 60.0 / rate * rng.uniform(0.55, 1.45)
    return beats


def _pvc_beats(rng, duration, rate) -> list[_Beat]:
    """Sinus beats with 2-4 early wide beats, each followed by a full compensatory pause."""
    sinus = _sinus_beats(rng, duration, rate)
    rr = 60.0 / rate
    # Only beats that land on the printed 10 s, so every page shows its ectopics.
    candidates = np.array([i for i in range(1, len(sinus) - 1) if sinus[i].r_time < duration - 0.2])
    count = min(len(candidates) // 2, int(rng.integers(2, 5)))
    chosen = set()
    for index in rng.permutation(candidates):
        if len(chosen) == count:
            break
        if index - 1 not in chosen and index + 1 not in chosen:
            chosen.add(int(index))
    beats = []
    for i, beat in enumerate(sinus):
        if i in chosen:
            # The ectopic fires early; the sinus P it hides behind does not conduct, so the
            # next sinus beat comes on schedule: a compensatory pause.
            beats.append(_Beat(sinus[i - 1].r_time + rr * rng.uniform(0.5, 0.68), None, "pvc"))
        else:
            beats.append(beat)
    return beats


def _wenckebach_beats(rng, duration, atrial_rate) -> list[_Beat]:
    """Mobitz I: PR lengthens beat by beat until one P is not conducted."""
    cycle = int(rng.integers(3, 6))
    beats, t, k = [], rng.uniform(0.05, 0.5), 0
    while t < duration + 0.5:
        position = k % cycle
        if position == cycle - 1:
            beats.append(_Beat(None, t))
        else:
            extra_pr = 0.04 + 0.16 * (1 - 0.5 ** position)
            beats.append(_Beat(t + extra_pr, t))
        t += 60.0 / atrial_rate
        k += 1
    return beats


def _mobitz2_beats(rng, duration, atrial_rate) -> list[_Beat]:
    """Mobitz II: a constant PR, then a P wave with no QRS (every 2nd to 4th beat)."""
    every = int(rng.integers(2, 5))
    beats, t, k = [], rng.uniform(0.05, 0.5), 0
    while t < duration + 0.5:
        beats.append(_Beat(None, t) if k % every == every - 1 else _Beat(t, t))
        t += 60.0 / atrial_rate
        k += 1
    return beats


def _ventricular_rate(beats, duration) -> int:
    r = [b.r_time for b in beats if b.r_time is not None and 0 <= b.r_time <= duration]
    if len(r) < 2:
        return 0
    return int(round(60.0 * (len(r) - 1) / (r[-1] - r[0])))


def _arrhythmia(rng, duration, waves) -> tuple[list[_Beat], str, dict[str, _Wave]]:
    """Pick one arrhythmia for the page; returns beats, rhythm name and adjusted waves."""
    kind = ARRHYTHMIAS[int(rng.integers(len(ARRHYTHMIAS)))]
    if kind == "atrial fibrillation":
        return _af_beats(rng, duration, rng.uniform(80, 135)), kind, waves
    if kind == "premature ventricular complexes":
        return _pvc_beats(rng, duration, rng.uniform(60, 95)), "sinus rhythm with " + kind, waves
    if kind == "sinus bradycardia":
        return _sinus_beats(rng, duration, rng.uniform(35, 48)), kind, waves
    if kind == "sinus tachycardia":
        return _sinus_beats(rng, duration, rng.uniform(115, 160)), kind, waves
    if rng.random() < 0.5:
        return _wenckebach_beats(rng, duration, rng.uniform(75, 105)), kind + ", Mobitz I", waves
    return _mobitz2_beats(rng, duration, rng.uniform(70, 100)), kind + ", Mobitz II", waves


def _with_amplitude(wave: _Wave, amplitude: np.ndarray) -> _Wave:
    return _Wave(wave.offset, wave.sigma_left, wave.sigma_right, amplitude)


def _acute_mi(rng, waves) -> tuple[dict[str, _Wave], np.ndarray, str]:
    """ST elevation with hyperacute T in one territory, mirrored as depression opposite."""
    territory = sorted(TERRITORIES)[int(rng.integers(3))]
    st = np.zeros(len(LEADS))
    t_amp = waves["t"].amplitude.copy()
    peak = rng.uniform(0.3, 0.6)                     # 3-6 mm: a textbook STEMI, not a borderline one
    for name in TERRITORIES[territory]:
        i = LEADS.index(name)
        st[i] = peak * rng.uniform(0.75, 1.0)
        t_amp[i] = max(abs(t_amp[i]), 0.25) * rng.uniform(1.4, 2.2)
    reciprocal, (low, high) = _RECIPROCAL[territory]
    for name in reciprocal:
        i = LEADS.index(name)
        st[i] = -peak * rng.uniform(low, high)
        t_amp[i] = min(t_amp[i], 0.1)
    return {**waves, "t": _with_amplitude(waves["t"], t_amp)}, st, territory


def _old_mi(rng, waves) -> tuple[dict[str, _Wave], str]:
    """Pathological Q waves, lost R amplitude and inverted T in one territory; no ST shift."""
    territory = sorted(TERRITORIES)[int(rng.integers(3))]
    r_amp = waves["r"].amplitude.copy()
    r_ant = waves["r_ant"].amplitude.copy()
    q_amp = waves["q_path"].amplitude.copy()
    t_amp = waves["t"].amplitude.copy()
    for name in TERRITORIES[territory]:
        i = LEADS.index(name)
        r_before = max(r_amp[i], 0.3)
        r_amp[i] = max(r_amp[i], 0.0) * rng.uniform(0.15, 0.5)
        if territory == "anterior":
            r_ant[i] *= rng.uniform(0.0, 0.3)          # poor R progression: QS in V1-V3
        q_amp[i] = -max(0.4 * r_before, rng.uniform(0.3, 0.6))
        t_amp[i] = -rng.uniform(0.25, 0.5) * _LEAD_GAIN[i]
    new = {
        "r": _with_amplitude(waves["r"], r_amp),
        "r_ant": _with_amplitude(waves["r_ant"], r_ant),
        "q_path": _with_amplitude(waves["q_path"], q_amp),
        "t": _with_amplitude(waves["t"], t_amp),
    }
    return {**waves, **new}, territory


def _noise(rng, n: int, fs: int, beats_af: bool) -> np.ndarray:
    """Baseline wander, muscle tremor and mains hum, plus fibrillatory waves for AF."""
    t = np.arange(n) / fs
    leads = len(LEADS)
    wander = rng.uniform(0, 0.12, (leads, 1)) * np.sin(
        2 * np.pi * rng.uniform(0.08, 0.35, (leads, 1)) * t + rng.uniform(0, 2 * np.pi, (leads, 1)))
    tremor = rng.normal(0, 1, (leads, n))
    kernel = np.ones(4) / 4                              # the cart's 25-40 Hz low-pass smooths it
    tremor = np.apply_along_axis(lambda row: np.convolve(row, kernel, "same"), 1, tremor)
    tremor *= rng.uniform(0.003, 0.02)
    mains = rng.uniform(0, 0.012) * np.sin(2 * np.pi * (50 if rng.random() < 0.5 else 60) * t)
    total = wander + tremor + mains
    if beats_af:
        f_wave = sum(
            rng.uniform(0.02, 0.05) * np.sin(2 * np.pi * (rng.uniform(4.5, 8) * t + rng.normal(0, 0.3, n).cumsum() / fs))
            for _ in range(3))
        weights = np.abs(_project(np.array([0.3, 0.8, 0.6]))) + 0.3
        total += weights[:, None] * f_wave[None, :]
    return total


def synthesize_ecg(cls: str, rng: np.random.Generator, *, duration: float = 10.0, fs: int = 500) -> Ecg:
    """A ``duration``-second 12-lead ECG showing the findings of ECG class ``cls``.

    ``cls`` is one of ``core.classes.ECG_CLASSES``; the same ``rng`` state gives the same signal.
    """
    waves = _sinus_waves(rng)
    pvc = _pvc_waves(rng)
    st = np.zeros(len(LEADS))
    territory, finding_leads = "", ()
    if cls == MI:
        waves, st, territory = _acute_mi(rng, waves)
        beats, rhythm = _sinus_beats(rng, duration, rng.uniform(58, 100)), SINUS
        finding = f"{territory.capitalize()} ST elevation with reciprocal depression"
        finding_leads = TERRITORIES[territory]
    elif cls == HISTORY_OF_MI:
        waves, territory = _old_mi(rng, waves)
        beats, rhythm = _sinus_beats(rng, duration, rng.uniform(58, 100)), SINUS
        extra = "poor R-wave progression, " if territory == "anterior" else ""
        finding = f"Old {territory} MI: {extra}pathological Q waves and T-wave inversion"
        finding_leads = TERRITORIES[territory]
    elif cls == ABNORMAL:
        beats, rhythm, waves = _arrhythmia(rng, duration, waves)
        finding = rhythm[0].upper() + rhythm[1:]
        finding_leads = LEADS
    elif cls == NORMAL:
        beats, rhythm = _sinus_beats(rng, duration, rng.uniform(60, 100)), SINUS
        finding = "Normal ECG"
    else:
        raise ValueError(f"synthesize_ecg has no ECG model for class {cls!r}; expected one of "
                         f"{(MI, HISTORY_OF_MI, ABNORMAL, NORMAL)}.")
    qtc = rng.uniform(0.38, 0.43)
    signals = _render_beats(beats, waves, pvc, st, duration, fs, qtc)
    signals += _noise(rng, signals.shape[1], fs, rhythm == "atrial fibrillation")
    return Ecg(signals.astype(np.float32), fs, _ventricular_rate(beats, duration), rhythm, finding,
               territory, tuple(finding_leads))
