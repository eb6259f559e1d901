"""Faults lose nothing (issue #19): a server killed during a training or while saving, a full disk
while saving a bundle or a cache, a damaged cache entry.

The kills are real: a child Python process runs the app's own code and gets SIGKILL (no handler,
no ``finally``), then this process looks at what it left on disk, as a restarted server would.
A full disk is simulated by making one write raise ``OSError(ENOSPC)``.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.paths import PROJECT_ROOT as REPO_ROOT

DISK_FULL = OSError(errno.ENOSPC, "No space left on device")


def _child(code: str, tmp_path: Path) -> subprocess.Popen:
    """A Python process running ``code`` with this test's cache and models folders."""
    env = {**os.environ, "ECG_LAB_CACHE": str(tmp_path / "cache"), "ECG_LAB_MODELS": str(tmp_path / "models"),
           "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(child: subprocess.Popen, wanted: str, timeout: float) -> None:
    """Read the child's output until a line contains ``wanted``; a silent child cannot hang the test."""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=1.0):
                continue
            line = child.stdout.readline()
            if wanted in line:
                return
            if not line and child.poll() is not None:
                raise AssertionError(f"child ended before {wanted!r}: {child.stderr.read()[-3000:]}")
    raise AssertionError(f"no {wanted!r} within {timeout} s")


def _bundle_entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_a_server_killed_mid_training_leaves_an_interrupted_run_and_no_bundle(tiny_dataset, tmp_path):
    from core.bundles import list_bundles, recover_interrupted
    from core.learn.runs import load_runs

    models = tmp_path / "models"
    models.mkdir()
    child = _child(f"""
        from core.data import folder_source, prepare_dataset
        from core.ecg import Preprocessing
        from core.learn import TrainConfig, TrainingJob

        data = prepare_dataset(folder_source({str(tiny_dataset)!r}), seed=0)
        config = TrainConfig(epochs=500, batch_size=4, preprocessing=Preprocessing(64, 128), patience=0)
        job = TrainingJob(data.index, config, bundle_name="killed", dataset_info={{"name": "tiny"}})
        job.start()
        seen = 0
        while job.state.running:
            if len(job.state.epochs) > seen:
                seen = len(job.state.epochs)
                print("epoch", seen, flush=True)
            job.join(0.05)
    """, tmp_path)
    runs_file = tmp_path / "cache" / "runs" / "runs.jsonl"
    try:
        _wait_for_line(child, "epoch 2", timeout=600)
        [alive] = load_runs(runs_file)
        assert alive["status"] == "running", "a run whose process lives is not interrupted"
        time.sleep(0.3)                                     # into the next epoch's batches
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        child.kill()
        child.communicate()
    [run] = load_runs(runs_file)
    assert run["status"] == "interrupted" and run["bundle_name"] == "killed"
    assert "stopped during this run" in run["error"]
    recover_interrupted(models)
    assert _bundle_entries(models) == []
    assert list_bundles(models).empty


def _saved_tiny(tiny_bundle: Path, models: Path) -> Path:
    """A copy of the session's tiny bundle as ``models/demo``."""
    models.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(tiny_bundle, models / "demo"))


@pytest.mark.parametrize("moment", ["writing the model file", "between the two renames"])
def test_a_server_killed_while_saving_keeps_the_previous_bundle(tiny_bundle, tmp_path, moment):
    from core.bundles import load_bundle, recover_interrupted

    models = tmp_path / "models"
    demo = _saved_tiny(tiny_bundle, models)
    before = {f: (demo / f).read_bytes() for f in ("model.keras", "metadata.json")}
    child = _child(f"""
        import os, signal
        from core import bundles

        bundle = bundles.load_bundle("demo")
        if {moment!r} == "writing the model file":
            def half_a_save(path):
                with open(path, "wb") as out:
                    out.write(b"PK\\x03\\x04 half a zip")
                    out.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            bundle.model.save = half_a_save
        else:
            rename = os.rename
            def rename_then_die(src, dst):
                rename(src, dst)
                if ".old-" in str(dst):                  # the old bundle moved aside, the new not in yet
                    os.kill(os.getpid(), signal.SIGKILL)
            bundles.os.rename = rename_then_die
        print("saving", flush=True)
        bundles.save_bundle(bundle.model, bundle.metadata, "demo", overwrite=True)
    """, tmp_path)
    child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL
    assert any(name.startswith(".demo.") for name in _bundle_entries(models)), "the kill came too late"
    recover_interrupted(models)                                # what the restarted server does first
    assert _bundle_entries(models) == ["demo"]
    assert {f: (demo / f).read_bytes() for f in before} == before
    assert load_bundle(demo).model is not None                 # and it still loads


