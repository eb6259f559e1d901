"""Run history: every training run, finished, stopped or failed, as one JSON line.

The file lives at ``cache_dir()/runs/runs.jsonl`` rather than next to the model bundles: the
models folder is scanned as bundles (a stray folder there would show up as a broken model), and
the history is a log about runs — including failed and unsaved ones — not something a model
needs in order to be used. Deleting the cache loses the history, never a model.

A record holds the configuration, the curves (one dict per epoch), the final test metrics, the
duration, the dataset with its split method and seed, the bundle name and, for the leakage
lesson, the duplicate groups that ended up in both train and test.

A run is written twice: a ``running`` line when it starts and its final line (same ``id``) when it
ends; the last line of an id wins. While it runs, its process holds an exclusive ``flock`` on
``runs/active/<id>.lock``; the kernel drops that lock when the process dies however it dies
(SIGKILL, power cut of the container), so a ``running`` run whose lock is free was interrupted.
A pid would not do: after a restart, the server may well get the dead one's pid back.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import uuid
from pathlib import Path

import pandas as pd

from core.paths import cache_dir

_WRITE_LOCK = threading.Lock()
MAX_LEAKED_GROUPS_STORED = 200


def runs_file() -> Path:
    folder = cache_dir() / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "runs.jsonl"


def _active_dir(path: Path | None) -> Path:
    folder = (path or runs_file()).parent / "active"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def make_record(*, config: dict, history: list[dict], metrics: dict, seconds: float, status: str,
                bundle_name: str, dataset_info: dict | None = None, split: dict | None = None,
                leaked: pd.DataFrame | None = None, error: str = "", started: float | None = None) -> dict:
    """One run as plain JSON-ready data."""
    leaked = leaked if leaked is not None else pd.DataFrame()
    return {
        "id": uuid.uuid4().hex[:12],
        "started": started or time.time(),
        "status": status,
        "bundle_name": bundle_name,
        "config": config,
        "history": history,
        "metrics": metrics,
        "seconds": round(float(seconds), 1),
        "dataset": dataset_info or {},
        "split": split or {},
        "leaked_group_count": int(len(leaked)),
        "leaked_groups": leaked.head(MAX_LEAKED_GROUPS_STORED).to_dict("records"),
        "error": error,
    }


def record_run(record: dict, path: Path | None = None) -> dict:
    """Append ``record`` to the history (one line, written under a lock)."""
    line = json.dumps(record, default=_json_default) + "\n"
    with _WRITE_LOCK, open(path or runs_file(), "a", encoding="utf-8") as out:
        out.write(line)
    return record


class RunningRun:
    """A run recorded as ``running`` whose process holds its lock until :meth:`finish`."""

    def __init__(self, record: dict, path: Path | None = None):
        self.id, self._path = record["id"], path
        self._lock_file = _active_dir(path) / f"{self.id}.lock"
        self._fd = os.open(self._lock_file, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            record_run({**record, "status": "running", "pid": os.getpid()}, path)
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        self._lock_file.unlink(missing_ok=True)
        os.close(self._fd)

    def finish(self, record: dict) -> dict:
        """Write the run's final record (same id) and release its lock."""
        try:
            return record_run({**record, "id": self.id}, self._path)
        finally:
            self._release()


def _interrupted(run_id: str, path: Path | None) -> bool:
    """True when no live process holds the lock of the ``running`` run ``run_id``."""
    lock_file = _active_dir(path) / f"{run_id}.lock"
    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)          # closing drops the lock we may have just taken
    return True


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def load_runs(path: Path | None = None) -> list[dict]:
    """All recorded runs, oldest first, each as its last record; lines that do not parse (a crash
    mid-write) are skipped, and a ``running`` run whose process is gone is ``interrupted``."""
    file = path or runs_file()
    if not file.exists():
        return []
    runs: dict[str, dict] = {}
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "id" in record:
            runs[record["id"]] = record   # insertion order stays that of the first line
    for run_id, record in runs.items():
        if record.get("status") == "running" and _interrupted(run_id, path):
            runs[run_id] = {**record, "status": "interrupted",
                            "error": "the server stopped during this run; no model was saved from it"}
    return list(runs.values())


def runs_table(runs: list[dict]) -> pd.DataFrame:
    """One row per run: when, status, model, dataset, split method, key settings, test metrics."""
    rows = []
    for run in runs:
        config, metrics = run.get("config", {}), run.get("metrics", {})
        rows.append({
            "id": run["id"],
            "started": pd.Timestamp(run.get("started", 0), unit="s").strftime("%Y-%m-%d %H:%M:%S"),
            "status": run.get("status", ""),
            "bundle": run.get("bundle_name", ""),
            "dataset": run.get("dataset", {}).get("name", ""),
            "split": run.get("split", {}).get("method", "duplicate-safe"),
            "seed": run.get("split", {}).get("seed"),
            "arch": config.get("arch", ""),
            "epochs": len(run.get("history", [])),
            "test_accuracy": metrics.get("test_accuracy"),
            "test_macro_f1": metrics.get("test_macro_f1"),
            "leaked_groups": run.get("leaked_group_count", 0),
            "seconds": run.get("seconds"),
        })
    return pd.DataFrame(rows)


def run_label(run: dict) -> str:
    split = run.get("split", {}).get("method", "duplicate-safe")
    return f"{run.get('bundle_name') or run['id']} ({split})"


def curves_frame(runs: list[dict]) -> pd.DataFrame:
    """Long table of the runs' curves: run, epoch, metric, series (train/validation), value."""
    rows = []
    for run in runs:
        label = run_label(run)
        for epoch in run.get("history", []):
            for key, value in epoch.items():
                if value is None:
                    continue
                for metric in ("loss", "accuracy"):
                    if key in (metric, f"val_{metric}"):
                        rows.append({"run": label, "epoch": epoch.get("epoch"), "metric": metric,
                                     "series": "validation" if key.startswith("val_") else "train",
                                     "value": float(value)})
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "series", "value"])


def compare_metrics(runs: list[dict]) -> pd.DataFrame:
    """Test metrics side by side: one row per run."""
    return pd.DataFrame([{
        "run": run_label(run),
        "split": run.get("split", {}).get("method", "duplicate-safe"),
        "test_accuracy": run.get("metrics", {}).get("test_accuracy"),
        "test_macro_f1": run.get("metrics", {}).get("test_macro_f1"),
        "test_ece": run.get("metrics", {}).get("test_ece"),
        "test_images": run.get("metrics", {}).get("test_images"),
        "leaked_groups": run.get("leaked_group_count", 0),
        "seconds": run.get("seconds"),
    } for run in runs])


def leakage_pair(runs: list[dict]) -> tuple[dict | None, dict | None]:
    """The latest finished duplicate-safe run and the latest finished random-split run on the
    same dataset as that random run: the two sides of the leakage lesson."""
    done = [r for r in runs if r.get("metrics", {}).get("test_accuracy") is not None]
    wrong = next((r for r in reversed(done) if r.get("split", {}).get("method") == "random"), None)
    if wrong is None:
        return None, None
    dataset = wrong.get("dataset", {}).get("path")
    right = next((r for r in reversed(done) if r.get("split", {}).get("method", "duplicate-safe") != "random"
                  and r.get("dataset", {}).get("path") == dataset), None)
    return right, wrong
