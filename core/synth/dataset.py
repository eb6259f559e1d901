"""The embedded default dataset: synthetic ECG report pages plus non-ECG images, with findings.

Each page has its own seed, derived from (dataset seed, class index, page index), so the output
is byte-identical whatever the number of workers, and page k of a small set equals page k of a
large one. ``render_example(cls, row["seed"])`` redraws any page of a written dataset.
"""
from __future__ import annotations

import io
import json
import multiprocessing
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from core.classes import CANONICAL_CLASSES, NON_ECG, class_slug
from core.errors import DiskFull, is_disk_full, write_failure
from core.paths import cache_dir
from core.synth.effects import capture, map_box
from core.synth.layout import render_page, sample_style
from core.synth.nonecg import render_non_ecg
from core.synth.waveforms import synthesize_ecg

GENERATOR_VERSION = 2
DEFAULT_PAGE_SIZE = (1106, 786)
# Pages per class of the built-in set: at 100 the Live-demo CNN memorises its 350 training pages
# (test accuracy 0.83-0.89); at 300 the same ten epochs generalise (1.00 on 225 test pages).
BUILTIN_PER_CLASS = 300
PageListener = Callable[[dict, Path], None]
COLUMNS = ("path", "class", "finding", "territory", "leads", "rhythm", "heart_rate", "layout",
           "photo", "grid_box", "lead_boxes", "seed")


def page_seed(seed: int, cls: str, index: int) -> int:
    """The seed of page ``index`` of class ``cls`` in the dataset drawn with ``seed``."""
    state = np.random.SeedSequence([seed, CANONICAL_CLASSES.index(cls), index]).generate_state(1)
    return int(state[0])


def _rounded(box) -> list[float]:
    return [round(float(v), 4) for v in box]


def render_example(cls: str, seed: int, *, page_size: tuple[int, int] = DEFAULT_PAGE_SIZE) -> tuple[Image.Image, dict]:
    """One synthetic page of class ``cls`` and its findings row (without ``path``).

    The same ``(cls, seed, page_size)`` always gives the same image.
    """
    if cls not in CANONICAL_CLASSES:
        raise ValueError(f"The 'cls' parameter of render_example must be a str among {CANONICAL_CLASSES}. Got {cls!r} instead.")
    signal_rng, page_rng, capture_rng = np.random.default_rng(seed).spawn(3)
    row = {"class": cls, "finding": "", "territory": "", "leads": "", "rhythm": "", "heart_rate": None,
           "grid_box": [], "lead_boxes": {}, "seed": seed}
    if cls == NON_ECG:
        page, row["layout"] = render_non_ecg(page_rng, page_size)
        image, shot = capture(page, capture_rng)
    else:
        ecg = synthesize_ecg(cls, signal_rng)
        style = sample_style(page_rng)
        page, boxes = render_page(ecg, style, page_rng, page_size)
        image, shot = capture(page, capture_rng, paper_fill=tuple(int(v) for v in np.asarray(page)[2, 2]))
        row.update(finding=ecg.finding, territory=ecg.territory, leads=";".join(ecg.finding_leads),
                   rhythm=ecg.rhythm, heart_rate=ecg.heart_rate, layout=style.name,
                   grid_box=_rounded(map_box(boxes.grid_box, shot.homography)),
                   lead_boxes={k: _rounded(map_box(b, shot.homography)) for k, b in boxes.lead_boxes.items()})
    row["photo"] = shot.photo
    row["jpeg_quality"] = shot.jpeg_quality
    return image, row


# In a worker process: set while its pages must wait (see ``generate_dataset``'s ``pause``).
_PAUSE = None


def _start_worker(nice: int, pause) -> None:
    global _PAUSE
    os.nice(nice)
    _PAUSE = pause


def _write_page(job: tuple[str, int, int, tuple[int, int], str, str]) -> dict:
    while _PAUSE is not None and _PAUSE.is_set():
        time.sleep(0.1)
    cls, index, seed, page_size, relative, root = job
    image, row = render_example(cls, page_seed(seed, cls, index), page_size=page_size)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=row.pop("jpeg_quality"))
    (Path(root) / relative).write_bytes(buffer.getvalue())
    return {"path": relative, **row}


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["heart_rate"] = frame["heart_rate"].astype("Int64")
    frame["photo"] = frame["photo"].astype(bool)
    return frame


def _write_tables(rows: list[dict], root: Path) -> pd.DataFrame:
    (root / "findings.json").write_text(json.dumps(rows, indent=1) + "\n")
    flat = [{**r, "grid_box": json.dumps(r["grid_box"]), "lead_boxes": json.dumps(r["lead_boxes"])} for r in rows]
    frame = _frame(flat)
    frame.to_csv(root / "findings.csv", index=False, lineterminator="\n")
    return frame


def _replace_dir(source: Path, target: Path) -> None:
    """Move the finished ``source`` to ``target``, replacing an older dataset there."""
    if target.exists():
        trash = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        target.rename(trash)
        source.rename(target)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        source.rename(target)