@pytest.mark.parametrize("where", ["model.save", "fsync"])
def test_a_full_disk_while_saving_a_bundle_says_so_and_keeps_the_previous_one(tiny_bundle, tmp_path,
                                                                              monkeypatch, where):
    from core import bundles

    models = tmp_path / "models"
    demo = _saved_tiny(tiny_bundle, models)
    before = {f: (demo / f).read_bytes() for f in ("model.keras", "metadata.json")}
    bundle = bundles.load_bundle(demo)
    if where == "model.save":
        def full(path):
            Path(path).write_bytes(b"PK\x03\x04 the first bytes")
            raise DISK_FULL
        monkeypatch.setattr(bundle.model, "save", full)
    else:                                                      # some filesystems report it at fsync
        monkeypatch.setattr(bundles, "_fsync_file", lambda path: (_ for _ in ()).throw(DISK_FULL))
    with pytest.raises(bundles.BundleError) as caught:
        bundles.save_bundle(bundle.model, bundle.metadata, demo, overwrite=True)
    assert str(caught.value) == (f"could not save model 'demo': the disk holding {models} is full: free some "
                                 "space and try again; the previous model 'demo' is unchanged")
    assert _bundle_entries(models) == ["demo"]
    assert {f: (demo / f).read_bytes() for f in before} == before


def test_a_training_job_on_a_full_disk_fails_with_the_message_and_keeps_the_model(tiny_dataset, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ECG_LAB_MODELS", str(tmp_path / "models"))
    from core import bundles
    from core.data import folder_source, prepare_dataset
    from core.ecg import Preprocessing
    from core.learn import TrainConfig, TrainingJob
    from core.learn.runs import load_runs

    data = prepare_dataset(folder_source(tiny_dataset), seed=0)
    config = TrainConfig(epochs=1, batch_size=8, preprocessing=Preprocessing(64, 128), patience=0)
    real_fsync = bundles._fsync_file
    monkeypatch.setattr(bundles, "_fsync_file", lambda path: (_ for _ in ()).throw(DISK_FULL))
    job = TrainingJob(data.index, config, bundle_name="full", dataset_info={"name": "tiny"})
    job.start().join(300)
    assert job.state.status == "failed"
    assert "is full: free some space and try again" in job.state.error
    assert _bundle_entries(tmp_path / "models") == []
    [run] = load_runs()
    assert run["status"] == "failed" and "is full" in run["error"]
    monkeypatch.setattr(bundles, "_fsync_file", real_fsync)    # space freed: the trained model is still there
    assert (job.save("full") / "model.keras").is_file()


def test_a_full_disk_while_writing_the_dataset_cache_keeps_the_scan_and_the_old_cache(tiny_dataset, tmp_path,
                                                                                   monkeypatch, caplog):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    from core.data import dataset

    folder = Path(shutil.copytree(tiny_dataset, tmp_path / "pages"))
    first = dataset.scan(folder)
    cache = dataset._cache_path(folder.resolve())
    old = cache.read_bytes()
    shutil.copy(next((folder / "Normal").glob("*.jpg")), folder / "Normal" / "fresh.jpg")
    real_to_csv = pd.DataFrame.to_csv

    def full(frame, path, **kwargs):
        real_to_csv(frame.head(2), path, **kwargs)             # part of it written, then the disk is full
        raise DISK_FULL
    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with caplog.at_level(logging.WARNING, "core.cachefiles"):
        again = dataset.scan(folder)
    assert len(again.index) == len(first.index) + 1
    assert cache.read_bytes() == old
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]
    assert "is full: free some space" in caplog.text


