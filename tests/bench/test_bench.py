"""``python -m core bench``: the quick run as a smoke test (figures present, positive, finite — no
timing thresholds, the machine is shared), and the target check on made-up figures."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from core.bench.suite import SECTIONS as BENCH_SECTIONS
from core.bench.suite import TARGETS, Target, check_targets, chosen_sections
from core.paths import PROJECT_ROOT

SECTIONS = ("machine", "pages", "pipeline", "training", "live_demo", "predict", "app_start", "first_minutes",
            "frozen_transfer", "digitize", "diagnosis", "soak", "classroom")
POSITIVE = {
    "pages": ("pages", "generation_s"),
    "pipeline": ("baseline_images_per_s", "project_cold_images_per_s", "project_cold_1_thread_images_per_s",
                 "project_warm_images_per_s", "ratio_cold", "ratio_cold_1_thread", "ratio_warm", "cold_ceiling"),
    "training": ("compact_vs_seed_baseline", "compact_vs_seed_project"),
    "live_demo": ("generation_s", "wall_s", "scan_s", "train_s", "epochs_s"),
    "predict": ("cold_s", "warm_median_s", "warm_p95_s", "predict_median_s", "gradcam_median_s"),
    "app_start": ("server_up_s", "first_page_s", "total_s", "bare_first_page_s", "first_page_ratio"),
    "first_minutes": ("server_up_s", "explore_first_image_s", "live_demo_first_epoch_s", "live_demo_click_to_saved_s",
                      "live_demo_test_images"),
    "frozen_transfer": ("cached_epoch_s", "cached_total_s", "uncached_epoch_s", "ratio"),
    "soak": ("cycles", "cycle_s"),
}
PER_MODEL = {"project": ("epoch_s", "images_per_s", "flops_per_image", "gflop_per_s", "total_s"),
             "baseline": ("epoch_s", "images_per_s")}


def _numbers(value, path: str = ""):
    """Every (path, number) in a JSON value; booleans are not numbers here."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{path}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, value


def _positive(section: dict, keys, where: str) -> None:
    for key in keys:
        assert isinstance(section[key], (int, float)) and section[key] > 0, f"{where}.{key} = {section[key]!r}"


