"""Drawing the built-in set in the background: pages reported as written, round-robin over the
classes, a run per folder, and failures reported instead of raised."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.classes import CANONICAL_CLASSES
from core.synth import (
    DEFAULT_PAGE_SIZE,
    Generation,
    builtin_generation,
    builtin_path,
    generate_dataset,
)

TINY = (240, 170)


def test_pages_are_reported_as_written_round_robin_and_tabled_in_class_order(tmp_path: Path) -> None:
    heard: list[tuple[dict, Path]] = []
    frame = generate_dataset(tmp_path / "set", per_class=2, seed=3, page_size=TINY, workers=1,
                             on_page=lambda row, file: heard.append((row, file)))
    assert [row["class"] for row, _ in heard] == [*CANONICAL_CLASSES, *CANONICAL_CLASSES]
    assert all(file.name == Path(row["path"]).name for row, file in heard)
    assert list(frame["class"]) == [c for c in CANONICAL_CLASSES for _ in range(2)]
    assert frame["path"].tolist() == pd.read_csv(tmp_path / "set" / "findings.csv")["path"].tolist()


def test_a_run_draws_in_the_background_and_then_lists_the_finished_set(tmp_path: Path) -> None:
    run = Generation(tmp_path / "set", per_class=2, seed=0, page_size=TINY, workers=1)
    assert run.wait(120) and run.finished and not run.failed
    assert run.progress() == (10, 10)
    mi = run.pages(CANONICAL_CLASSES[0])
    assert len(mi) == 2 and all(p.is_file() and p.parent == tmp_path / "set" / CANONICAL_CLASSES[0] for p in mi)
    again = Generation(tmp_path / "set", per_class=2, seed=0, page_size=TINY)   # already there: no redraw
    assert again.finished and len(again.pages()) == 10


def test_a_failed_run_says_why_and_is_replaced(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path))
    target = builtin_path(1, 0, TINY)
    target.mkdir(parents=True)
    (target / "mine.txt").write_text("not a dataset")            # generate_dataset refuses to replace it
    run = builtin_generation(1, 0, page_size=TINY, nice=0)
    assert run.wait(60) and run.failed and "FileExistsError" in run.error
    (target / "mine.txt").unlink()
    retry = builtin_generation(1, 0, page_size=TINY, nice=0)
    assert retry is not run and retry.wait(120) and retry.finished
    assert builtin_generation(1, 0, page_size=TINY) is retry     # one run per folder


def test_the_page_size_names_its_own_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path))
    assert builtin_path(300, 0).name.endswith("-n300")
    assert builtin_path(300, 0, DEFAULT_PAGE_SIZE) == builtin_path(300, 0)
    assert builtin_path(300, 0, (442, 314)).name.endswith("-n300-442x314")


def test_the_drawing_waits_while_a_training_runs_and_then_finishes(tmp_path: Path) -> None:
    import time

    from core.priority import training

    with training():
        run = Generation(tmp_path / "set", per_class=4, seed=0, page_size=TINY, workers=2)
        time.sleep(4)                                   # workers started (spawned) and held
        assert run.paused and not run.finished
        assert run.progress()[0] <= 1                   # at most the page drawn in-process while they start
    assert run.wait(120) and run.finished and not run.paused
    assert run.progress() == (20, 20)
