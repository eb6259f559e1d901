"""Benchmark section ``soak``: does a server's memory level off over training cycles?

One cycle is what a class does to the server again and again: a training job (its own thread,
run history, bundle saved), then the bundle loaded and a page predicted with it. The resident set
size is read after each cycle. The first cycles hold TensorFlow's one-off allocations (kernels,
thread pools, the first traced graphs) and are not judged; over the judged ones the growth per
cycle is the difference of the medians of their first and last three readings divided by the
cycles between them (a median shrugs off the allocator handing a page or two back once).

The opt-in soak test (``pytest -m soak``) asserts the bound on the same function.
"""
from __future__ import annotations

import gc
import statistics
import time
from pathlib import Path

import pandas as pd

from core.ecg import Preprocessing

WARM_UP = 3                # cycles of TensorFlow's one-off allocations, not judged
JUDGED = 10                # the "over 10 training cycles"
EDGE = 3                   # readings in each median
SOAK_PAGE = (553, 393)     # quarter-size pages: every step of a cycle, a fraction of the pixels


def rss_mb() -> float:
    """This process's resident set size in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def growth_per_cycle(readings: list[float], warm_up: int = WARM_UP) -> float:
    """MB per cycle over the readings after ``warm_up`` (see the module docstring)."""
    judged = readings[warm_up:]
    edge = min(EDGE, len(judged) // 2)
    if edge == 0:
        return 0.0
    span = len(judged) - edge
    return (statistics.median(judged[-edge:]) - statistics.median(judged[:edge])) / span


def training_cycles(index: pd.DataFrame, cycles: int, *, epochs: int = 1) -> list[float]:
    """RSS in MB after each of ``cycles`` train → save → load → predict cycles on ``index``."""
    from core.bundles import load_bundle
    from core.learn import TrainConfig, TrainingJob
    from core.use import predict_many

    config = TrainConfig(epochs=epochs, batch_size=8, preprocessing=Preprocessing(64, 128), patience=0)
    page = Path(index["path"].iloc[0]).read_bytes()
    readings = []
    for _ in range(cycles):
        job = TrainingJob(index, config, bundle_name="soak", dataset_info={"name": "soak"}, overwrite=True)
        job.start().join()
        if job.state.status != "saved":
            raise RuntimeError(f"soak training ended {job.state.status}: {job.state.error}")
        table = predict_many(load_bundle(job.state.bundle_path), [("page.jpg", page)])
        if table.loc[0, "error"]:
            raise RuntimeError(f"soak prediction failed: {table.loc[0, 'error']}")
        del job, table
        gc.collect()
        readings.append(rss_mb())
    return readings


def bench_soak(workdir: Path, judged: int = JUDGED, warm_up: int = WARM_UP) -> dict:
    """Section ``soak``: ``warm_up + judged`` cycles on a small generated set in ``workdir``."""
    from core.data import folder_source, prepare_dataset
    from core.synth import generate_dataset

    generate_dataset(workdir / "soak-pages", per_class=6, seed=7, page_size=SOAK_PAGE, workers=1)
    index = prepare_dataset(folder_source(workdir / "soak-pages"), seed=0).index
    start = time.perf_counter()
    readings = training_cycles(index, warm_up + judged)
    return {"cycles": warm_up + judged, "warm_up": warm_up, "rss_mb": [round(r, 1) for r in readings],
            "growth_mb_per_cycle": growth_per_cycle(readings, warm_up),
            "cycle_s": (time.perf_counter() - start) / (warm_up + judged)}
