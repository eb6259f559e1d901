"""Evaluation: metrics checked against scikit-learn, class matching, calibration, leakage, and the
``python -m core evaluate`` command on a real (tiny) bundle."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (accuracy_score, average_precision_score, classification_report, confusion_matrix, f1_score,
                             precision_recall_fscore_support, roc_auc_score)

from core import charts
from core.evaluate import evaluation as E
from core.classes import CANONICAL_CLASSES, NON_ECG, canonical_class
from core.learn import expected_calibration_error

REPO_ROOT = Path(__file__).resolve().parents[2]
CLASSES = list(CANONICAL_CLASSES)


def make_eval(n: int = 150, *, n_true_classes: int = 5, signal: float = 1.5, temperature: float = 1.0,
              seed: int = 0) -> E.Evaluation:
    """A five-class model's outputs on ``n`` images of the first ``n_true_classes`` classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_true_classes, n)
    logits = rng.normal(size=(n, len(CLASSES)))
    logits[np.arange(n), y] += signal
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return E.Evaluation.from_probabilities(CLASSES, y, probs, temperature=temperature,
                                           paths=[f"/data/img{i}.png" for i in range(n)])


# --- metrics against scikit-learn --------------------------------------------------------------

def test_report_point_estimates_are_sklearns_and_intervals_bracket_them() -> None:
    ev = make_eval()
    report = E.classification_report_frame(ev)
    expected = classification_report(ev.y_true, ev.y_pred, labels=list(range(5)), target_names=CLASSES,
                                     output_dict=True, zero_division=0)
    assert list(report.index) == [*CLASSES, "accuracy", "macro avg", "weighted avg"]
    for row in [*CLASSES, "macro avg", "weighted avg"]:
        for metric in E.REPORT_METRICS:
            assert report.loc[row, metric] == pytest.approx(expected[row][metric])
        assert report.loc[row, "support"] == expected[row]["support"]
    assert report.loc["accuracy", "precision"] == pytest.approx(accuracy_score(ev.y_true, ev.y_pred))
    for row in report.index:
        for metric in E.REPORT_METRICS:
            low, value, high = (report.loc[row, f"{metric}_low"], report.loc[row, metric],
                                report.loc[row, f"{metric}_high"])
            assert 0 <= low <= value + 0.02 and value - 0.02 <= high <= 1, (row, metric)
            assert high - low > 0.02, "150 images cannot pin a score down to two points"