def test_a_full_disk_while_caching_prepared_pages_does_not_stop_a_training(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    from core.data import folder_source, prepare_dataset
    from core.ecg import Preprocessing
    from core.learn import pipeline

    data = prepare_dataset(folder_source(tiny_dataset), seed=0)
    monkeypatch.setattr(Path, "write_bytes", lambda self, data: (_ for _ in ()).throw(DISK_FULL))
    spec = Preprocessing(64, 128)
    prepared = pipeline.prepare_images(data.index["path"].tolist(), spec, hashes=data.index["sha1"].tolist())
    assert prepared.errors == {} and len(prepared.images) == len(data.index)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and "prepared" in p.parts]


def test_a_damaged_prepared_page_is_rebuilt(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    from core.ecg import Preprocessing, load_and_prepare
    from core.learn import pipeline

    page = str(next(tiny_dataset.rglob("*.jpg")))
    spec = Preprocessing(64, 128)
    pipeline.prepare_images([page], spec, hashes=["abc"])
    entry = pipeline._cache_file(spec, "abc")
    entry.write_bytes(entry.read_bytes()[:100])                 # cut off
    [image] = pipeline.prepare_images([page], spec, hashes=["abc"]).images
    assert np.array_equal(image, load_and_prepare(page, spec))
    assert entry.stat().st_size == image.size


@pytest.mark.parametrize("damage", [b"", b"not a zip at all", "cut"])
def test_a_damaged_signal_cache_entry_is_read_again(tiny_dataset, tmp_path, monkeypatch, damage):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    from core.learn import signal_cache

    page = next(tiny_dataset.rglob("Normal/*.jpg"))
    first = signal_cache.page_signals(page, "abc")
    entry = signal_cache.signals_dir() / "abc.npz"
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2] if damage == "cut" else damage)
    again = signal_cache.page_signals(page, "abc")
    assert again.layout == first.layout and list(again.leads) == list(first.leads)
    assert signal_cache.load_signals(entry).layout == first.layout   # the entry was written again


def test_a_damaged_dataset_cache_is_rebuilt(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    from core.data import dataset

    first = dataset.scan(tiny_dataset)
    cache = dataset._cache_path(Path(tiny_dataset).resolve())
    text = cache.read_text()
    cache.write_text(text[: len(text) // 2] + "\x00\x00garbage,\"unclosed\n")
    again = dataset.scan(tiny_dataset)
    assert again.index["sha1"].tolist() == first.index["sha1"].tolist()
    assert json.dumps(sorted(dataset._read_cache(cache))) == json.dumps(sorted(first.index["relpath"]))


def test_a_full_disk_while_generating_the_built_in_pages_says_so_and_leaves_no_half_set(tmp_path, monkeypatch):
    from core.errors import DiskFull
    from core.synth import dataset

    previous = tmp_path / "synthetic"
    dataset.generate_dataset(previous, per_class=1, seed=0, page_size=(553, 393), workers=1)
    before = sorted(p.relative_to(previous) for p in previous.rglob("*"))
    written = []

    def page_then_full(job):
        if written:
            raise DISK_FULL
        written.append(job)
        return real(job)
    real = dataset._write_page
    monkeypatch.setattr(dataset, "_write_page", page_then_full)
    with pytest.raises(DiskFull) as caught:
        dataset.generate_dataset(previous, per_class=2, seed=1, page_size=(553, 393), workers=1)
    assert str(caught.value) == (f"could not generate the synthetic pages: the disk holding {tmp_path} is full: "
                                 "free some space and try again")
    assert sorted(p.relative_to(previous) for p in previous.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic"]
