"""Signals as model input: one fixed tensor per page, whatever the printer's layout, plus
synthetic recordings laid out as a page would show them, and signal augmentation.

The tensor (``SIGNAL_SPEC``):

- ``leads``: (12, 1250, 2) — each lead's 2.5 s window at 500 Hz in **mV** (channel 0) and a mask
  (channel 1: 1 where the reader saw the trace). A 3x4 page gives exactly its 2.5 s per lead; 6x2
  (5 s) and 12x1 (10 s) pages give a window of the longer trace (centred, random in training), so
  every printer maps to the same input.
- ``rhythm``: (5000, 2) — the 10 s rhythm strip (lead II's strip preferred), or, without one, the
  longest lead II the page holds (5 s on 6x2, 10 s on 12x1); the mask tells what is missing.

Amplitudes stay in mV (ST elevation of 0.2 mV and a Q wave of 0.3 mV must mean the same on every
page); only the isoelectric level is removed: each lead's median, which on an ECG is where the pen
rests between beats. Unread gaps (NaN) are bridged linearly and masked out.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.ecg.reader import FS, LeadSignal
from core.synth.waveforms import LEADS, Ecg

SEGMENT_S, RHYTHM_S = 2.5, 10.0
SEGMENT_N, RHYTHM_N = int(SEGMENT_S * FS), int(RHYTHM_S * FS)
CLIP_MV = 5.0                          # beyond any real QRS; a misread jump must not dominate a batch
RHYTHM_SUFFIX = "-rhythm"
LAYOUTS = ("3x4+1", "3x4", "6x2", "12x1")
SIGNAL_SPEC = {
    "input": "signals", "fs": FS, "leads": list(LEADS),
    "tensors": {"leads": [len(LEADS), SEGMENT_N, 2], "rhythm": [RHYTHM_N, 2]},
    "channels": ["mV (median removed)", "mask (1 = read)"],
    "segment_s": SEGMENT_S, "rhythm_s": RHYTHM_S,
}


def _filled(mv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values with NaN gaps bridged and the median removed, mask of read samples)."""
    mv = np.asarray(mv, dtype=np.float32)
    mask = np.isfinite(mv)
    if not mask.any():
        return np.zeros_like(mv), mask.astype(np.float32)
    idx = np.arange(len(mv))
    values = np.interp(idx, idx[mask], mv[mask]).astype(np.float32)
    values -= np.median(mv[mask])
    values[~mask & ((idx < idx[mask][0]) | (idx > idx[mask][-1]))] = 0.0   # no invented edges
    return np.clip(values, -CLIP_MV, CLIP_MV), mask.astype(np.float32)


def window_start(length: int, n: int = SEGMENT_N, start: int | None = None) -> int:
    """Where the ``n``-sample window of a lead of ``length`` samples begins: at ``start`` (kept inside
    the lead), else centred; 0 for a lead shorter than the window (then zero-padded at its end)."""
    if length <= n:
        return 0
    return (length - n) // 2 if start is None else int(np.clip(start, 0, length - n))


def _window(mv: np.ndarray, n: int, start: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of a lead (from ``start``, default centred; zero-padded and masked when shorter)."""
    values, mask = _filled(mv)
    if len(values) >= n:
        s = window_start(len(values), n, start)
        return values[s:s + n], mask[s:s + n]
    pad = n - len(values)
    return np.pad(values, (0, pad)), np.pad(mask, (0, pad))


def rhythm_lead(leads: Mapping[str, LeadSignal]) -> LeadSignal | None:
    """The page's rhythm strip (lead II's first), else its longest lead II if longer than a segment."""
    strips = [s for name, s in leads.items() if name.endswith(RHYTHM_SUFFIX)]
    if strips:
        return min(strips, key=lambda s: (s.name != "II" + RHYTHM_SUFFIX, -len(s.mv)))
    lead_ii = leads.get("II")
    return lead_ii if lead_ii is not None and len(lead_ii.mv) > SEGMENT_N + FS // 10 else None


def page_tensor(leads: Mapping[str, LeadSignal], rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """The model input of one page: ``{"leads": (12, 1250, 2), "rhythm": (5000, 2)}`` float32.

    With ``rng`` the window of a lead longer than 2.5 s is drawn at random (training), else centred.
    Missing leads are all zero with mask 0.
    """
    out = np.zeros((len(LEADS), SEGMENT_N, 2), np.float32)
    for i, name in enumerate(LEADS):
        signal = leads.get(name)
        if signal is not None and len(signal.mv):
            start = None if rng is None else int(rng.integers(0, max(1, len(signal.mv) - SEGMENT_N + 1)))
            out[i, :, 0], out[i, :, 1] = _window(signal.mv, SEGMENT_N, start)
    rhythm = np.zeros((RHYTHM_N, 2), np.float32)
    strip = rhythm_lead(leads)
    if strip is not None:
        rhythm[:, 0], rhythm[:, 1] = _window(strip.mv, RHYTHM_N, 0)
    return {"leads": out, "rhythm": rhythm}


def stack(tensors: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A batch from page tensors."""
    return {key: np.stack([t[key] for t in tensors]) for key in ("leads", "rhythm")}