@pytest.mark.slow
def test_quick_bench_prints_one_json_object_with_every_figure():
    done = subprocess.run([sys.executable, "-m", "core", "bench", "--quick", "--json"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)           # exactly one JSON object on stdout
    assert "| target | measured | need | result |" in done.stderr

    assert results["plan"] == "quick"
    assert set(SECTIONS) <= set(results)
    for path, number in _numbers(results):
        assert math.isfinite(number), f"{path} = {number}"
    for name, keys in POSITIVE.items():
        _positive(results[name], keys, name)
    training = results["training"]
    assert training["conv_limit"]["gflop_per_s"] > 0
    for arch in ("compact", "seed_cnn"):
        model = training[arch]
        for pipeline, keys in PER_MODEL.items():
            _positive(model[pipeline], keys, f"training.{arch}.{pipeline}")
        _positive(model, ("pipeline_ratio", "fraction_of_conv_limit"), f"training.{arch}")
        assert 0 <= model["project"]["test_accuracy"] <= 1
    assert 0 <= results["live_demo"]["test_accuracy"] <= 1
    assert 0 <= results["first_minutes"]["live_demo_test_accuracy"] <= 1
    assert results["predict"]["method"].startswith("gradcam") and results["predict"]["model"]
    assert isinstance(results["app_start"]["tf_free_pages"], bool)
    assert results["app_start"]["page_errors"] == 0
    for section in SECTIONS[2:]:
        assert len(results[section]["load_avg"]) == 2 and results[section]["section_s"] > 0
    digitize = results["digitize"]
    assert digitize["truth"]["pages"] == 12 and 0 <= digitize["truth"]["layout_right"] <= 1
    assert digitize["speed"]["read_median_s"] > 0 and digitize["speed"]["page_size"] == [2213, 1572]
    diagnosis = results["diagnosis"]
    assert diagnosis["pages"] == 6 and len(diagnosis["by_layout"]) == 6 and 0 <= diagnosis["accepted"] <= 1
    classroom = results["classroom"]
    assert classroom["all_shown"] is True and classroom["exceptions"] == 0, classroom
    assert {p["shown"] for p in classroom["phases"].values()} == {1, 2}
    assert len(results["soak"]["rss_mb"]) == 3 and math.isfinite(results["soak"]["growth_mb_per_cycle"])
    assert [t["name"] for t in results["targets"]] == [t.name for t in TARGETS]
    assert all(isinstance(t["passed"], bool) for t in results["targets"])


@pytest.mark.slow
def test_only_runs_the_named_sections_and_checks_only_their_targets():
    done = subprocess.run([sys.executable, "-m", "core", "bench", "--quick", "--only", "digitize", "--json"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    assert results["sections"] == ["digitize"]
    assert not {"pages", "pipeline", "training", "live_demo", "predict", "app_start"} & set(results)
    assert {t["name"] for t in results["targets"]} == {t.name for t in TARGETS if t.section == "digitize"}
    assert "quick run of digitize on" in done.stderr


def test_chosen_sections_keep_the_run_order_and_refuse_unknown_names():
    assert chosen_sections("digitize, predict") == ("predict", "digitize")
    assert chosen_sections(None) == BENCH_SECTIONS
    with pytest.raises(ValueError, match="Unknown benchmark section trainig: choose from pipeline, training"):
        chosen_sections("trainig,predict")


def test_the_diagnosis_summary_counts_acceptance_domain_and_right_classes_per_layout():
    import pandas as pd

    from core.bench.diagnosis import summarise

    table = pd.DataFrame([
        {"layout": "3x4+1", "effect": "clean", "class": "Normal", "outcome": "ecg", "predicted": "Normal"},
        {"layout": "3x4+1", "effect": "photo", "class": "Normal", "outcome": "ecg", "predicted": "History of MI"},
        {"layout": "6x2", "effect": "clean", "class": "Normal", "outcome": "ecg_outside_domain", "predicted": "Normal"},
        {"layout": "6x2", "effect": "photo", "class": "Normal", "outcome": "not_ecg", "predicted": "Normal"},
    ])
    summary = summarise(table)
    assert (summary["pages"], summary["accepted"], summary["in_domain"], summary["accuracy"]) == (4, 0.75, 0.5, 0.75)
    assert summary["accuracy_in_domain"] == 0.5
    assert summary["by_layout"]["3x4+1"] == {"pages": 2, "accepted": 1.0, "in_domain": 1.0, "accuracy": 0.5,
                                             "accuracy_in_domain": 0.5}
    assert summary["by_layout"]["6x2"]["accuracy_in_domain"] is None
    assert summary["refused"] == [{"layout": "6x2", "effect": "photo"}]


def test_targets_pass_only_on_the_right_side_of_their_bound():
    at_least = Target("x", "ratio", lambda r: r["x"], 5)
    at_most = Target("x", "seconds", lambda r: r["x"], 0.5, at_least=False, unit=" s")
    assert at_least.check({"x": 5.0})["passed"] and not at_least.check({"x": 4.99})["passed"]
    assert at_most.check({"x": 0.5})["passed"] and not at_most.check({"x": 0.51})["passed"]
    assert at_most.check({"x": 1})["need"] == "≤ 0.5 s"


def test_check_targets_reads_every_figure_it_names():
    results = {
        "pipeline": {"ratio_cold": 6.0},
        "training": {"compact_vs_seed_baseline": 4.0, "accuracy_gain": 0.1,
                     "seed_cnn": {"fraction_of_conv_limit": 0.6}},
        "live_demo": {"wall_s": 70.0, "test_accuracy": 0.97},
        "predict": {"warm_median_s": 0.2},
        "app_start": {"first_page_s": 2.0, "tf_free_pages": False},
    }
    passed = {t["name"]: t["passed"] for t in check_targets(results)}
    assert [name for name, ok in passed.items() if not ok] == [
        "training: seed_cnn+baseline epoch ÷ compact+project epoch",
        "live demo: data ready → bundle saved",
        "Home and Explore import no TensorFlow",
    ]
