"""Every hostile zip, fed to both places that unpack a user's zip — a dataset upload
(``core.data.sources.zip_source``) and a model bundle upload (``core.bundles.import_bundle_zip``) — is
refused with a clear message, and nothing appears outside the extraction folder.

``core.data.archive.safe_extract_zip`` on its own is covered in tests/data/test_archive.py.
"""
from __future__ import annotations

import io
import stat
import uuid
import zipfile
from pathlib import Path

import pytest

ESCAPE = f"ecg-lab-escape-{uuid.uuid4().hex[:8]}"  # a name nobody else writes


def _zip(entries: dict[str, bytes], *, tweak=None, method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            if tweak and tweak[0] == name:
                tweak[1](info)
            archive.writestr(info, data)
    return buffer.getvalue()


def _patch_last_entry(data: bytes, offset: int, value: bytes) -> bytes:
    """Overwrite a field of the last central-directory entry (zipfile will not write these)."""
    patched = bytearray(data)
    start = patched.rfind(b"PK\x01\x02") + offset
    patched[start:start + len(value)] = value
    return bytes(patched)


def _symlink(info: zipfile.ZipInfo) -> None:
    info.external_attr = (stat.S_IFLNK | 0o777) << 16


META = b'{"name": "x", "classes": ["a", "b"], "input_size": [16, 16], "color_mode": "grayscale"}'
IMG = b"\xff\xd8jpeg"


def hostile(kind: str, target: str) -> bytes:
    """The hostile zip ``kind`` for a dataset (``target="data"``) or a bundle (``"bundle"``)."""
    ok = {"Normal/a.jpg": IMG} if target == "data" else {"b/metadata.json": META, "b/model.keras": b"PK"}
    if kind == "dotdot":
        return _zip({**ok, f"../../{ESCAPE}/evil.jpg": b"x"})
    if kind == "absolute":
        return _zip({**ok, f"/tmp/{ESCAPE}/evil.jpg": b"x"})
    if kind == "symlink":
        name = "Normal/link.jpg" if target == "data" else "b/model.keras"
        return _zip({**ok, name: b"/etc/passwd"}, tweak=(name, _symlink))
    if kind == "encrypted":
        return _patch_last_entry(_zip({**ok, "Normal/secret.jpg" if target == "data" else "b/model.keras": b"x"}),
                                 8, b"\x01\x00")
    if kind == "size":  # declares 4 GB for its last entry
        return _patch_last_entry(_zip({**ok, "Normal/z.jpg" if target == "data" else "b/model.keras": b"x"},
                                      method=zipfile.ZIP_STORED), 24, (0xFFFF_FFF0).to_bytes(4, "little"))
    if kind == "ratio":
        return _zip({**ok, "Normal/zeros.jpg" if target == "data" else "b/model.keras": b"\0" * 2_000_000})
    if kind == "count":
        return _zip({**ok, **{f"Normal/{i}.jpg": b"" for i in range(20_001)}})
    if kind == "nested":
        return _zip({**ok, "Normal/more.zip": _zip({f"../{ESCAPE}/inner.jpg": b"x"})})
    raise AssertionError(kind)


KINDS = ["dotdot", "absolute", "symlink", "encrypted", "size", "ratio", "count", "nested"]

DATA_MESSAGES = {
    "dotdot": "points outside the archive folder; refusing to extract",
    "absolute": "points outside the archive folder; refusing to extract",
    "symlink": "'Normal/link.jpg' is a symbolic link; refusing to extract",
    "encrypted": "'Normal/secret.jpg' is encrypted; unzip it yourself",
    "size": "more than the limit of 2,147,483,648",
    "ratio": "more than the limit of 200; it looks like a zip bomb",
    "count": "The zip holds 20002 files, more than the limit of 20000",
}
BUNDLE_MESSAGES = {
    "dotdot": "unsafe path '../../",
    "absolute": "unsafe path '/tmp/",
    "symlink": "'b/model.keras' in zip is a symbolic link",
    "encrypted": "'b/model.keras' in zip is encrypted",
    "size": "model.keras in zip is larger than the 512 MiB limit",
    "ratio": "model.keras in zip is larger than the 1 MiB limit",  # with the limit lowered, see below
    "count": "unexpected file 'Normal/0.jpg' in zip",
    "nested": "unexpected file 'Normal/more.zip' in zip",
}


def snapshot(*folders: Path) -> set[str]:
    """Every path (files, folders, links) under the folders."""
    return {str(p) for folder in folders for p in folder.rglob("*")}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Cache and models folders two levels down, so an escape would land inside ``tmp_path``."""
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "home" / "cache"))
    monkeypatch.setenv("ECG_LAB_MODELS", str(tmp_path / "home" / "models"))
    (tmp_path / "home" / "cache").mkdir(parents=True)
    (tmp_path / "home" / "models").mkdir()
    (tmp_path / "home" / "keep.txt").write_text("the user's file")
    return tmp_path


def _nothing_escaped(before: set[str], after: set[str], inside: Path) -> None:
    new = {p for p in after - before if not Path(p).is_relative_to(inside)}
    assert not new, f"written outside {inside}: {sorted(new)}"
    assert not Path(f"/tmp/{ESCAPE}").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_dataset_zip_is_refused_and_nothing_lands_outside(sandbox: Path, kind: str):
    from core.data import ArchiveError, zip_source

    uploads = sandbox / "home" / "cache" / "uploads"
    before = snapshot(sandbox)
    if kind == "nested":  # kept as a plain file, never opened: its own "../" entry stays inside it
        source = zip_source(hostile(kind, "data"), "data.zip")
        assert sorted(p.name for p in Path(source.path).rglob("[!.]*") if p.is_file()) == ["a.jpg", "more.zip"]
    else:
        with pytest.raises(ArchiveError) as caught:
            zip_source(hostile(kind, "data"), "<b>data</b>.zip")
        assert DATA_MESSAGES[kind] in str(caught.value)
        assert not uploads.exists() or not any(uploads.iterdir()), "a refused zip leaves no folder"
    after = snapshot(sandbox)
    _nothing_escaped(before, after, uploads)


@pytest.mark.parametrize("kind", KINDS)
def test_bundle_zip_is_refused_and_nothing_lands_outside(sandbox: Path, kind: str, monkeypatch):
    from core import bundles
    from core.bundles import BundleError, import_bundle_zip

    # A bundle's bomb defence is its absolute cap (.keras files are zips, ratios mean little);
    # lowered so the 2 MB of zeros of the ratio case stand in for gigabytes.
    if kind == "ratio":
        monkeypatch.setitem(bundles.MAX_IMPORT_BYTES, bundles.MODEL_FILE, 2**20)

    models = sandbox / "home" / "models"
    before = snapshot(sandbox)
    with pytest.raises(BundleError) as caught:
        import_bundle_zip(hostile(kind, "bundle"))
    assert BUNDLE_MESSAGES[kind] in str(caught.value)
    assert list(models.iterdir()) == [], "nothing installed, no scratch folder left"
    _nothing_escaped(before, snapshot(sandbox), models)
