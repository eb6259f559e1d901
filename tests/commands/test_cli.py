"""The command line: synth, scan, train and models, run as a user would (subprocesses)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.classes import CANONICAL_CLASSES

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def file_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_synth_writes_five_class_folders_byte_identical_per_seed(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = run_cli("synth", "--out", str(out), "--per-class", "20", "--seed", "1")
        assert result.returncode == 0, result.stderr
    folders = sorted(p.name for p in first.iterdir() if p.is_dir())
    assert folders == sorted(CANONICAL_CLASSES)
    assert all(len(list((first / c).glob("*.jpg"))) == 20 for c in folders)
    findings = (first / "findings.csv").read_text().splitlines()
    assert len(findings) == 1 + 100
    assert file_hashes(first) == file_hashes(second)


def test_scan_json_reports_classes_counts_and_skipped_files(tiny_dataset: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(tiny_dataset, root)
    (root / "Normal" / "notes.jpg").write_text("this is not an image")
    (root / "Normal" / "empty.png").write_bytes(b"")
    result = run_cli("scan", str(root), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["classes"] == list(CANONICAL_CLASSES)
    assert summary["counts"] == {"all": {c: 6 for c in CANONICAL_CLASSES}}
    skipped = {Path(row["path"]).name: row["reason"] for row in summary["skipped"]}
    assert set(skipped) == {"notes.jpg", "empty.png"}
    assert "empty" in skipped["empty.png"]
    assert summary["exact_duplicates"] == [] and summary["near_duplicates"] == []


def test_scan_of_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    result = run_cli("scan", str(tmp_path / "nowhere"), "--json")
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr


def test_scan_lists_every_exact_duplicate_group_of_the_mendeley_pages(mendeley_dir: Path) -> None:
    result = run_cli("scan", str(mendeley_dir), "--json")
    assert result.returncode == 0, result.stderr
    groups = json.loads(result.stdout)["exact_duplicates"]
    by_hash: dict[str, set[str]] = {}
    for path in mendeley_dir.rglob("*.jpg"):
        by_hash.setdefault(hashlib.sha1(path.read_bytes()).hexdigest(), set()).add(str(path.resolve()))
    expected = {frozenset(paths) for paths in by_hash.values() if len(paths) > 1}
    assert {frozenset(str(Path(p).resolve()) for p in g) for g in groups} == expected
    assert len(expected) > 100  # the raw set repeats most pages


def test_train_json_streams_epochs_then_saves_a_listed_bundle(tiny_dataset: Path, models_root: Path) -> None:
    out = models_root / "cli-tiny"
    result = run_cli("train", "--data", str(tiny_dataset), "--epochs", "2", "--img-size", "64x128",
                     "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    epochs = [line for line in lines if line["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"} <= set(epochs[0])
    final = lines[-1]
    assert final["event"] == "done" and Path(final["bundle"]) == out
    assert 0.0 <= final["test_accuracy"] <= 1.0 and 0.0 <= final["test_macro_f1"] <= 1.0
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["classes"] == list(CANONICAL_CLASSES) and metadata["input_size"] == [64, 128]
    assert len(metadata["history"]["loss"]) == 2

    listed = run_cli("models", "--root", str(models_root), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["name"] for row in json.loads(listed.stdout)] == ["cli-tiny"]


@pytest.mark.parametrize("arch", ["vgg16", "resnet50"])
def test_transfer_without_weights_says_which_file_to_place_where(tiny_dataset: Path, tmp_path: Path,
                                                                arch: str) -> None:
    result = run_cli("train", "--data", str(tiny_dataset), "--arch", arch, "--epochs", "1",
                     "--img-size", "64x64", "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "_notop.h5" in result.stderr and ".keras" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()
