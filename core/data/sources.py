"""Where a dataset comes from (built-in synthetic set, a folder, an uploaded zip) and how it is
made ready to use: scanned, grouped into duplicates, and split without leakage."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.data.archive import safe_extract_zip
from core.data.dataset import scan
from core.data.duplicates import DuplicateReport, duplicate_groups, duplicate_report
from core.data.splits import split_dataset
from core.paths import SHARED_MENDELEY_DIR, cache_dir

SYNTHETIC = "synthetic"


class DatasetError(ValueError):
    """A dataset source that cannot be used, with a message saying why."""


@dataclass(frozen=True)
class DatasetSource:
    """A dataset the user chose: ``kind`` is ``synthetic``, ``folder`` or ``zip``."""

    kind: str
    path: str
    label: str


def synthetic_source(per_class: int | None = None, seed: int = 0, *, page_size: tuple[int, int] | None = None,
                     generate: bool = True) -> DatasetSource:
    """The built-in synthetic ECG report pages (generated on first use, then cached);
    ``per_class=None`` is the built-in size, ``page_size=None`` the full page. ``generate=False`` only
    names the folder (the app draws it in the background: ``core.synth.builtin_generation``)."""
    from core.synth.dataset import (
        BUILTIN_PER_CLASS,
        DEFAULT_PAGE_SIZE,
        builtin_dataset,
        builtin_path,
    )

    per_class, size = per_class or BUILTIN_PER_CLASS, tuple(page_size or DEFAULT_PAGE_SIZE)
    root = (builtin_dataset(per_class=per_class, seed=seed, page_size=size) if generate
            else builtin_path(per_class, seed, size))
    drawn = "" if size == DEFAULT_PAGE_SIZE else f", drawn at {size[0]}×{size[1]}"
    return DatasetSource(SYNTHETIC, str(root), f"Built-in synthetic ECG pages ({per_class} per class{drawn})")


def prepare_when_drawn(run, source: DatasetSource, *, seed: int = 0,
                       listener: Callable[[dict], None]) -> PreparedDataset:
    """Wait for ``run`` (a ``core.synth.Generation`` drawing ``source``), telling ``listener`` its
    progress as ``status`` and ``prepare`` events each half second, then scan and split the set."""
    while not run.wait(0.5):
        done, total = run.progress()
        listener({"event": "status", "message": f"Drawing the pages: {done} of {total}"})
        listener({"event": "prepare", "done": done, "total": total})
    if run.failed:
        raise DatasetError(f"The built-in pages could not be drawn: {run.error}")
    listener({"event": "status", "message": "Scanning the pages and looking for duplicates"})
    return prepare_dataset(source, seed=seed)


def folder_source(path: str | Path) -> DatasetSource:
    """A dataset folder on this machine."""
    folder = Path(path).expanduser()
    if not str(path).strip():
        raise DatasetError("Enter the path of a dataset folder.")
    if not folder.exists():
        raise DatasetError(f"The folder '{folder}' does not exist.")
    if not folder.is_dir():
        raise DatasetError(f"'{folder}' is a file, not a folder of class sub-folders.")
    label = "Shared Mendeley ECG pages" if folder.resolve() == SHARED_MENDELEY_DIR.resolve() else folder.name
    return DatasetSource("folder", str(folder.resolve()), label)


def zip_source(data: bytes, filename: str) -> DatasetSource:
    """An uploaded zip, extracted safely once into the cache (same bytes → same folder)."""
    digest = hashlib.sha1(data).hexdigest()[:16]
    target = cache_dir() / "uploads" / digest
    if not (target / ".complete").exists():
        safe_extract_zip(data, target)
        (target / ".complete").touch()
    return DatasetSource("zip", str(target), f"{Path(filename).name} (uploaded zip)")


def resolve_data_argument(value: str) -> DatasetSource:
    """The CLI's ``--data``: ``synthetic`` or a folder path."""
    return synthetic_source() if value == SYNTHETIC else folder_source(value)


@dataclass
class PreparedDataset:
    """A scanned dataset with duplicate groups and a duplicate-safe train/val/test split."""

    source: DatasetSource
    index: pd.DataFrame
    skipped: pd.DataFrame
    report: DuplicateReport
    seed: int

    @property
    def classes(self) -> list[str]:
        from core.classes import order_classes

        return order_classes(self.index["class"].unique())

    def split_counts(self) -> pd.DataFrame:
        """Images per split (rows) and class (columns)."""
        counts = self.index.groupby(["split", "class"]).size().unstack(fill_value=0)
        return counts.reindex(index=[s for s in ("train", "val", "test") if s in counts.index],
                              columns=self.classes, fill_value=0)


def prepare_dataset(source: DatasetSource, *, seed: int = 0, val_fraction: float = 0.15,
                    test_fraction: float = 0.15, drop_leaking: bool = False,
                    progress=None) -> PreparedDataset:
    """Scan ``source``, group its exact and near duplicates, and split it so that no duplicate
    group sits on two sides."""
    result = scan(source.path, progress=progress)
    if result.index.empty:
        reasons = "; ".join(result.skipped["reason"].head(3)) if len(result.skipped) else ""
        raise DatasetError(
            f"No readable images in class folders under '{source.path}'. Expected "
            f"<folder>/<class>/<image> or <folder>/train|val|test/<class>/<image>. {reasons}".strip()
        )
    grouped = duplicate_groups(result.index)
    index = split_dataset(grouped, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
                          drop_leaking=drop_leaking)
    return PreparedDataset(source, index, result.skipped, duplicate_report(grouped), seed)