def test_bootstrap_is_seeded_and_narrows_with_more_images() -> None:
    small, large = make_eval(60), make_eval(2000)
    a, b = E.classification_report_frame(small, seed=3), E.classification_report_frame(small, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(E.classification_report_frame(small, seed=4))

    def width(ev):
        r = E.classification_report_frame(ev)
        return r.loc["accuracy", "precision_high"] - r.loc["accuracy", "precision_low"]

    assert width(large) < width(small) / 3


def test_vectorised_resample_metrics_match_sklearn_per_resample() -> None:
    ev = make_eval(80, n_true_classes=4)
    rng = np.random.default_rng(1)
    draws = rng.integers(0, ev.n_images, size=(5, ev.n_images))
    labels = ev.present
    precision, recall, f1, support, acc = E._prf(ev.y_true[draws], ev.y_pred[draws], 5, labels)
    for b in range(5):
        t, p = ev.y_true[draws[b]], ev.y_pred[draws[b]]
        sp, sr, sf, ss = precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
        np.testing.assert_allclose(np.nan_to_num(precision[b]), sp)
        np.testing.assert_allclose(np.nan_to_num(recall[b]), sr)
        np.testing.assert_allclose(np.nan_to_num(f1[b]), sf)
        np.testing.assert_array_equal(support[b], ss)
        assert acc[b] == pytest.approx(accuracy_score(t, p))


def test_four_class_data_against_five_class_model() -> None:
    ev = make_eval(200, n_true_classes=4, signal=0.8)
    assert NON_ECG not in set(ev.predictions["true"])
    wrongly_non_ecg = ev.predictions[ev.predictions["predicted"] == NON_ECG]
    assert len(wrongly_non_ecg) > 0 and not wrongly_non_ecg["correct"].any()
    per_class = E.per_class_summary(ev)
    assert list(per_class) == CLASSES[:4]
    assert E.macro_f1(ev) == pytest.approx(
        f1_score(ev.y_true, ev.y_pred, labels=[0, 1, 2, 3], average="macro", zero_division=0))
    assert E.accuracy(ev) == pytest.approx(accuracy_score(ev.y_true, ev.y_pred))
    # The Non-ECG column shows those predictions; its row is empty.
    cm = E.confusion_frame(ev)
    assert list(cm.columns) == CLASSES and cm[NON_ECG].sum() == len(wrongly_non_ecg)
    assert cm.loc[NON_ECG].sum() == 0
    report = E.classification_report_frame(ev)
    assert NON_ECG not in report.index and report.loc["macro avg", "support"] == 200


def test_confusion_frames_counts_rates_and_cells() -> None:
    ev = make_eval(120, n_true_classes=3, signal=2.0)
    counts = E.confusion_frame(ev)
    codes = [CLASSES.index(c) for c in ev.labels]
    np.testing.assert_array_equal(counts.to_numpy(), confusion_matrix(ev.y_true, ev.y_pred, labels=codes))
    rates = E.confusion_frame(ev, normalize=True)
    np.testing.assert_allclose(rates.loc[CLASSES[:3]].sum(axis=1), 1.0)
    cells = E.confusion_cells(ev)
    assert cells["count"].sum() == 120 and len(cells) == len(ev.labels) ** 2
    one = cells.sort_values("count").iloc[-1]
    shown = E.cell_predictions(ev, one["true"], one["predicted"])
    assert len(shown) == one["count"]
    assert shown["confidence"].is_monotonic_decreasing


def test_match_classes_by_canonical_name() -> None:
    match = E.match_classes(CLASSES, ["mi", "Normal", "ECG Images of Patient that have abnormal heartbeat",
                                      "cats"])
    assert match.mapping == {"mi": 0, "Normal": 3,
                             "ECG Images of Patient that have abnormal heartbeat": 2}
    assert match.unknown == ["cats"]


def test_roc_and_pr_areas_match_sklearn() -> None:
    ev = make_eval(150, n_true_classes=4)
    curves, aucs = E.roc_curves(ev)
    assert list(aucs["class"]) == CLASSES[:4]   # no curve for a class without images
    for _, row in aucs.iterrows():
        i = CLASSES.index(row["class"])
        assert row["auc"] == pytest.approx(roc_auc_score(ev.y_true == i, ev.probs[:, i]))
        one = curves[curves["class"] == row["class"]]
        assert one["fpr"].iloc[0] == 0 and one["tpr"].iloc[-1] == 1
    pr, aps = E.pr_curves(ev)
    for _, row in aps.iterrows():
        i = CLASSES.index(row["class"])
        assert row["auc"] == pytest.approx(average_precision_score(ev.y_true == i, ev.probs[:, i]))
        assert row["baseline"] == pytest.approx(np.mean(ev.y_true == i))
    assert set(pr.columns) >= {"class", "recall", "precision"}


def test_reliability_bins_reproduce_ece_and_temperature_keeps_predictions() -> None:
    ev = make_eval(400, signal=3.0, temperature=2.5)
    frame = E.calibration_frame(ev)
    assert set(frame["calibration"]) == {"before", "after"}
    for label, probs in (("before", ev.raw_probs), ("after", ev.probs)):
        bins = frame[frame["calibration"] == label]
        assert bins["count"].sum() == 400
        ece = (bins["count"] * (bins["confidence"] - bins["accuracy"]).abs()).sum() / 400
        assert ece == pytest.approx(expected_calibration_error(probs, ev.y_true))
        assert bins["ece"].iloc[0] == pytest.approx(ece)
    np.testing.assert_array_equal(ev.raw_probs.argmax(1), ev.probs.argmax(1))
    assert ev.probs.max(1).mean() < ev.raw_probs.max(1).mean()   # T > 1 softens
    assert ev.ece != pytest.approx(ev.ece_uncalibrated)


def test_confident_errors_are_errors_most_confident_first() -> None:
    ev = make_eval(100, signal=0.5)
    errors = E.confident_errors(ev)
    assert len(errors) == int((~ev.predictions["correct"]).sum()) > 0
    assert not errors["correct"].any()
    assert errors["confidence"].is_monotonic_decreasing
    assert len(E.confident_errors(ev, limit=3)) == 3


def test_comparison_table_and_history_frame() -> None:
    good, bad = make_eval(100, signal=4.0), make_eval(100, signal=0.2)
    table = E.comparison_table({"good": good, "bad": bad})
    assert list(table["model"]) == ["good", "bad"]
    assert table.loc[0, "accuracy"] > table.loc[1, "accuracy"]
    assert {"macro_f1", "ece", "params", "ms_per_image", "leaked_images",
            *(f"recall {c}" for c in CLASSES)} <= set(table.columns)
    history = E.history_frame({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.4, 0.8]})
    assert list(history["epoch"]) == [1, 2] and history["val_loss"].tolist() == [1.1, 0.7]
    assert E.history_frame({}).empty


