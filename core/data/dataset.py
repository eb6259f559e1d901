"""Find the images of a folder dataset, label them by folder, and index them with a disk cache.

Supported layouts (folder names in any case; images by extension in any case):

- ``<root>/<class>/...``                                  (Mendeley: four long folder names)
- ``<root>/{train,val|valid|validation,test}/<class>/...`` (Kaggle ECG_DATA)
- either of the above under one extra top folder          (how zips usually unpack)

Class folders map to canonical classes with ``core.classes.canonical_class``, so two folders that
mean the same class merge. Nothing unreadable stops a scan: it is listed in ``skipped`` with the
reason a user can act on.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from core.cachefiles import write_cache_file
from core.classes import canonical_class, order_classes
from core.data.hashing import HASH_SIDE, content_hash, perceptual_hash
from core.imageio import IMAGE_EXTENSIONS, ImageLoadError, load_image, probe_image
from core.paths import cache_dir

INDEX_COLUMNS = [
    "path", "relpath", "folder", "class", "given_split",
    "width", "height", "mode", "format", "bytes", "mtime", "sha1", "phash",
]
SKIPPED_COLUMNS = ["path", "reason"]
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
HASH_THREADS = 2     # the machines this runs on have 2 cores
_CACHE_VERSION = 1  # bump when a cached column (e.g. the perceptual hash) changes meaning
# Linux file names are bytes; ones that are not UTF-8 arrive as surrogates and must round-trip.
# pandas' Arrow-backed strings refuse surrogates, so columns holding names stay Python objects.
_FILE_NAME_ERRORS = "surrogateescape"
_NAME_COLUMNS = {"path": object, "relpath": object, "folder": object}
_DTYPES = {**_NAME_COLUMNS, "width": "int64", "height": "int64", "bytes": "int64", "mtime": "int64",
           "class": "str", "given_split": "str", "mode": "str", "format": "str", "sha1": "str", "phash": "str"}
_SYSTEM_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}

Progress = Callable[[int, int], None]


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name.lower() in _SYSTEM_NAMES


def _children(folder: Path) -> tuple[list[Path], list[Path]]:
    """Visible sub-folders and all files of a folder, sorted by name."""
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    return [p for p in entries if p.is_dir()], [p for p in entries if not p.is_dir()]


def _dataset_root(root: Path) -> Path:
    """Step into a single wrapping folder (``root/ECG_DATA/...``) that holds only folders."""
    folders, files = _children(root)
    visible = [f for f in folders if not _is_hidden(f.name)]
    if len(visible) == 1 and not any(f.suffix.lower() in IMAGE_EXTENSIONS for f in files):
        inner_folders, inner_files = _children(visible[0])
        if inner_folders and not any(f.suffix.lower() in IMAGE_EXTENSIONS for f in inner_files):
            return visible[0]
    return root


def _walk_class_folder(folder: Path, split: str, records: list[dict], skipped: list[dict]) -> None:
    """Add every image under one class folder (any depth) to ``records``; the rest to ``skipped``."""
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted(dirnames):
            if _is_hidden(name):
                skipped.append({"path": str(Path(dirpath, name)), "reason": "hidden or system folder"})
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if _is_hidden(name):
                skipped.append({"path": str(path), "reason": "hidden or system file"})
            elif path.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped.append({"path": str(path), "reason": f"not an image type ({path.suffix or 'no extension'})"})
            else:
                records.append({"path": str(path), "folder": folder.name, "class": canonical_class(folder.name),
                                "given_split": split})


def _loose_images(files: list[Path]) -> list[dict]:
    # Images beside the class folders are worth a word; a README or metadata CSV there is normal.
    return [{"path": str(f), "reason": "not inside a class folder"}
            for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]


def discover(root: str | os.PathLike) -> tuple[list[dict], list[dict]]:
    """Image records (path, relpath, folder, class, given_split) and skipped entries (path, reason).

    Only file names are looked at here; ``scan`` opens the files.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"Dataset folder '{root}' does not exist or is not a folder.")
    base = _dataset_root(root)
    folders, files = _children(base)
    splits = {f: SPLIT_NAMES[f.name.lower()] for f in folders if f.name.lower() in SPLIT_NAMES}
    records: list[dict] = []
    skipped = _loose_images(files)
    for folder in folders:
        if _is_hidden(folder.name):
            skipped.append({"path": str(folder), "reason": "hidden or system folder"})
        elif splits and folder not in splits:
            skipped.append({"path": str(folder), "reason": "folder is neither train, val nor test"})
        elif folder in splits:
            class_folders, loose = _children(folder)
            skipped += _loose_images(loose)
            for class_folder in class_folders:
                if _is_hidden(class_folder.name):
                    skipped.append({"path": str(class_folder), "reason": "hidden or system folder"})
                else:
                    _walk_class_folder(class_folder, splits[folder], records, skipped)
        else:
            _walk_class_folder(folder, "", records, skipped)
    for record in records:
        record["relpath"] = Path(record["path"]).relative_to(root).as_posix()
    return records, skipped


