"""``python -m core bench``: the lab's speed, measured on this machine against baselines run alongside.

Every section is a pure function returning a dict of plain numbers. Baselines run in the same
process, interleaved with the project's code where that is cheap, so a busy machine slows both and
the *ratios* stay meaningful; each section also records the load average before and after.
:func:`run` does everything in private temporary cache and model folders, and
:func:`check_targets` compares the figures with the targets of the benchmark issue.
"""
from __future__ import annotations

import os
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from core.classes import order_classes
from core.data import content_hash
from core.ecg import Preprocessing, crop_page, load_page, prepare_image
from core.learn import (
    PRESETS,
    TrainConfig,
    default_preprocessing,
    make_dataset,
    prepare_images,
    train,
    with_overrides,
)
from core.synth.dataset import BUILTIN_PER_CLASS

PAGE_SIZE = (2213, 1572)         # the Mendeley report pages, as scanned
BASELINE_SHAPE = (224, 224, 3)   # the original notebooks' target_size, RGB
FROZEN_SPEC = Preprocessing(96, 96, "rgb", "grid")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchPlan:
    """How much work each section does: :data:`QUICK` is the CI smoke test, :data:`FULL` the README."""

    pages_per_class: int       # full-size pages for pipeline, training, predict and frozen transfer
    pipeline_images: int
    repeats: int               # interleaved repetitions of each pipeline and convolution timing
    epochs: int                # project-pipeline training epochs (they also give the accuracies)
    baseline_epochs: int       # baseline-pipeline epochs (timing only)
    live_demo_per_class: int   # synthetic pages per class for the Live-demo preset
    live_demo_epochs: int | None  # None: the preset's own
    first_minutes_per_class: int  # the built-in set's size in the first-minutes section (drawn from nothing)
    predict_runs: int
    frozen_epochs: int
    truth_pages: int           # held-out synthetic truth pages scored by the page reader
    real_pages: int | None     # distinct Mendeley pages read (None: all)
    speed_pages: int           # full-size pages timed through the reader
    diagnosis_pages: int       # truth pages of every layout through the Predict page's analysis

    soak_cycles: int           # judged training cycles of the memory soak
    soak_warm_up: int          # cycles before those, not judged
    classroom_students: int    # browser sessions predicting at once


QUICK = BenchPlan(pages_per_class=2, pipeline_images=6, repeats=1, epochs=2, baseline_epochs=1,
                  live_demo_per_class=3, live_demo_epochs=1, first_minutes_per_class=12, predict_runs=5, frozen_epochs=1,
                  truth_pages=12, real_pages=4, speed_pages=1, diagnosis_pages=6, soak_cycles=2, soak_warm_up=1, classroom_students=2)
FULL = BenchPlan(pages_per_class=30, pipeline_images=30, repeats=3, epochs=10, baseline_epochs=3,
                 live_demo_per_class=BUILTIN_PER_CLASS, live_demo_epochs=None, first_minutes_per_class=BUILTIN_PER_CLASS,
                 predict_runs=30, frozen_epochs=4,
                 truth_pages=324, real_pages=None, speed_pages=5, diagnosis_pages=108, soak_cycles=10, soak_warm_up=3, classroom_students=20)
SECTIONS = ("pipeline", "training", "live_demo", "predict", "frozen_transfer", "app_start", "first_minutes",
            "digitize", "diagnosis", "soak", "classroom")
_NEED_PAGES = {"pipeline", "training", "predict", "frozen_transfer"}   # on generated full-size pages


# --- helpers ---------------------------------------------------------------------------------

def load_average() -> float:
    """The 1-minute load average (other engineers' tests share these cores)."""
    return round(os.getloadavg()[0], 2)


