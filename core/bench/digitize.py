"""The page reader's figures (``python -m core bench --only digitize``).

- Held-out synthetic truth pages (``core.synth.truth.truth_set``, every layout × capture effect):
  per-lead SNR in dB as PhysioNet 2024 scores it, and Pearson r, by effect and by layout; the share
  of pages read with the right layout.
- The shared Mendeley pages (one printer, no signal truth): share readable, median Einthoven
  ratio, heart-rate agreement across leads.
- The ECGs from other sources (``ecg-other-dev``): one row per image, for the README's table.
- Speed: seconds to read a full-size page, against decoding the same file (the baseline every
  reader pays), measured in turns.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from core.paths import SHARED_MENDELEY_DIR

OTHER_DEV_DIR = SHARED_MENDELEY_DIR.parent / "ecg-other-dev"
CLEAN_EFFECTS = ("clean",)          # renders straight from the printer; everything else is captured
HR_AGREEMENT_BPM = 5.0


def _reader_key(name: str, lead: str) -> str:
    """The reader's name for a truth segment: rhythm strips are ``<lead>-rhythm``."""
    return f"{lead}-rhythm" if name != lead else lead


def score_reading(reading, truth) -> list[dict]:
    """One row per printed lead segment of ``truth``: SNR (dB) and Pearson r of the reader's
    signal over the segment's samples, or NaN when the reader did not return that lead; and the
    SNR with unread samples and leads taken as flat lines, as the Challenge's evaluation does."""
    from core.ecg.reader import lead_snr

    rows = []
    for name, printed in truth.leads.items():
        key = _reader_key(name, printed.lead)
        found = reading.leads.get(key)
        snr = r = float("nan")
        strict = 0.0                                    # a lead not returned is a flat line
        if found is not None:
            offset = int(round((printed.start_s - found.start_s) * printed.fs))
            digitised = np.full(len(printed.mv), np.nan)
            lo, hi = max(0, offset), min(len(found.mv), offset + len(printed.mv))
            if hi > lo:
                digitised[lo - offset:hi - offset] = found.mv[lo:hi]
            snr, r = lead_snr(printed.mv.astype(float), digitised, fs=printed.fs)
            strict, _ = lead_snr(printed.mv.astype(float), digitised, fs=printed.fs, unread_as_flat=True)
        rows.append({"lead": key, "snr_db": snr, "pearson_r": r, "found": found is not None,
                     "snr_unread_flat_db": strict if np.isfinite(strict) else 0.0})
    return rows


def _truth_rows(pages: Iterable) -> pd.DataFrame:
    from core.ecg.reader import read_page

    rows = []
    for image, truth in pages:
        reading = read_page(image)
        for row in score_reading(reading, truth):
            rows.append({**row, "page": truth.seed, "layout": truth.layout, "effect": truth.effect,
                         "grid": truth.grid, "layout_found": reading.layout, "readable": reading.readable})
    return pd.DataFrame(rows)


def _by(table: pd.DataFrame, column: str) -> dict[str, dict]:
    """Median SNR and r, share of leads found, pages and right layouts, per value of ``column``."""
    out = {}
    for value, group in table.groupby(column):
        pages = group.drop_duplicates("page")
        out[str(value)] = {"median_snr_db": float(group["snr_db"].median()),
                           "median_snr_unread_flat_db": float(group["snr_unread_flat_db"].median()),
                           "median_pearson_r": float(group["pearson_r"].median()),
                           "leads_found": float(group["found"].mean()), "pages": int(len(pages)),
                           "layout_right": float((pages["layout"] == pages["layout_found"]).mean()),
                           "readable": float(pages["readable"].mean())}
    return out


def bench_truth_pages(n_pages: int, seed: int = 0) -> dict:
    """SNR and r of the reader on ``n_pages`` held-out truth pages (seed 0 is never trained on)."""
    from core.synth.truth import truth_set

    start = time.perf_counter()
    table = _truth_rows(truth_set(n_pages, seed))
    clean = table[table["effect"].isin(CLEAN_EFFECTS)]
    captured = table[~table["effect"].isin(CLEAN_EFFECTS)]
    pages = table.drop_duplicates("page")
    return {"pages": int(len(pages)), "seconds": time.perf_counter() - start,
            "median_snr_clean_db": float(clean["snr_db"].median()) if len(clean) else None,
            "median_snr_captured_db": float(captured["snr_db"].median()) if len(captured) else None,
            "median_snr_clean_unread_flat_db": (float(clean["snr_unread_flat_db"].median())
                                                if len(clean) else None),
            "median_snr_captured_unread_flat_db": (float(captured["snr_unread_flat_db"].median())
                                                   if len(captured) else None),
            "leads_found": float(table["found"].mean()),
            "layout_right": float((pages["layout"] == pages["layout_found"]).mean()),
            "by_effect": _by(table, "effect"), "by_layout": _by(table, "layout")}