def _describe(record: dict, stat: os.stat_result) -> dict:
    """An index row without its perceptual hash; raises ImageLoadError for unusable files."""
    info = probe_image(record["path"])
    return {**record, "width": info.width, "height": info.height, "mode": info.mode, "format": info.format,
            "bytes": stat.st_size, "mtime": stat.st_mtime_ns, "sha1": content_hash(record["path"]), "phash": ""}


def _cache_path(root: Path) -> Path:
    key = hashlib.sha1(os.fsencode(root)).hexdigest()
    return cache_dir() / "index" / f"{key}-v{_CACHE_VERSION}.csv"


def _read_cache(path: Path) -> dict[str, dict]:
    """Cached rows by relpath; an unreadable cache is treated as empty (it is only a speed-up)."""
    try:
        frame = pd.read_csv(path, dtype=_DTYPES, keep_default_na=False, encoding_errors=_FILE_NAME_ERRORS)
    except (OSError, ValueError, pd.errors.ParserError):
        return {}
    if list(frame.columns) != INDEX_COLUMNS:
        return {}
    return {row["relpath"]: row for row in frame.to_dict("records")}


def _write_cache(path: Path, index: pd.DataFrame) -> None:
    # Atomic (a crash never leaves half a cache behind), and a full disk only skips the cache.
    write_cache_file(path, lambda tmp: index.to_csv(tmp, index=False, errors=_FILE_NAME_ERRORS))


@dataclass
class ScanResult:
    """A scanned dataset: ``index`` (one row per usable image) and ``skipped`` (path, reason)."""

    root: Path
    index: pd.DataFrame
    skipped: pd.DataFrame

    @property
    def classes(self) -> list[str]:
        """Canonical classes present, canonical ones first in their fixed order."""
        return order_classes(self.index["class"].unique())

    def counts(self) -> pd.DataFrame:
        """Images per given split (rows; ``"all"`` when the dataset has none) and class (columns)."""
        split = self.index["given_split"].replace("", "all")
        table = pd.crosstab(split, self.index["class"]).reindex(columns=self.classes, fill_value=0)
        order = [s for s in ("train", "val", "test", "all") if s in table.index]
        return table.reindex(order).rename_axis(index="split", columns="class")


def scan(
    root: str | os.PathLike,
    *,
    use_cache: bool = True,
    with_perceptual: bool = True,
    progress: Progress | None = None,
) -> ScanResult:
    """Index every image under ``root``: size, format, SHA-1 and perceptual hash, never raising on bad files.

    Rows are reused from the on-disk cache when a file's relpath, size and mtime are unchanged.
    ``progress(done, total)`` is called as files are processed.
    """
    root = Path(root).resolve()
    records, skipped = discover(root)
    cache_file = _cache_path(root)
    cached = _read_cache(cache_file) if use_cache else {}

    def describe(record: dict) -> dict:
        try:
            stat = Path(record["path"]).stat()
            hit = cached.get(record["relpath"])
            if hit and hit["bytes"] == stat.st_size and hit["mtime"] == stat.st_mtime_ns:
                return {**hit, **record}
            return _describe(record, stat)
        except (ImageLoadError, OSError) as error:
            return {"path": record["path"], "reason": str(error)}

    def hash_one(path: str) -> str | ImageLoadError:
        try:
            return perceptual_hash(load_image(path, max_side=HASH_SIDE))
        except ImageLoadError as error:
            return error

    described = [describe(record) for record in records]
    skipped += [row for row in described if "reason" in row]
    rows = [row for row in described if "reason" not in row]
    # Byte-identical copies share one perceptual hash: decode each distinct file once.
    todo: dict[str, list[dict]] = {}
    for row in rows:
        if with_perceptual and not row["phash"]:
            todo.setdefault(row["sha1"], []).append(row)
    done = len(rows) - sum(len(group) for group in todo.values())
    # Decoding and hashing run mostly outside the GIL (PIL, numpy): two threads ~1.9x on 2 cores.
    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
        for group, phash in zip(todo.values(), pool.map(hash_one, [g[0]["path"] for g in todo.values()])):
            for row in group:
                row["phash"] = phash
            done += len(group)
            if progress is not None:
                progress(done, len(rows))
    failed = [row for row in rows if isinstance(row["phash"], ImageLoadError)]
    skipped += [{"path": row["path"], "reason": str(row["phash"])} for row in failed]
    rows = [row for row in rows if not isinstance(row["phash"], ImageLoadError)]
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS, dtype=object).astype(_DTYPES)
    if use_cache:
        _write_cache(cache_file, index)
    return ScanResult(root, index, pd.DataFrame(skipped, columns=SKIPPED_COLUMNS, dtype=object))