def generate_dataset(out_dir, per_class: int = 100, seed: int = 0, classes=CANONICAL_CLASSES,
                     page_size: tuple[int, int] = DEFAULT_PAGE_SIZE, workers: int | None = None, *,
                     on_page: PageListener | None = None, nice: int = 0, pause=None) -> pd.DataFrame:
    """Write ``per_class`` JPEG pages per class to ``out_dir/<class>/`` plus ``findings.csv``/``.json``.

    Pages are drawn in a temporary folder beside ``out_dir`` and moved in place at the end, so a
    killed run leaves no half dataset. An existing ``out_dir`` is replaced only if it holds a
    previous dataset (a ``findings.csv``). ``workers=None`` uses every CPU; 1 runs in-process.
    Workers are spawned, so a script calling this with several workers needs the usual
    ``if __name__ == "__main__":`` guard.
    Pages are drawn round-robin over the classes (page 0 of each, then page 1, …), so any prefix of
    the run is balanced; ``on_page(row, file)`` hears of each page as soon as it is written (``file``
    is in the temporary folder until the end). Workers run at niceness ``nice`` (a background run
    then leaves the CPU to training and page rendering); while the multiprocessing Event ``pause``
    is set they start no new page.
    In ``findings.json`` the boxes are JSON values; in the CSV they are JSON strings.
    Returns the findings table (one row per page, in class then page order).
    """
    out_dir = Path(out_dir)
    unknown = [c for c in classes if c not in CANONICAL_CLASSES]
    if unknown:
        raise ValueError(f"The 'classes' parameter of generate_dataset must contain only {CANONICAL_CLASSES}. Got {unknown!r}.")
    if per_class < 1:
        raise ValueError(f"The 'per_class' parameter of generate_dataset must be an int >= 1. Got {per_class!r} instead.")
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "findings.csv").exists():
        raise FileExistsError(f"{out_dir} exists and is not a synthetic dataset; refusing to replace it.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    jobs = [(cls, i, seed, tuple(page_size), f"{cls}/{class_slug(cls)}_{i:04d}.jpg", str(temp))
            for i in range(per_class) for cls in classes]
    try:
        for cls in classes:
            (temp / cls).mkdir(parents=True)
        rows = []
        for row in _pages(jobs, workers, nice, pause):
            rows.append(row)
            if on_page is not None:
                on_page(row, temp / row["path"])
        order = {job[4]: (classes.index(job[0]), job[1]) for job in jobs}
        frame = _write_tables(sorted(rows, key=lambda r: order[r["path"]]), temp)
        _replace_dir(temp, out_dir)
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFull(f"could not generate the synthetic pages: {write_failure(exc, out_dir.parent)}") from exc
        raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return frame


def _pages(jobs: list[tuple], workers: int | None, nice: int, pause=None) -> Iterator[dict]:
    """Draw and write the pages of ``jobs``, yielding each findings row as its page is written."""
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers == 1:
        yield from map(_write_page, jobs)
        return
    # spawn, not fork: the app process may hold TensorFlow and Streamlit threads.
    with _workers_skip_main_script():   # only while the workers start
        pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_start_worker, initargs=(nice, pause))
    with pool:
        # The workers take a second or two to start (Python, NumPy, Pillow): draw the first page here
        # meanwhile, so someone waiting for the first page sees it at once.
        yield _write_page(jobs[0])
        # Small chunks: each page is reported when it is written, not with a hundred others.
        yield from pool.imap_unordered(_write_page, jobs[1:], chunksize=2)


@contextmanager
def _workers_skip_main_script() -> Iterator[None]:
    """Start spawned workers without re-running the parent's ``__main__`` script.

    multiprocessing runs a script's ``__main__`` file again in every spawned worker before its
    first task. Under Streamlit that file is the page being run: each worker ran the app's script
    in "bare mode" (60 warnings in the server log on a fresh machine), and a script without a
    ``__name__`` guard starts generating again in the worker, which fails. The workers need only
    this module, so the file is hidden while they start. Modules run with ``-m`` are re-imported
    by name instead, behind their own guard, and are left alone.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def builtin_path(per_class: int = BUILTIN_PER_CLASS, seed: int = 0,
                 page_size: tuple[int, int] = DEFAULT_PAGE_SIZE) -> Path:
    """Where the default dataset of this size, seed and page size lives (generated or not)."""
    name = f"v{GENERATOR_VERSION}-seed{seed}-n{per_class}"
    if tuple(page_size) != DEFAULT_PAGE_SIZE:
        name += f"-{page_size[0]}x{page_size[1]}"
    return cache_dir() / "synthetic" / name


def is_complete(path: Path) -> bool:
    """Whether a generated dataset is in place at ``path`` (its tables are written last)."""
    return (path / "findings.csv").exists()


def builtin_dataset(per_class: int = BUILTIN_PER_CLASS, seed: int = 0,
                    page_size: tuple[int, int] = DEFAULT_PAGE_SIZE) -> Path:
    """The cached default dataset, generated on first use; returns its folder."""
    path = builtin_path(per_class, seed, page_size)
    if not is_complete(path):
        generate_dataset(path, per_class=per_class, seed=seed, page_size=page_size)
    return path