def _flip(hex_hash: str, bits: int, rng) -> str:
    value = int(hex_hash, 16)
    for b in rng.choice(len(hex_hash) * 4, bits, replace=False):
        value ^= 1 << int(b)
    return f"{value:0{len(hex_hash)}x}"


def test_leakage_exact_and_near_duplicates() -> None:
    from core.data import NEAR_DUPLICATE_THRESHOLD

    rng = np.random.default_rng(0)
    h = [bytes(rng.integers(0, 256, 64, dtype=np.uint8)).hex() for _ in range(4)]   # 512-bit hashes
    index = pd.DataFrame({
        "path": ["a.png", "b.png", "c.png", "d.png"],
        "sha1": ["s1", "s2", "s3", "s4"],
        # c is a re-saved copy of training image t2; d has no hash (unreadable for hashing)
        "phash": [h[0], h[1], _flip(h[2], 20, rng), None],
    })
    train = pd.DataFrame({"path": ["t1.png", "t2.png"], "sha1": ["s1", "t2"], "phash": [h[0], h[2]]})
    reference = pd.concat([index, train], ignore_index=True)
    found = E.leakage_check(index, ["s1", "t2"], reference=reference)
    assert found.to_dict("records") == [
        {"path": "a.png", "match": "exact", "training_image": "a.png"},
        {"path": "c.png", "match": "near", "training_image": "t2.png"},
    ]
    assert E.leakage_check(index, ["s1"]).shape[0] == 1          # no reference: exact only
    assert E.leakage_check(index, []).empty
    strict = E.leakage_check(index, ["s1", "t2"], reference=reference, max_distance=10)
    assert strict["match"].tolist() == ["exact"]
    # Unrelated random pages are far apart: b is not flagged at the default threshold.
    assert E._nearest_hash([h[1]], [h[0], h[2]])[1][0] > NEAR_DUPLICATE_THRESHOLD


def test_evaluation_index_and_summary_json() -> None:
    index = pd.DataFrame({"path": list("abcd"), "class": ["Normal"] * 4,
                          "split": ["train", "val", "test", "test"]})
    assert E.evaluation_index(index, "test")["path"].tolist() == ["c", "d"]
    assert len(E.evaluation_index(index, "all")) == 4
    with pytest.raises(ValueError, match="test split of this dataset is empty"):
        E.evaluation_index(index[index["split"] != "test"], "test")
    with pytest.raises(ValueError, match="split must be one of"):
        E.evaluation_index(index, "val")
    result = json.loads(json.dumps(E.summary(make_eval(30)), allow_nan=False))
    assert result["n_images"] == 30 and len(result["predictions"]) == 30
    assert result["ms_per_image"] is None


