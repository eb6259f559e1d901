"""Unpack a user's zip of images without trusting anything inside it.

A zip can name files outside the target folder (``../../.bashrc``), hold symlinks, or expand a few
kilobytes into gigabytes. ``safe_extract_zip`` checks every entry first, then counts the bytes it
actually writes (declared sizes can lie), and removes everything it wrote when it refuses.
"""
from __future__ import annotations

import io
import os
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Union

ZipSource = Union[str, os.PathLike, bytes, bytearray, BinaryIO]

_CHUNK = 1 << 20


class ArchiveError(ValueError):
    """A zip that is refused; ``str(error)`` is a one-line message for the user."""


def _open_zip(source: ZipSource) -> zipfile.ZipFile:
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ArchiveError(f"The upload is not a zip archive ({error}); zip the image folder and try again.") from error


def _check_entry(info: zipfile.ZipInfo) -> None:
    """Refuse entries that could write outside the folder, link elsewhere, or need a password."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
        raise ArchiveError(f"The zip entry '{name}' points outside the archive folder; refusing to extract.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveError(f"The zip entry '{name}' is a symbolic link; refusing to extract.")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"The zip entry '{name}' is encrypted; unzip it yourself and upload the images.")


def _check_declared(entries: list[zipfile.ZipInfo], archive_bytes: int, max_files: int,
                    max_total_bytes: int, max_ratio: float) -> None:
    files = [e for e in entries if not e.is_dir()]
    if len(files) > max_files:
        raise ArchiveError(f"The zip holds {len(files)} files, more than the limit of {max_files}.")
    total = sum(e.file_size for e in files)
    if total > max_total_bytes:
        raise ArchiveError(f"The zip would expand to {total:,} bytes, more than the limit of {max_total_bytes:,}.")
    if archive_bytes and total / archive_bytes > max_ratio:
        raise ArchiveError(
            f"The zip would expand {total / archive_bytes:.0f}-fold, more than the limit of {max_ratio:g}; "
            "it looks like a zip bomb."
        )


def _copy_limited(src: BinaryIO, dst: BinaryIO, budget: int, name: str) -> int:
    """Copy until EOF and return the bytes written; raise once more than ``budget`` bytes arrive."""
    written = 0
    while chunk := src.read(_CHUNK):
        written += len(chunk)
        if written > budget:
            raise ArchiveError(f"The zip entry '{name}' expands beyond the declared size limits; it looks like a zip bomb.")
        dst.write(chunk)
    return written


def safe_extract_zip(
    zip_source: ZipSource,
    dest_dir: str | os.PathLike,
    *,
    max_files: int = 20_000,
    max_total_bytes: int = 2 * 1024**3,
    max_ratio: float = 200,
) -> Path:
    """Extract a zip into ``dest_dir`` (created if needed) and return it; raise ArchiveError when refused.

    Nested zips are written as plain files, not opened. On any error everything this call
    created is removed again.
    """
    dest = Path(dest_dir).resolve()
    with _open_zip(zip_source) as archive:
        entries = archive.infolist()
        for info in entries:
            _check_entry(info)
        archive_bytes = archive.fp.seek(0, io.SEEK_END) if archive.fp else 0
        _check_declared(entries, archive_bytes, max_files, max_total_bytes, max_ratio)
        existed = dest.exists()
        created: list[Path] = []
        try:
            dest.mkdir(parents=True, exist_ok=True)
            budget = min(max_total_bytes, int(max_ratio * archive_bytes) if archive_bytes else max_total_bytes)
            for info in entries:
                target = dest.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts).resolve()
                if not target.is_relative_to(dest):  # belt and braces after _check_entry
                    raise ArchiveError(f"The zip entry '{info.filename}' points outside the archive folder.")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                created.append(target)
                try:
                    with archive.open(info) as src, open(target, "wb") as dst:
                        budget -= _copy_limited(src, dst, budget, info.filename)
                except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                    raise ArchiveError(f"The zip entry '{info.filename}' is corrupt ({error}).") from error
        except BaseException:
            _remove_partial(dest, existed, created)
            raise
    return dest


def _remove_partial(dest: Path, existed: bool, created: list[Path]) -> None:
    """Undo an extraction: the whole folder if we made it, else the files we wrote and empty folders."""
    if not existed:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for path in created:
        path.unlink(missing_ok=True)
    for folder in sorted({p.parent for p in created}, key=lambda p: len(p.parts), reverse=True):
        while folder != dest and folder.is_relative_to(dest):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