def layout_leads(ecg: Ecg, layout: str = "3x4+1") -> dict[str, LeadSignal]:
    """The leads a page of ``layout`` would show of a synthetic 10 s recording (what the reader
    returns for it, without reading errors): 3x4 columns of 2.5 s, 6x2 halves of 5 s, 12x1 whole."""
    n = ecg.signals.shape[1]
    if layout.startswith("3x4"):
        columns = (("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"), ("V4", "V5", "V6"))
        col_n = n // 4
        leads = {name: LeadSignal(name, c * SEGMENT_S, ecg.fs, ecg.lead(name)[c * col_n:(c + 1) * col_n])
                 for c, names in enumerate(columns) for name in names}
        if layout == "3x4+1":
            leads["II" + RHYTHM_SUFFIX] = LeadSignal("II" + RHYTHM_SUFFIX, 0.0, ecg.fs, ecg.lead("II"))
        return leads
    if layout == "6x2":
        half = n // 2
        return {name: LeadSignal(name, (i >= 6) * 5.0, ecg.fs, ecg.lead(name)[(i >= 6) * half:(i >= 6) * half + half])
                for i, name in enumerate(LEADS)}
    if layout == "12x1":
        return {name: LeadSignal(name, 0.0, ecg.fs, ecg.lead(name)) for name in LEADS}
    raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")


def augment(batch: Mapping[str, np.ndarray], rng: np.random.Generator, strength: float = 1.0) -> dict[str, np.ndarray]:
    """A randomly varied copy of a batch: gain (per page and per lead), Gaussian noise, baseline
    wander, a time shift, and unread gaps — what another cart, patient or page reading changes,
    not the diagnosis. Masked samples stay zero."""
    out = {}
    for key in ("leads", "rhythm"):
        x = np.array(batch[key], dtype=np.float32, copy=True)
        values, mask = x[..., 0], x[..., 1]           # leads: (B, 12, T); rhythm: (B, T)
        b, t = values.shape[0], values.shape[-1]
        lead_shape = values.shape[:-1] + (1,)
        gain = rng.uniform(1 - 0.2 * strength, 1 + 0.2 * strength, (b,) + (1,) * (values.ndim - 1))
        gain = gain * rng.uniform(1 - 0.08 * strength, 1 + 0.08 * strength, lead_shape)
        time = np.arange(t) / FS
        wander = (rng.uniform(0, 0.15 * strength, lead_shape)
                  * np.sin(2 * np.pi * rng.uniform(0.05, 0.5, lead_shape) * time + rng.uniform(0, 2 * np.pi, lead_shape)))
        noise = rng.normal(0, 1, values.shape) * rng.uniform(0, 0.03 * strength, lead_shape)
        values = values * gain + wander + noise
        shift = rng.integers(-int(0.2 * FS * strength), int(0.2 * FS * strength) + 1, b)
        gaps = rng.random(lead_shape) < 0.15 * strength        # a short unread stretch, as the reader leaves
        starts = rng.integers(0, t, lead_shape)
        lengths = rng.integers(10, 60, lead_shape)
        cut = gaps & (np.arange(t) >= starts) & (np.arange(t) < starts + lengths)
        mask = mask * ~cut
        for i in range(b):
            values[i], mask[i] = _shifted(values[i], int(shift[i])), _shifted(mask[i], int(shift[i]))
        x[..., 0], x[..., 1] = np.clip(values * mask, -CLIP_MV, CLIP_MV), mask
        out[key] = x
    return out


def _shifted(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` moved by ``k`` samples along its last axis, zeros where nothing was recorded."""
    out = np.zeros_like(a)
    if k > 0:
        out[..., k:] = a[..., :-k]
    elif k < 0:
        out[..., :k] = a[..., -k:]
    else:
        out[...] = a
    return out


def synthetic_batch(classes: Sequence[str], n_per_class: int, rng: np.random.Generator,
                    layouts: Sequence[str] = ("3x4+1",)) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``(tensors, labels)``: ``n_per_class`` recordings of each class from
    ``core.synth.waveforms.synthesize_ecg``, each laid out as a random one of ``layouts``."""
    from core.synth.waveforms import synthesize_ecg

    tensors, labels = [], []
    for label, cls in enumerate(classes):
        for _ in range(n_per_class):
            leads = layout_leads(synthesize_ecg(cls, rng), layouts[int(rng.integers(len(layouts)))])
            tensors.append(page_tensor(leads, rng))
            labels.append(label)
    return stack(tensors), np.array(labels)