def _seconds(fn: Callable[..., object], *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each run, taking turns so that load changes hit every run alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            times[name].append(_seconds(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def _steady(epoch_seconds: list[float]) -> float:
    """Median epoch time without the first epoch (graph tracing), when there is more than one."""
    return statistics.median(epoch_seconds[1:] or epoch_seconds)


def machine_info() -> dict:
    """Processor, cores, memory and library versions of the machine the figures come from."""
    import keras
    import PIL
    import tensorflow as tf

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1),
            "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "pillow": PIL.__version__, "numpy": np.__version__}


@contextmanager
def private_folders(root: Path, synthetic_per_class: int) -> Iterator[None]:
    """Point the app's cache and models folders (and the app's synthetic set size) into ``root``."""
    values = {"ECG_LAB_CACHE": str(root / "cache"), "ECG_LAB_MODELS": str(root / "models"),
              "ECG_LAB_SYNTH_PER_CLASS": str(synthetic_per_class)}
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def generate_pages(out_dir: Path, per_class: int) -> dict:
    """Full-size (2213×1572) synthetic JPEG pages of every class, as the scanned originals."""
    from core.synth import generate_dataset

    start = time.perf_counter()
    table = generate_dataset(out_dir, per_class=per_class, seed=1, page_size=PAGE_SIZE)
    return {"pages": len(table), "page_size": list(PAGE_SIZE), "generation_s": time.perf_counter() - start}


# --- 1. input pipeline -----------------------------------------------------------------------

def _stage_ms(paths: list[str], spec: Preprocessing) -> dict[str, float]:
    """Median milliseconds per image, file by file: the baseline loader, each step of the project's
    loader, and the two decodes that bound them: full size (the baseline's floor) and the smallest
    JPEG draft (anyone's floor: every byte must still be entropy-decoded)."""
    from core.bench.baseline import naive_load

    def full_decode(path: str) -> None:
        with Image.open(path) as img:
            img.load()

    def eighth_decode(path: str) -> None:
        with Image.open(path) as img:
            img.draft("RGB", (img.width // 8, img.height // 8))
            img.load()

    steps = {"baseline": [], "decode_full": [], "decode_eighth": [], "decode": [], "grid_crop": [],
             "ink_resize": []}
    for path in paths:
        steps["baseline"].append(_seconds(naive_load, path, *BASELINE_SHAPE))
        steps["decode_full"].append(_seconds(full_decode, path))
        steps["decode_eighth"].append(_seconds(eighth_decode, path))
        start = time.perf_counter()
        page = load_page(path, spec)
        loaded = time.perf_counter()
        cropped = crop_page(page, spec)
        cut = time.perf_counter()
        prepare_image(cropped, replace(spec, crop="none"))
        steps["decode"].append(loaded - start)
        steps["grid_crop"].append(cut - loaded)
        steps["ink_resize"].append(time.perf_counter() - cut)
    return {name: 1000 * statistics.median(values) for name, values in steps.items()}


def bench_pipeline(paths: list[str], spec: Preprocessing, repeats: int, workers: int = 2) -> dict:
    """Images/s from full-size JPEG to network input: the notebooks' loader against the project's
    (cold: decoded every time, as the disk cache is bypassed; warm: read from the cache).

    ``cold_ceiling`` is the best cold ratio any loader could reach with ``workers`` threads on
    ``workers`` free cores: it must at least entropy-decode every file, which costs the smallest
    JPEG draft's time."""
    from core.bench.baseline import naive_load

    hashes = [content_hash(p) for p in paths]
    prepare_images(paths, spec, hashes=hashes)          # fills the cache for the warm runs
    seconds = _interleaved({
        "baseline": lambda: [naive_load(p, *BASELINE_SHAPE, scale=1 / 255) for p in paths],
        "project_cold": lambda: prepare_images(paths, spec, workers=workers),
        "project_cold_1_thread": lambda: prepare_images(paths, spec, workers=1),
        "project_warm": lambda: prepare_images(paths, spec, hashes=hashes),
    }, repeats)
    rates = {f"{name}_images_per_s": len(paths) / s for name, s in seconds.items()}
    base = rates["baseline_images_per_s"]
    stages = _stage_ms(paths, spec)
    return {"images": len(paths), "spec": spec.key(), "workers": workers, **rates,
            "ratio_cold": rates["project_cold_images_per_s"] / base,
            "ratio_cold_1_thread": rates["project_cold_1_thread_images_per_s"] / base,
            "ratio_warm": rates["project_warm_images_per_s"] / base,
            "cold_ceiling": workers * stages["baseline"] / stages["decode_eighth"], "stage_ms": stages}


# --- 2. training ------------------------------------------------------------------------------

def conv_throughput(repeats: int, *, batch: int = 32, side: int = 112, channels: int = 64) -> dict:
    """GFLOP/s of one large 3×3 convolution in TensorFlow: this machine's practical limit."""
    import tensorflow as tf

    images = tf.random.uniform((batch, side, side, channels))
    kernel = tf.random.uniform((3, 3, channels, channels))
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    for _ in range(3):                                  # tracing and oneDNN's kernel choice
        conv(images)
    seconds = statistics.median(_seconds(lambda: conv(images)) for _ in range(max(5, repeats)))
    flops = 2 * 9 * channels * channels * side * side * batch
    return {"shape": f"{batch}x{side}x{side}x{channels}->{channels}", "gflop_per_s": flops / seconds / 1e9}


def _labels(index: pd.DataFrame, split: str, classes: list[str]) -> tuple[list[str], np.ndarray]:
    rows = index[index["split"] == split]
    return rows["path"].tolist(), rows["class"].map(classes.index).to_numpy()


def _timed_fit(model, config: TrainConfig, train_data, val_data, epochs: int) -> float:
    """Compile and fit as :func:`core.learn.training.train` does; the steady seconds per epoch."""
    import keras

    from core.learn import ProgressCallback

    seconds: list[float] = []
    timer = ProgressCallback(lambda e: seconds.append(e["seconds"]) if e["event"] == "epoch" else None,
                             threading.Event(), len(train_data), "val_loss" if val_data else "loss")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    # shuffle=False: make_dataset reshuffles itself, and batch order does not change the baseline's cost.
    model.fit(train_data, validation_data=val_data, epochs=epochs, callbacks=[timer], shuffle=False, verbose=0)
    return _steady(seconds)


def _project_run(index: pd.DataFrame, config: TrainConfig) -> dict:
    """Train with the project's engine (decode once, cached arrays every epoch)."""
    events: list[dict] = []
    outcome = train(index, config, listener=events.append)
    start = next(e for e in events if e["event"] == "start")
    epoch_s = _steady([e["seconds"] for e in events if e["event"] == "epoch"])
    n_train, n_val = start["counts"]["train"], start["counts"]["val"]
    return {"epoch_s": epoch_s, "images_per_s": n_train / epoch_s, "total_s": outcome.seconds,
            "flops_per_image": start["flops"], "images": start["counts"],
            # forward + backward ≈ 3 forward passes per training image, 1 per validation image
            "gflop_per_s": start["flops"] * (3 * n_train + n_val) / epoch_s / 1e9,
            "test_accuracy": outcome.metrics.get("test_accuracy", 0.0)}


def _baseline_run(index: pd.DataFrame, config: TrainConfig, epochs: int) -> dict:
    """The same model and settings fed by the notebooks' generator (full decode every batch)."""
    from core.bench.baseline import NaiveBatches
    from core.learn import build_model

    classes = order_classes(index["class"].unique())
    shape = config.preprocessing.input_shape
    train_paths, train_labels = _labels(index, "train", classes)
    val_paths, val_labels = _labels(index, "val", classes)
    train_data = NaiveBatches(train_paths, train_labels, len(classes), shape, config.batch_size)
    val_data = NaiveBatches(val_paths, val_labels, len(classes), shape, 64) if val_paths else None
    model = build_model(config.arch, shape, len(classes), width=config.width)
    epoch_s = _timed_fit(model, config, train_data, val_data, epochs)
    return {"epoch_s": epoch_s, "images_per_s": len(train_paths) / epoch_s}


def training_configs(epochs: int) -> dict[str, TrainConfig]:
    """The compact CNN with its defaults and the original notebooks' recipe, both without
    augmentation (the notebooks had none) or early stopping, for ``epochs`` epochs."""
    compact = TrainConfig(arch="compact", preprocessing=default_preprocessing("compact"))
    return {"compact": with_overrides(compact, augment=0.0, patience=0, epochs=epochs),
            "seed_cnn": with_overrides(PRESETS["original-notebook"], epochs=epochs)}


def bench_training(index: pd.DataFrame, plan: BenchPlan) -> dict:
    """Epoch time, images/s and accuracy of the compact CNN and ``seed_cnn`` with the project's and
    the baseline pipeline, and how close their training comes to the convolution limit (measured
    before and after the training runs, as the load may change meanwhile; the mean is the limit)."""
    before = conv_throughput(plan.repeats)
    runs = {}
    for arch, config in training_configs(plan.epochs).items():
        project = _project_run(index, config)
        baseline = _baseline_run(index, config, plan.baseline_epochs)
        runs[arch] = {"input": config.preprocessing.key(), "batch_size": config.batch_size,
                      "project": project, "baseline": baseline,
                      "pipeline_ratio": baseline["epoch_s"] / project["epoch_s"]}
    after = conv_throughput(plan.repeats)
    conv = {**before, "gflop_per_s_before": before["gflop_per_s"], "gflop_per_s_after": after["gflop_per_s"],
            "gflop_per_s": (before["gflop_per_s"] + after["gflop_per_s"]) / 2}
    for figures in runs.values():
        figures["fraction_of_conv_limit"] = figures["project"]["gflop_per_s"] / conv["gflop_per_s"]
    compact, seed = runs["compact"], runs["seed_cnn"]
    return {"conv_limit": conv, **runs,
            "compact_vs_seed_baseline": seed["baseline"]["epoch_s"] / compact["project"]["epoch_s"],
            "compact_vs_seed_project": seed["project"]["epoch_s"] / compact["project"]["epoch_s"],
            "accuracy_gain": compact["project"]["test_accuracy"] - seed["project"]["test_accuracy"]}


# --- 3. live demo ---------------------------------------------------------------------------

def bench_live_demo(per_class: int, epochs: int | None) -> dict:
    """The Live-demo preset as the Train page runs it: the built-in set's starter pack (or, for another
    size, the drawn set) → bundle saved. ``generation_s`` is then the time to load the pack."""
    from core.data import prepare_dataset, synthetic_source
    from core.learn import load_starter, save_outcome
    from core.paths import models_dir

    config = PRESETS["live-demo"] if epochs is None else with_overrides(PRESETS["live-demo"], epochs=epochs)
    start = time.perf_counter()
    data = load_starter(synthetic_source(per_class=per_class, generate=False), config.preprocessing)
    source = None if data is not None else synthetic_source(per_class=per_class)
    ready = time.perf_counter()
    data = data or prepare_dataset(source, seed=config.seed)
    scanned = time.perf_counter()
    events: list[dict] = []
    outcome = train(data.index, config, listener=events.append)
    bundle = save_outcome(outcome, models_dir() / "live-demo", overwrite=True)
    return {"per_class": per_class, "epochs": config.epochs, "generation_s": ready - start,
            "wall_s": time.perf_counter() - ready, "scan_s": scanned - ready, "train_s": outcome.seconds,
            "epochs_s": sum(e["seconds"] for e in events if e["event"] == "epoch"),
            "test_accuracy": outcome.metrics.get("test_accuracy", 0.0),
            "test_images": outcome.metrics.get("test_images", 0), "bundle": str(bundle)}


# --- 4. predict -----------------------------------------------------------------------------

def bench_predict(bundle_path: str, image: str, runs: int) -> dict:
    """Latency of one full-size JPEG through prediction and Grad-CAM, as the Predict page does it:
    cold (bundle load and first call) and warm (median and 95th percentile over ``runs``). Each warm
    run reads the page again, as for a new photo: the reader's cache is emptied first."""
    from core.bundles import load_bundle
    from core.ecg.reader import cache as reading_cache
    from core.use import analyse_image, explain_image

    start = time.perf_counter()
    bundle = load_bundle(bundle_path)
    saliency = explain_image(bundle, analyse_image(bundle, image))
    cold = time.perf_counter() - start
    predict_s, gradcam_s = [], []
    for _ in range(runs):
        reading_cache.clear()
        start = time.perf_counter()
        result = analyse_image(bundle, image)
        predicted = time.perf_counter()
        explain_image(bundle, result)
        predict_s.append(predicted - start)
        gradcam_s.append(time.perf_counter() - predicted)
    total = np.add(predict_s, gradcam_s)
    return {"model": bundle.metadata.name or Path(bundle_path).name, "runs": runs, "method": saliency.used,
            "cold_s": cold,
            "warm_median_s": float(np.median(total)), "warm_p95_s": float(np.percentile(total, 95)),
            "predict_median_s": statistics.median(predict_s), "gradcam_median_s": statistics.median(gradcam_s)}


# --- 6. frozen transfer ---------------------------------------------------------------------

def _uncached_frozen_epoch_s(index: pd.DataFrame, config: TrainConfig, epochs: int) -> float:
    """Seconds per epoch of the same frozen base and head, with the base run on every image every epoch."""
    import keras

    from core.learn import build_head, build_transfer_base

    classes = order_classes(index["class"].unique())
    spec = config.preprocessing
    inputs, features, base = build_transfer_base(config.arch, spec.input_shape, weights=config.weights_path)
    base.trainable = False
    model = keras.Model(inputs, build_head(features, len(classes)))
    data = {}
    for split in ("train", "val"):
        paths, labels = _labels(index, split, classes)
        rows = index[index["split"] == split]
        images = prepare_images(paths, spec, hashes=rows["sha1"].tolist()).images
        batch_size = config.batch_size if split == "train" else 64   # as core.learn.training does
        data[split] = make_dataset(images, labels, len(classes), batch_size=batch_size,
                                   shuffle=split == "train", seed=config.seed) if paths else None
    return _timed_fit(model, config, data["train"], data["val"], epochs)


def bench_frozen_transfer(index: pd.DataFrame, epochs: int, workdir: Path) -> dict:
    """MobileNetV2 (96×96, random weights saved as a local weights file: ImageNet's cannot be
    downloaded here) with a frozen base: cached features (the project's path) against none."""
    import keras

    weights = workdir / "mobilenetv2-96-random.weights.h5"
    keras.applications.MobileNetV2(include_top=False, weights=None,
                                   input_shape=FROZEN_SPEC.input_shape).save_weights(weights)
    config = TrainConfig(arch="mobilenetv2", epochs=epochs, preprocessing=FROZEN_SPEC, augment=0.0,
                         patience=0, weights_path=str(weights))
    cached = _project_run(index, config)
    uncached_s = _uncached_frozen_epoch_s(index, config, epochs)
    return {"input": FROZEN_SPEC.key(), "cached_epoch_s": cached["epoch_s"], "cached_total_s": cached["total_s"],
            "uncached_epoch_s": uncached_s, "ratio": uncached_s / cached["epoch_s"]}


# --- all of it --------------------------------------------------------------------------------

def chosen_sections(only: str | None) -> tuple[str, ...]:
    """The sections named in ``only`` ("predict,digitize"), in run order; every section when None."""
    if not only:
        return SECTIONS
    names = {name.strip() for name in only.split(",") if name.strip()}
    unknown = sorted(names - set(SECTIONS))
    if unknown or not names:
        raise ValueError(f"Unknown benchmark section {', '.join(unknown) or repr(only)}: choose from {', '.join(SECTIONS)}.")
    return tuple(name for name in SECTIONS if name in names)


def run(plan: BenchPlan, progress: Progress = lambda message: None, sections: tuple[str, ...] = SECTIONS) -> dict:
    """The chosen ``sections`` in a private temporary workspace; returns one JSON-ready dict.

    Predict uses the model the Predict page opens by default (the shipped bundle), or the Live-demo
    bundle just trained when there is none."""
    from core.bench.app import bench_app_start
    from core.bench.classroom import bench_classroom
    from core.bench.diagnosis import bench_diagnosis
    from core.bench.digitize import bench_digitize
    from core.bench.first_minutes import bench_first_minutes
    from core.bench.soak import bench_soak
    from core.bundles import default_bundle
    from core.data import folder_source, prepare_dataset
    from core.paths import PROJECT_ROOT

    started = time.perf_counter()
    results: dict = {"plan": "quick" if plan == QUICK else "full", "sections": list(sections)}
    shipped = default_bundle(PROJECT_ROOT / "models")

    def measure(name: str, fn: Callable[..., dict], *args) -> dict:
        progress(f"{name} (load average {load_average()})")
        before, start = load_average(), time.perf_counter()
        results[name] = {**fn(*args), "section_s": time.perf_counter() - start,
                         "load_avg": [before, load_average()]}
        return results[name]

    with tempfile.TemporaryDirectory(prefix="ecg-lab-bench-") as tmp, \
            private_folders(Path(tmp), plan.live_demo_per_class):
        work = Path(tmp)
        results["machine"] = {**machine_info(), "load_avg_start": load_average()}
        if _NEED_PAGES & set(sections):
            measure("pages", generate_pages, work / "pages", plan.pages_per_class)
            index = prepare_dataset(folder_source(work / "pages"), seed=0).index
            paths = index["path"].tolist()
        if "pipeline" in sections:
            measure("pipeline", bench_pipeline, paths[:plan.pipeline_images], Preprocessing(), plan.repeats)
        if "training" in sections:
            measure("training", bench_training, index, plan)
        if "live_demo" in sections or ({"predict", "diagnosis"} & set(sections) and not shipped):
            measure("live_demo", bench_live_demo, plan.live_demo_per_class, plan.live_demo_epochs)
        if "predict" in sections:
            model = str(shipped or results["live_demo"]["bundle"])
            measure("predict", bench_predict, model, paths[0], plan.predict_runs)
        if "frozen_transfer" in sections:
            measure("frozen_transfer", bench_frozen_transfer, index, plan.frozen_epochs, work)
        if "app_start" in sections:
            measure("app_start", bench_app_start)
        if "first_minutes" in sections:
            measure("first_minutes", bench_first_minutes, work / "first-minutes", plan.first_minutes_per_class)
        if "digitize" in sections:
            measure("digitize", bench_digitize, plan.truth_pages, plan.real_pages, plan.speed_pages, plan.repeats)
        if "diagnosis" in sections:
            measure("diagnosis", bench_diagnosis, str(shipped or results["live_demo"]["bundle"]), plan.diagnosis_pages)
        if "soak" in sections:
            measure("soak", bench_soak, work, plan.soak_cycles, plan.soak_warm_up)
        if "classroom" in sections:
            measure("classroom", bench_classroom, plan.classroom_students, plan.live_demo_per_class)
    results["machine"].update(load_avg_end=load_average(), seconds=time.perf_counter() - started)
    results["targets"] = check_targets(results)
    return results


@dataclass(frozen=True)
class Target:
    """One goal of the benchmark issue: a figure from the results and the bound it must meet."""

    section: str               # the results section the figure reads (see SECTIONS)
    name: str
    figure: Callable[[dict], float]
    bound: float
    at_least: bool = True
    unit: str = "×"

    def check(self, results: dict) -> dict:
        figure = self.figure(results)
        value = None if figure is None else float(figure)       # None: nothing to measure it on
        passed = value is not None and (value >= self.bound if self.at_least else value <= self.bound)
        need = f"{'≥' if self.at_least else '≤'} {self.bound:g}{self.unit}"
        return {"name": self.name, "value": value, "unit": self.unit, "need": need, "passed": passed}


TARGETS = (
    Target("pipeline", "pipeline: project (cold) ÷ baseline images/s", lambda r: r["pipeline"]["ratio_cold"], 5),
    Target("training", "training: seed_cnn+baseline epoch ÷ compact+project epoch",
           lambda r: r["training"]["compact_vs_seed_baseline"], 5),
    Target("training", "training: compact − seed_cnn test accuracy", lambda r: r["training"]["accuracy_gain"], 0, unit=""),
    Target("live_demo", "live demo: data ready → bundle saved", lambda r: r["live_demo"]["wall_s"], 60, False, " s"),
    Target("live_demo", "live demo: test accuracy", lambda r: r["live_demo"]["test_accuracy"], 0.95, unit=""),
    Target("predict", "read the page, predict + Grad-CAM, warm median", lambda r: r["predict"]["warm_median_s"], 1.5,
           False, " s"),
    Target("app_start", "first page after the server is up", lambda r: r["app_start"]["first_page_s"], 3, False, " s"),
    Target("training", "seed_cnn training ÷ conv limit", lambda r: r["training"]["seed_cnn"]["fraction_of_conv_limit"],
           0.5, unit=""),
    Target("app_start", "Home and Explore import no TensorFlow", lambda r: r["app_start"]["tf_free_pages"], 1, unit=""),
    Target("first_minutes", "fresh machine: Explore's first image after the server is up",
           lambda r: r["first_minutes"]["explore_first_image_s"], 5, False, " s"),
    Target("first_minutes", "fresh machine: Live demo click → first epoch on screen",
           lambda r: r["first_minutes"]["live_demo_first_epoch_s"], 10, False, " s"),
    Target("first_minutes", "fresh machine: Live demo click → bundle saved",
           lambda r: r["first_minutes"]["live_demo_click_to_saved_s"], 45, False, " s"),
    Target("first_minutes", "fresh machine: Live demo test accuracy",
           lambda r: r["first_minutes"]["live_demo_test_accuracy"], 0.95, unit=""),
    Target("digitize", "page reader: median lead SNR, clean truth pages", lambda r: r["digitize"]["truth"]["median_snr_clean_db"],
           15, unit=" dB"),
    Target("digitize", "page reader: median lead SNR, scanned/photographed truth pages",
           lambda r: r["digitize"]["truth"]["median_snr_captured_db"], 10, unit=" dB"),
    Target("digitize", "page reader: Mendeley pages readable", lambda r: r["digitize"]["real"]["readable"], 0.98, unit=""),
    Target("digitize", "page reader: Mendeley median Einthoven ratio", lambda r: r["digitize"]["real"]["median_einthoven_ratio"],
           0.2, False, unit=""),
    Target("digitize", "page reader: Mendeley pages with every lead's rate within 5 bpm",
           lambda r: r["digitize"]["real"]["hr_all_leads_within_5_bpm"], 0.95, unit=""),
    Target("diagnosis", "truth pages of every layout and capture accepted as ECGs",
           lambda r: r["diagnosis"]["accepted"], 0.98, unit=""),
    Target("soak", "server memory growth over training cycles", lambda r: r["soak"]["growth_mb_per_cycle"], 5,
           False, " MB/cycle"),
    Target("classroom", "classroom: every student saw a result", lambda r: r["classroom"]["all_shown"], 1, unit=""),
    Target("classroom", "classroom: exceptions and 'Something went wrong'", lambda r: r["classroom"]["exceptions"], 0,
           False, unit=""),
    Target("classroom", "classroom: slowest student, a training running",
           lambda r: r["classroom"]["slowest_with_training_s"], 15, False, " s"),
    Target("digitize", "page reader: one full-size page", lambda r: r["digitize"]["speed"]["read_median_s"], 1, False, " s"),
)


def check_targets(results: dict) -> list[dict]:
    """Each of :data:`TARGETS` whose section was run, with its measured value and whether it was met."""
    ran = set(results.get("sections") or (name for name in SECTIONS if name in results))
    return [target.check(results) for target in TARGETS if target.section in ran]