def test_default_split_is_test_only_on_the_models_own_dataset() -> None:
    index = pd.DataFrame({"sha1": list("abcdefghij"), "split": ["train"] * 7 + ["test"] * 3})
    own = list("abcdefg")                                   # the 70 % that trained the model
    assert E.trained_on(index, own) and E.default_split(index, own) == "test"
    assert not E.trained_on(index, list("xyz")) and E.default_split(index, list("xyz")) == "all"
    assert E.default_split(index, []) == "all"              # an imported model: no fingerprint
    assert E.default_split(index, list("ab")) == "all"      # a few shared pages are leakage, not its dataset
    assert E.default_split(index.drop(columns="split"), own) == "all"


def test_evaluation_charts_build_and_write_values_in_cells() -> None:
    ev = make_eval(90, n_true_classes=4)
    heat = charts.confusion_heatmap_chart(E.confusion_cells(ev)).to_dict()
    marks = [layer["mark"]["type"] for layer in heat["layer"]]
    assert marks == ["rect", "text"]
    assert heat["layer"][1]["encoding"]["text"]["field"] == "count"
    assert heat["params"][0]["name"] == charts.CELL_SELECTION   # Altair lifts it to the top
    rate = charts.confusion_heatmap_chart(E.confusion_cells(ev), value="rate").to_dict()
    assert rate["layer"][1]["encoding"]["text"]["format"] == ".0%"
    with pytest.raises(ValueError):
        charts.confusion_heatmap_chart(E.confusion_cells(ev), value="f1")
    roc = charts.roc_chart(*E.roc_curves(ev)).to_dict()
    assert "(AUC " in json.dumps(roc)
    for chart in (charts.pr_chart(*E.pr_curves(ev)), charts.reliability_chart(E.calibration_frame(ev)),
                  charts.comparison_chart(E.comparison_table({"a": ev, "b": make_eval(90, seed=1)}))):
        chart.to_dict()


# --- the command line on a real bundle ---------------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "evaluate", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))