def _distinct_pages(folder: Path, limit: int | None) -> list[Path]:
    """One file per distinct page (the shared set repeats pages byte for byte)."""
    import hashlib

    seen, kept = set(), []
    for path in sorted(folder.rglob("*.jpg")):
        digest = hashlib.sha1(path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(path)
    return kept[:limit] if limit else kept


def bench_real_pages(limit: int | None) -> dict:
    """Readability and lead consistency on the shared Mendeley pages (no signal truth exists)."""
    from core.ecg.reader import read_page

    if not SHARED_MENDELEY_DIR.is_dir():
        return {"pages": 0, "note": f"{SHARED_MENDELEY_DIR} is not on this machine"}
    rows = []
    for path in _distinct_pages(SHARED_MENDELEY_DIR, limit):
        reading = read_page(path)
        rows.append({"readable": reading.readable, "layout": reading.layout, **reading.qc,
                     "reasons": "; ".join(reading.reasons)})
    table = pd.DataFrame(rows)
    spread = table["hr_spread_bpm"] if "hr_spread_bpm" in table else pd.Series(dtype=float)
    mad = table["hr_mad_bpm"] if "hr_mad_bpm" in table else pd.Series(dtype=float)
    return {"pages": int(len(table)), "readable": float(table["readable"].mean()),
            "median_einthoven_ratio": float(table["einthoven_ratio"].median()),
            "median_goldberger_ratio": float(table["goldberger_ratio"].median()),
            "hr_all_leads_within_5_bpm": float((spread <= HR_AGREEMENT_BPM).mean()),
            "hr_median_deviation_within_5_bpm": float((mad <= HR_AGREEMENT_BPM).mean()),
            "layouts": table["layout"].value_counts().to_dict(),
            "why_not_readable": table.loc[~table["readable"], "reasons"].value_counts().head(8).to_dict()}


def bench_other_sources() -> dict:
    """One row per image of ``ecg-other-dev``: layout found, readable, why not, rate, Einthoven."""
    from core.ecg.reader import read_page

    if not OTHER_DEV_DIR.is_dir():
        return {"images": 0, "rows": []}
    rows = []
    for path in sorted(p for p in OTHER_DEV_DIR.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")):
        reading = read_page(path)
        rows.append({"file": path.name, "layout": reading.layout, "readable": reading.readable,
                     "leads": len(reading.leads), "heart_rate_bpm": reading.heart_rate_bpm,
                     "einthoven_ratio": reading.qc.get("einthoven_ratio"), "reasons": list(reading.reasons)})
    return {"images": len(rows), "readable": float(np.mean([r["readable"] for r in rows])), "rows": rows}


def bench_reader_speed(n_pages: int, repeats: int) -> dict:
    """Seconds to read one full-size page file against decoding it alone, taken in turns."""
    import tempfile

    from core.ecg.reader import read_page
    from core.imageio import load_image
    from core.synth.truth import truth_set

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k, (image, _) in enumerate(truth_set(n_pages, seed=1)):
            files.append(Path(tmp) / f"page{k}.jpg")
            image.save(files[-1], quality=92)
        read_s, decode_s = [], []
        for _ in range(repeats):
            for path in files:
                start = time.perf_counter()
                load_image(path)
                decoded = time.perf_counter()
                read_page(path)
                read_s.append(time.perf_counter() - decoded)
                decode_s.append(decoded - start)
        size = load_image(files[0]).size
    return {"page_size": list(size), "pages": n_pages, "read_median_s": statistics.median(read_s),
            "decode_median_s": statistics.median(decode_s),
            "ratio_to_decode": statistics.median(read_s) / statistics.median(decode_s)}


def bench_digitize(truth_pages: int, real_pages: int | None, speed_pages: int, repeats: int) -> dict:
    """Every figure of the page reader (see the module docstring)."""
    return {"truth": bench_truth_pages(truth_pages), "real": bench_real_pages(real_pages),
            "other_sources": bench_other_sources(), "speed": bench_reader_speed(speed_pages, repeats)}
