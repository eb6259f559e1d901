"""Write digitised leads as CSV, a PhysioNet WFDB record (optionally zipped) or JSON.

Leads start at different times on a 3x4 page (I at 0 s, aVR at 2.5 s...), so every format puts
them on one time axis from 0 s, NaN (an empty CSV cell, WFDB's missing value) where a lead was
not printed or not read.
"""
from __future__ import annotations

import io
import json
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from core.ecg.reader.signals import LeadSignal


def signal_matrix(leads: dict[str, LeadSignal]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(time s, (n, k) mV with NaN, lead names) on one 0-based time axis at the leads' common rate."""
    if not leads:
        return np.zeros(0), np.zeros((0, 0)), []
    rates = {s.fs for s in leads.values()}
    if len(rates) != 1:
        raise ValueError(f"leads have different sampling rates {sorted(rates)}; resample them to one first")
    fs = rates.pop()
    names = list(leads)
    n = max(int(round(s.start_s * fs)) + len(s.mv) for s in leads.values())
    data = np.full((n, len(names)), np.nan)
    for k, name in enumerate(names):
        i0 = int(round(leads[name].start_s * fs))
        data[i0:i0 + len(leads[name].mv), k] = leads[name].mv
    return np.arange(n) / fs, data, names


def write_csv(leads: dict[str, LeadSignal], path: str | Path) -> Path:
    """A CSV with a ``time_s`` column and one mV column per lead (empty where NaN)."""
    t, data, names = signal_matrix(leads)
    path = Path(path)
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(["time_s"] + names) + "\n")
        for i in range(len(t)):
            cells = ["" if not np.isfinite(v) else f"{v:.4f}" for v in data[i]]
            out.write(f"{t[i]:.4f}," + ",".join(cells) + "\n")
    return path


def _record_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name) or "ecg"


def write_wfdb(leads: dict[str, LeadSignal], folder: str | Path, record_name: str = "ecg") -> Path:
    """A WFDB record (``.hea`` + ``.dat``, 16-bit, 1 µV resolution) in ``folder``; returns the header path."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*inplace.*")    # wfdb 4.3.1 on pandas 3, at import
        import wfdb

    t, data, names = signal_matrix(leads)
    if not names:
        raise ValueError("no leads to write")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    record_name = _record_name(record_name)
    fs = next(iter(leads.values())).fs
    # A fixed gain (1000 per mV) keeps all-NaN leads writable: wfdb would derive it from their range.
    data = np.clip(data, -32.0, 32.0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*inplace.*")    # wfdb 4.3.1 on pandas 3
        wfdb.wrsamp(record_name, fs=fs, units=["mV"] * len(names), sig_name=names, p_signal=data,
                    fmt=["16"] * len(names), adc_gain=[1000.0] * len(names), baseline=[0] * len(names),
                    write_dir=str(folder))
    return folder / f"{record_name}.hea"


def wfdb_zip_bytes(leads: dict[str, LeadSignal], record_name: str = "ecg") -> bytes:
    """The WFDB record as the bytes of a zip file (for a download button)."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        write_wfdb(leads, tmp, record_name)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(Path(tmp).iterdir()):
                zf.write(file, file.name)
    return buffer.getvalue()


def signals_json(leads: dict[str, LeadSignal]) -> dict:
    """JSON-ready leads: ``{name: {"start_s", "fs", "mv": [float | None, ...]}}``."""
    return {name: {"start_s": s.start_s, "fs": s.fs,
                   "mv": [None if not np.isfinite(v) else round(float(v), 4) for v in s.mv]}
            for name, s in leads.items()}


def write_json(leads: dict[str, LeadSignal], path: str | Path, summary: dict | None = None) -> Path:
    """The leads (and an optional reading summary under ``"reading"``) as a JSON file."""
    path = Path(path)
    payload = {"leads": signals_json(leads)}
    if summary is not None:
        payload["reading"] = summary
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def signals_frame(leads: dict[str, LeadSignal], *, every: int = 2):
    """The leads as a long table for plotting: ``lead``, ``time_s``, ``mv`` (every ``every``-th sample;
    at 500 Hz the default keeps 250 points a second, enough for the sharpest QRS on screen)."""
    import pandas as pd

    parts = [pd.DataFrame({"lead": name, "time_s": s.start_s + np.arange(0, len(s.mv), every) / s.fs,
                           "mv": s.mv[::every]})
             for name, s in leads.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["lead", "time_s", "mv"])