def cli_json(capsys, *args: str) -> dict:
    """The command in this process (TensorFlow is already loaded): faster than a subprocess."""
    from core.cli import main

    assert main(["evaluate", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_numbers_match_sklearn_on_its_own_predictions(tiny_bundle: Path, tiny_dataset: Path) -> None:
    done = run_cli("--model", str(tiny_bundle), "--data", str(tiny_dataset), "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one JSON object"
    result = json.loads(lines[0])
    predictions = pd.DataFrame(result["predictions"])
    assert len(predictions) == result["n_images"] > 0
    assert set(predictions.columns) == {"path", "true", "predicted", "confidence"}

    true, predicted = predictions["true"], predictions["predicted"]
    labels = result["labels"]
    assert result["accuracy"] == pytest.approx(accuracy_score(true, predicted))
    assert result["macro_f1"] == pytest.approx(
        f1_score(true, predicted, labels=sorted(set(true)), average="macro", zero_division=0))
    assert result["confusion_matrix"] == confusion_matrix(true, predicted, labels=labels).tolist()
    p, r, f, s = precision_recall_fscore_support(true, predicted, labels=sorted(set(true)), zero_division=0)
    for j, cls in enumerate(sorted(set(true))):
        assert result["per_class"][cls] == pytest.approx(
            {"precision": p[j], "recall": r[j], "f1": f[j], "support": s[j]})
    assert 0 <= result["ece"] <= 1 and result["leakage"] == 0   # the duplicate-safe test split
    assert result["unknown_classes"] == {}
    # The generator's findings table at the root is reported, not evaluated; no page is skipped.
    assert all(Path(row["path"]).parent == tiny_dataset for row in result["skipped"])
    metadata = json.loads((tiny_bundle / "metadata.json").read_text())
    assert result["seed"] == metadata["split"]["seed"]
    assert result["split"] == "test"             # the default on the model's own dataset
    # The test split the CLI rebuilt is the one training held out: same score as at training time.
    assert result["accuracy"] == pytest.approx(metadata["metrics"]["test_accuracy"])


def test_cli_whole_training_folder_reports_leakage(tiny_bundle: Path, tiny_dataset: Path, capsys) -> None:
    result = cli_json(capsys, "--model", str(tiny_bundle), "--data", str(tiny_dataset), "--split", "all")
    fingerprint = json.loads((tiny_bundle / "metadata.json").read_text())["dataset"]["fingerprint"]
    assert result["n_images"] == 30
    assert result["leakage"] >= len(fingerprint) > 0
    assert {row["match"] for row in result["leaked"]} <= {"exact", "near"}


def test_cli_on_a_synthetic_set_made_with_another_seed(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    from lab_paths import TINY_PAGE

    from core.synth import generate_dataset

    generate_dataset(tmp_path / "other", per_class=3, seed=123, page_size=TINY_PAGE, workers=1)
    result = cli_json(capsys, "--model", str(tiny_bundle), "--data", str(tmp_path / "other"))
    assert result["split"] == "all"              # the default: a dataset the model never saw
    assert result["n_images"] == 15 and result["leakage"] == 0
    assert sum(map(sum, result["confusion_matrix"])) == 15


def test_cli_evaluates_a_zip_of_class_folders(tiny_bundle: Path, tiny_dataset: Path, tmp_path: Path,
                                              capsys) -> None:
    archive = shutil.make_archive(str(tmp_path / "pages"), "zip", tiny_dataset)
    result = cli_json(capsys, "--model", str(tiny_bundle), "--data", archive, "--split", "all")
    from_folder = cli_json(capsys, "--model", str(tiny_bundle), "--data", str(tiny_dataset), "--split", "all")
    assert result["n_images"] == from_folder["n_images"] == 30
    assert result["confusion_matrix"] == from_folder["confusion_matrix"]
    assert result["leakage"] == from_folder["leakage"] > 0


def _copy_without(src: Path, dst: Path, drop_class: str | None = None) -> Path:
    for folder in src.iterdir():
        if folder.is_dir() and canonical_class(folder.name) != drop_class:
            shutil.copytree(folder, dst / folder.name)
    return dst


def test_cli_four_classes_against_a_five_class_model_and_an_unknown_class(
        tiny_bundle: Path, tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    data = _copy_without(tiny_dataset, tmp_path / "four", drop_class=NON_ECG)
    normal = next(f for f in data.iterdir() if canonical_class(f.name) == "Normal")
    shutil.copytree(normal, data / "Sinus tachycardia")     # a class the model does not know
    result = cli_json(capsys, "--model", str(tiny_bundle), "--data", str(data), "--split", "all")
    assert result["unknown_classes"] == {"Sinus tachycardia": 6}
    assert result["n_images"] == 24
    assert NON_ECG not in result["per_class"] and len(result["per_class"]) == 4
    predictions = pd.DataFrame(result["predictions"])
    assert NON_ECG not in set(predictions["true"])
    wrong_non_ecg = predictions["predicted"] == NON_ECG
    assert result["accuracy"] == pytest.approx((predictions["true"] == predictions["predicted"]).mean())
    if wrong_non_ecg.any():
        assert NON_ECG in result["labels"]


def test_cli_errors_are_one_line_and_exit_2(tiny_dataset: Path, tmp_path: Path) -> None:
    done = run_cli("--model", str(tmp_path / "no-such-model"), "--data", str(tiny_dataset), "--json")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: no model named 'no-such-model'")


def test_cli_bad_folder_is_a_clear_error(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    from core.cli import main

    assert main(["evaluate", "--model", str(tiny_bundle), "--data", str(tmp_path / "nothing")]) == 2
    assert "error: The folder" in capsys.readouterr().err


def test_a_signal_model_is_evaluated_on_the_pages_as_the_reader_digitised_them(signal_bundle, tmp_path) -> None:
    """Two real examples and a file that is not an image: the pages are read, the broken one skipped."""
    from core.bundles import load_bundle
    from core.evaluate import evaluate_bundle
    from core.paths import ASSETS_DIR

    for name in ("real_mi.jpg", "real_normal.jpg"):
        shutil.copy(ASSETS_DIR / "examples" / name, tmp_path / name)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    index = pd.DataFrame({"path": [str(tmp_path / n) for n in ("real_mi.jpg", "real_normal.jpg", "broken.jpg")],
                          "class": ["Myocardial Infarction", "Normal", "Normal"]})
    evaluation = evaluate_bundle(load_bundle(signal_bundle), index)
    assert evaluation.raw_probs.shape == (2, 4) and np.allclose(evaluation.raw_probs.sum(axis=1), 1, atol=1e-5)
    assert list(evaluation.skipped["path"]) == [str(tmp_path / "broken.jpg")]
    assert evaluation.ms_per_image > 0


def test_a_model_that_reads_the_ecg_counts_the_pages_still_to_read(tmp_path) -> None:
    """The Evaluate page warns before a first, slow evaluation: only a model fused with measurements
    (or a signal model) reads pages, and a page read once is not counted again."""
    from types import SimpleNamespace

    from core.evaluate.evaluation import pages_to_read
    from core.learn.signal_cache import page_measurements
    from core.synth.dataset import render_example

    paths = []
    for i in range(2):
        paths.append(tmp_path / f"page{i}.png")
        render_example("Normal", seed=i)[0].save(paths[-1])
    index = pd.DataFrame({"path": [str(p) for p in paths] * 2, "sha1": ["a" * 40, "b" * 40] * 2})
    fused = SimpleNamespace(classes=["x"], extra={"signal_features": {}})
    assert pages_to_read(SimpleNamespace(classes=["x"], extra={}), index) == 0
    assert pages_to_read(fused, index) == 2
    layout, features = page_measurements(paths[0], "a" * 40)          # read and measured once
    assert layout.startswith("3x4") and features["rate_bpm"] > 30
    assert page_measurements(paths[0], "a" * 40)[1] == features       # from the cache
    assert pages_to_read(fused, index) == 1


def test_cli_scores_the_shipped_model_with_its_votes_or_the_network_alone(tmp_path, capsys) -> None:
    """The default model's network votes with what is read from each page; ``--network-only`` scores
    it alone. On the real held-out examples both run and say which they did."""
    from core.paths import ASSETS_DIR, PROJECT_ROOT

    for name, cls in (("real_mi.jpg", "Myocardial Infarction"), ("real_normal.jpg", "Normal"),
                      ("real_history_of_mi.jpg", "History of MI")):
        (tmp_path / cls).mkdir()
        shutil.copy(ASSETS_DIR / "examples" / name, tmp_path / cls / name)
    model = str(PROJECT_ROOT / "models" / "mendeley-leadnet")
    voted = cli_json(capsys, "--model", model, "--data", str(tmp_path), "--split", "all")
    alone = cli_json(capsys, "--model", model, "--data", str(tmp_path), "--split", "all", "--network-only")
    assert voted["votes"] is True and alone["votes"] is False
    assert voted["n_images"] == alone["n_images"] == 3
    confidences = [pd.DataFrame(r["predictions"]).set_index("path")["confidence"] for r in (voted, alone)]
    assert not np.allclose(confidences[0], confidences[1].loc[confidences[0].index])   # the votes moved them
