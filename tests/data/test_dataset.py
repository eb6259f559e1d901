"""Dataset discovery in every supported layout, and the scan cache."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from core.classes import ABNORMAL, HISTORY_OF_MI, MI, NORMAL
from core.data import INDEX_COLUMNS, discover, scan


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))


def _page(path, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((40, 60, 3), 255, np.uint8)
    pixels[10 + shade % 20, :, :] = 0  # a "trace" at a row that differs per page
    Image.fromarray(pixels).save(path)


def _relpaths(records):
    return sorted((r["relpath"], r["class"], r["given_split"]) for r in records)


def test_class_folders_with_mixed_case_extensions_and_junk(tmp_path):
    root = tmp_path / "mendeley"
    _page(root / "Normal Person ECG Images (284x12=3408)" / "Normal(1).JPG", 1)
    _page(root / "Normal Person ECG Images (284x12=3408)" / "deeper" / "b.Png", 2)
    _page(root / "ECG Images of Myocardial Infarction Patients (240x12=2880)" / "MI(1).jpeg", 3)
    (root / "Normal Person ECG Images (284x12=3408)" / "readme.txt").write_text("hi")
    (root / "Normal Person ECG Images (284x12=3408)" / ".DS_Store").write_bytes(b"\0")
    _page(root / "__MACOSX" / "Normal" / "._a.jpg", 4)
    _page(root / "loose.jpg", 5)
    records, skipped = discover(root)
    assert _relpaths(records) == [
        ("ECG Images of Myocardial Infarction Patients (240x12=2880)/MI(1).jpeg", MI, ""),
        ("Normal Person ECG Images (284x12=3408)/Normal(1).JPG", NORMAL, ""),
        ("Normal Person ECG Images (284x12=3408)/deeper/b.Png", NORMAL, ""),
    ]
    reasons = {os.path.basename(s["path"]): s["reason"] for s in skipped}
    assert reasons == {
        "readme.txt": "not an image type (.txt)",
        ".DS_Store": "hidden or system file",
        "__MACOSX": "hidden or system folder",
        "loose.jpg": "not inside a class folder",
    }


def test_kaggle_split_layout_under_one_top_folder(tmp_path):
    root = tmp_path / "unzipped"
    _page(root / "ECG_DATA" / "train" / "mi" / "a.jpg", 1)
    _page(root / "ECG_DATA" / "train" / "PMI" / "b.jpg", 2)
    _page(root / "ECG_DATA" / "Valid" / "hb" / "c.jpg", 3)
    _page(root / "ECG_DATA" / "test" / "Normal" / "d.jpg", 4)
    _page(root / "ECG_DATA" / "notes" / "e.jpg", 5)
    records, skipped = discover(root)
    assert _relpaths(records) == [
        ("ECG_DATA/Valid/hb/c.jpg", ABNORMAL, "val"),
        ("ECG_DATA/test/Normal/d.jpg", NORMAL, "test"),
        ("ECG_DATA/train/PMI/b.jpg", HISTORY_OF_MI, "train"),
        ("ECG_DATA/train/mi/a.jpg", MI, "train"),
    ]
    assert [s["reason"] for s in skipped] == ["folder is neither train, val nor test"]


def test_two_folders_naming_one_class_merge(tmp_path):
    _page(tmp_path / "MI" / "a.png", 1)
    _page(tmp_path / "Myocardial Infarction" / "b.png", 2)
    result = scan(tmp_path / ".", with_perceptual=False)
    assert result.classes == [MI]
    assert sorted(result.index["folder"]) == ["MI", "Myocardial Infarction"]


def test_single_class_folder_is_not_mistaken_for_a_wrapper(tmp_path):
    _page(tmp_path / "Normal" / "a.png", 1)
    records, _ = discover(tmp_path)
    assert _relpaths(records) == [("Normal/a.png", NORMAL, "")]


def test_missing_root_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        discover(tmp_path / "nowhere")


def test_scan_index_counts_and_progress(tmp_path):
    for i in range(3):
        _page(tmp_path / "train" / "Normal" / f"n{i}.png", i)
    _page(tmp_path / "test" / "MI" / "m.png", 7)
    (tmp_path / "test" / "MI" / "copy.png").write_bytes((tmp_path / "test" / "MI" / "m.png").read_bytes())
    calls = []
    result = scan(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert list(result.index.columns) == INDEX_COLUMNS
    assert result.counts().to_dict() == {MI: {"train": 0, "test": 2}, NORMAL: {"train": 3, "test": 0}}
    assert calls[-1] == (5, 5)
    copies = result.index[result.index["class"] == MI]
    assert copies["sha1"].nunique() == 1 and copies["phash"].nunique() == 1
    assert (result.index[["width", "height"]].to_numpy() == [60, 40]).all()


def test_cache_is_reused_and_invalidated_by_changes(tmp_path, monkeypatch):
    for i in range(3):
        _page(tmp_path / "Normal" / f"n{i}.png", i)
    first = scan(tmp_path)
    hashed = []
    import core.data.dataset
    real = core.data.dataset.perceptual_hash
    monkeypatch.setattr(core.data.dataset, "perceptual_hash", lambda img: hashed.append(1) or real(img))
    second = scan(tmp_path)
    assert hashed == []
    assert second.index.equals(first.index)
    _page(tmp_path / "Normal" / "n1.png", 11)  # same name, new content and mtime
    third = scan(tmp_path)
    assert hashed == [1]
    changed = third.index.set_index("relpath")["sha1"] != first.index.set_index("relpath")["sha1"]
    assert changed.to_dict() == {"Normal/n0.png": False, "Normal/n1.png": True, "Normal/n2.png": False}
