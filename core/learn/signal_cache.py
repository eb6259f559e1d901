"""Digitised pages on disk: the page reader's signals, keyed by the image's content hash and the
reader's version, so reading a dataset (~0.6 s a page) happens once per reader change.

The reader version is a hash of the reader's own source files: any change to ``core/ecg/reader``
(a merge of its branch) reads the pages again instead of mixing signals of two readers.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.cachefiles import write_cache_file
from core.ecg.reader import FS, LeadSignal
from core.paths import cache_dir

_READER_DIR = Path(__file__).resolve().parent.parent / "ecg" / "reader"
_FEATURES_FILE = Path(__file__).resolve().parent / "features.py"
# Reading one full-size page on 2 cores shared with other work, as a page quotes it before a first run:
# the built-in set's 1200 ECG pages took 790 s (2026-12-06).
READ_SECONDS_PER_PAGE = 0.66


@dataclass(frozen=True)
class PageSignals:
    """What the signal models need of a :class:`core.ecg.reader.PageReading` (and what is cached)."""

    readable: bool
    layout: str
    reasons: tuple[str, ...]
    heart_rate_bpm: float | None
    leads: dict[str, LeadSignal]

    @classmethod
    def from_reading(cls, reading) -> PageSignals:
        """Keep a reading's verdict and signals (drop its images and per-stage numbers)."""
        return cls(bool(reading.readable), reading.layout, tuple(reading.reasons), reading.heart_rate_bpm,
                   dict(reading.leads))


@lru_cache(maxsize=1)
def reader_version() -> str:
    """A short hash of the reader's source files (changes whenever the reader does)."""
    digest = hashlib.sha1()
    for path in sorted(_READER_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def signals_dir() -> Path:
    """The cache folder of the current reader version."""
    path = cache_dir() / "signals" / reader_version()
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_signals(page: PageSignals, path: Path) -> None:
    """Write ``page`` as one ``.npz`` (lead arrays plus a JSON header), atomically."""
    header = {"readable": page.readable, "layout": page.layout, "reasons": list(page.reasons),
              "heart_rate_bpm": page.heart_rate_bpm,
              "leads": {name: {"start_s": s.start_s, "fs": s.fs} for name, s in page.leads.items()}}
    arrays = {f"lead_{i}": s.mv.astype(np.float32) for i, s in enumerate(page.leads.values())}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:      # a file object: given a name, numpy would append ".npz"
            np.savez_compressed(out, header=np.array(json.dumps(header)), **arrays)

    write_cache_file(path, write)


def load_signals(path: Path) -> PageSignals:
    """Read what :func:`save_signals` wrote."""
    with np.load(path) as data:
        header = json.loads(str(data["header"]))
        leads = {name: LeadSignal(name, float(meta["start_s"]), int(meta.get("fs", FS)), data[f"lead_{i}"])
                 for i, (name, meta) in enumerate(header["leads"].items())}
    return PageSignals(header["readable"], header["layout"], tuple(header["reasons"]), header["heart_rate_bpm"],
                       leads)


def page_signals(path: str | Path, sha1: str) -> PageSignals:
    """The signals of the image at ``path`` (content hash ``sha1``), read once and then cached."""
    from core.ecg.reader import read_page

    cached = signals_dir() / f"{sha1}.npz"
    if cached.exists():
        try:
            return load_signals(cached)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
            pass  # a damaged entry (cut off, overwritten): read the page again and replace it
    page = PageSignals.from_reading(read_page(str(path)))
    save_signals(page, cached)
    return page


@lru_cache(maxsize=1)
def _features_version() -> str:
    return hashlib.sha1(_FEATURES_FILE.read_bytes()).hexdigest()[:12]


def page_measurements(path: str | Path, sha1: str) -> tuple[str, dict[str, float] | None]:
    """(layout the reader found, clinical measurements) of a page: ``core.learn.features.page_features``
    (NaN where not measurable) of a page the reader found readable, else None; cached beside its
    signals (per reader and feature code)."""
    from core.learn.features import page_features
    from core.learn.signal_data import page_tensor

    cached = signals_dir() / f"features-{_features_version()}" / f"{sha1}.json"
    stored = None
    if cached.exists():
        try:
            stored = json.loads(cached.read_text())
        except (OSError, ValueError):
            pass  # a damaged entry: measure again
    if not isinstance(stored, dict) or "layout" not in stored:
        page = page_signals(path, sha1)
        stored = {"layout": page.layout, "features": None}
        if page.readable:   # JSON has no NaN: unmeasured features are kept as null
            stored["features"] = {k: (float(v) if np.isfinite(v) else None)
                                  for k, v in page_features(page_tensor(page.leads)).items()}
        write_cache_file(cached, lambda tmp: tmp.write_text(json.dumps(stored)))
    features = stored.get("features")
    return str(stored["layout"]), (None if features is None
                                   else {k: (np.nan if v is None else float(v)) for k, v in features.items()})


def cached_pages(hashes: Iterable[str]) -> int:
    """How many of the distinct pages ``hashes`` the current reader has read already."""
    folder = signals_dir()
    return sum((folder / f"{sha1}.npz").exists() for sha1 in set(hashes))


def digitise(rows: Iterable[tuple[str, str]], *,
             progress: Callable[[int, int], None] | None = None) -> dict[str, PageSignals]:
    """``{sha1: PageSignals}`` for ``(path, sha1)`` rows; copies with one hash are read once."""
    unique = {sha1: path for path, sha1 in rows}
    out = {}
    for done, (sha1, path) in enumerate(unique.items(), 1):
        out[sha1] = page_signals(path, sha1)
        if progress is not None:
            progress(done, len(unique))
    return out
