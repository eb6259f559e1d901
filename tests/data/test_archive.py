"""Zip extraction refuses every unsafe archive with a clear message and leaves nothing behind."""
from __future__ import annotations

import io
import stat
import zipfile

import pytest

from core.data import ArchiveError, safe_extract_zip


def _zip(entries: dict[str, bytes], *, method=zipfile.ZIP_DEFLATED, tweak=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            if tweak:
                tweak(info)
            archive.writestr(info, data)
    return buffer.getvalue()


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_extracts_folders_and_keeps_nested_zips_as_files(tmp_path):
    inner = _zip({"x.jpg": b"jpeg"})
    data = _zip({"ECG_DATA/train/mi/a.jpg": b"a", "ECG_DATA/more.zip": inner})
    dest = safe_extract_zip(io.BytesIO(data), tmp_path / "out")
    assert _files(dest) == ["ECG_DATA/more.zip", "ECG_DATA/train/mi/a.jpg"]
    assert (dest / "ECG_DATA/more.zip").read_bytes() == inner


def test_path_bytes_and_file_sources(tmp_path):
    data = _zip({"a.jpg": b"a"})
    (tmp_path / "in.zip").write_bytes(data)
    for i, source in enumerate([tmp_path / "in.zip", data, io.BytesIO(data)]):
        assert _files(safe_extract_zip(source, tmp_path / f"out{i}")) == ["a.jpg"]


@pytest.mark.parametrize("name", ["../evil.jpg", "a/../../evil.jpg", "/etc/evil.jpg", "C:/evil.jpg", "..\\evil.jpg"])
def test_paths_outside_are_refused(tmp_path, name):
    with pytest.raises(ArchiveError, match="points outside the archive folder"):
        safe_extract_zip(_zip({"ok.jpg": b"a", name: b"x"}), tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.jpg").exists()


def test_symlinks_are_refused(tmp_path):
    def symlink(info):
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(ArchiveError, match="'link.jpg' is a symbolic link"):
        safe_extract_zip(_zip({"link.jpg": b"/etc/passwd"}, tweak=symlink), tmp_path / "out")


def _patch_central_directory(data: bytes, offset: int, value: bytes) -> bytes:
    """Overwrite a field of the last central-directory entry (zipfile cannot write these itself)."""
    patched = bytearray(data)
    start = patched.rfind(b"PK\x01\x02") + offset
    patched[start:start + len(value)] = value
    return bytes(patched)


def test_encrypted_entries_are_refused(tmp_path):
    data = _patch_central_directory(_zip({"secret.jpg": b"x"}), 8, b"\x01\x00")  # flag bit 0: encrypted
    with pytest.raises(ArchiveError, match="'secret.jpg' is encrypted"):
        safe_extract_zip(data, tmp_path / "out")


def test_not_a_zip(tmp_path):
    with pytest.raises(ArchiveError, match="not a zip archive"):
        safe_extract_zip(b"<html>", tmp_path / "out")


def test_too_many_files(tmp_path):
    with pytest.raises(ArchiveError, match="holds 3 files, more than the limit of 2"):
        safe_extract_zip(_zip({f"{i}.jpg": b"x" for i in range(3)}), tmp_path / "out", max_files=2)


def test_declared_size_and_ratio_limits(tmp_path):
    bomb = _zip({"zeros.bin": b"\0" * 1_000_000})
    with pytest.raises(ArchiveError, match="expand .*-fold, more than the limit of 200; it looks like a zip bomb"):
        safe_extract_zip(bomb, tmp_path / "out")
    with pytest.raises(ArchiveError, match="1,000,000 bytes, more than the limit of 1,000"):
        safe_extract_zip(bomb, tmp_path / "out", max_total_bytes=1000, max_ratio=1e9)


def test_lying_declared_size_is_caught_while_streaming(tmp_path):
    data = _zip({"a.jpg": b"a", "zeros.bin": b"\0" * 100_000}, method=zipfile.ZIP_STORED)
    # Declare zeros.bin as 10 bytes so the checks before extraction pass.
    data = _patch_central_directory(data, 24, (10).to_bytes(4, "little"))
    dest = tmp_path / "existing"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep")
    with pytest.raises(ArchiveError, match="'zeros.bin' is corrupt"):
        safe_extract_zip(data, dest, max_total_bytes=50_000, max_ratio=1e9)
    assert _files(dest) == ["mine.txt"]  # our partial files are gone, the user's file is not


def test_bytes_are_counted_while_streaming(tmp_path, monkeypatch):
    import core.data.archive
    monkeypatch.setattr(core.data.archive, "_check_declared", lambda *args: None)  # as if the sizes lied
    with pytest.raises(ArchiveError, match="'zeros.bin' expands beyond the declared size limits"):
        safe_extract_zip(_zip({"zeros.bin": b"\0" * 100_000}), tmp_path / "out", max_total_bytes=50_000)
    assert not (tmp_path / "out").exists()
