"""A training job started while the built-in pages are drawn waits for them, reporting the count."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.data import DatasetError, prepare_when_drawn, synthetic_source
from core.synth import Generation

TINY = (240, 170)


def test_waits_for_the_run_then_scans_and_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path))
    source = synthetic_source(4, page_size=TINY, generate=False)
    assert source.label == "Built-in synthetic ECG pages (4 per class, drawn at 240×170)"
    run = Generation(Path(source.path), per_class=4, seed=0, page_size=TINY, workers=1, nice=0)
    events: list[dict] = []
    data = prepare_when_drawn(run, source, listener=events.append)
    assert run.finished and len(data.index) == 20 and {"train", "test"} <= set(data.index["split"])
    counts = [e for e in events if e["event"] == "prepare"]
    assert all(e["total"] == 20 and 0 <= e["done"] <= 20 for e in counts)
    assert events[-1] == {"event": "status", "message": "Scanning the pages and looking for duplicates"}


def test_a_failed_run_is_a_dataset_error(tmp_path: Path) -> None:
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "mine.txt").write_text("not a dataset")
    run = Generation(tmp_path / "set", per_class=1, seed=0, page_size=TINY, workers=1)
    with pytest.raises(DatasetError, match="could not be drawn: FileExistsError"):
        prepare_when_drawn(run, synthetic_source(1, generate=False), listener=lambda event: None)
