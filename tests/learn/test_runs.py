"""Run history (core.learn.runs), the random-file split of the leakage lesson, the overlay chart, and
the Train page's split option and run-history view."""
from __future__ import annotations

import pandas as pd
import pytest

from core.data import leaked_groups, split_dataset
from core.learn import runs


def _index_with_copies() -> pd.DataFrame:
    """20 pages in two classes, each page present as three exact copies (one dup_group)."""
    rows = [{"path": f"/d/{c}/p{i}_{k}.png", "class": c, "dup_group": f"{c}{i}", "sha1": f"{c}{i}"}
            for c in ("A", "B") for i in range(10) for k in range(3)]
    return pd.DataFrame(rows)


def test_random_split_leaks_copies_and_duplicate_safe_does_not():
    index = _index_with_copies()
    safe = split_dataset(index, seed=0)
    wrong = split_dataset(index, seed=0, method="random")
    assert leaked_groups(safe).empty
    leaked = leaked_groups(wrong)
    assert len(leaked) >= 3
    assert (leaked["train_files"] > 0).all() and (leaked["test_files"] > 0).all()
    assert set(wrong["split"]) == {"train", "val", "test"}
    assert wrong.groupby("class")["split"].apply(lambda s: (s == "test").sum()).tolist() == [4, 4]  # 15 % of 30 (rounded)


def test_unknown_split_method_is_refused():
    with pytest.raises(ValueError, match="method"):
        split_dataset(_index_with_copies(), method="shuffle")


def _record(name, method, accuracy, history):
    return runs.make_record(config={"arch": "compact"}, history=history, metrics={"test_accuracy": accuracy},
                            seconds=3.2, status="finished", bundle_name=name,
                            dataset_info={"name": "d", "path": "/d"}, split={"method": method, "seed": 0})


def test_runs_are_appended_listed_overlaid_and_compared(tmp_path):
    path = tmp_path / "runs.jsonl"
    history = [{"epoch": 1, "loss": 1.0, "val_loss": 1.1, "accuracy": 0.5, "val_accuracy": 0.4},
               {"epoch": 2, "loss": 0.5, "val_loss": 0.8, "accuracy": 0.8, "val_accuracy": 0.6}]
    runs.record_run(_record("safe", "duplicate-safe", 0.7, history), path)
    runs.record_run(_record("wrong", "random", 0.95, history[:1]), path)
    with open(path, "a") as out:
        out.write("{half a line\n")  # a crash mid-write must not hide the other runs
    loaded = runs.load_runs(path)
    assert [r["bundle_name"] for r in loaded] == ["safe", "wrong"]
    table = runs.runs_table(loaded)
    assert list(table["split"]) == ["duplicate-safe", "random"] and list(table["epochs"]) == [2, 1]
    curves = runs.curves_frame(loaded)
    assert len(curves) == 4 * 2 + 4 * 1
    assert set(curves["series"]) == {"train", "validation"}
    compared = runs.compare_metrics(loaded)
    assert list(compared["test_accuracy"]) == [0.7, 0.95]
    right, wrong = runs.leakage_pair(loaded)
    assert right["bundle_name"] == "safe" and wrong["bundle_name"] == "wrong"

    from core.charts import runs_overlay_chart
    spec = runs_overlay_chart(curves, "loss").to_dict()
    assert spec["encoding"]["color"]["field"] == "run"
    assert spec["encoding"]["strokeDash"]["field"] == "series"


def test_training_job_records_the_run_with_its_split(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ECG_LAB_MODELS", str(tmp_path / "models"))
    from core.data import folder_source, prepare_dataset
    from core.ecg import Preprocessing
    from core.learn import TrainConfig, TrainingJob

    data = prepare_dataset(folder_source(tiny_dataset), seed=0)
    index = split_dataset(data.index.drop(columns=["split", "leaks"]), method="random")
    config = TrainConfig(epochs=1, batch_size=8, preprocessing=Preprocessing(64, 128), patience=0)
    job = TrainingJob(index, config, bundle_name="rec", dataset_info={"name": "tiny", "split_method": "random"})
    job.start().join(300)
    [run] = runs.load_runs()
    assert run["status"] == "finished" and run["bundle_name"] == "rec"
    assert run["split"]["method"] == "random" and len(run["history"]) == 1
    assert 0 <= run["metrics"]["test_accuracy"] <= 1 and run["seconds"] > 0
    from core.bundles import read_metadata
    assert read_metadata(job.state.bundle_path).split["method"] == "random"


def test_train_page_offers_the_wrong_split_and_shows_the_leakage_lesson(app_test, tiny_dataset, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    leaked = pd.DataFrame([{"dup_group": "g7", "class": "A", "train_files": 2, "test_files": 1,
                            "train_example": "/d/a.png", "test_example": "/d/b.png"}])
    history = [{"epoch": 1, "loss": 1.0, "val_loss": 1.1, "accuracy": 0.5, "val_accuracy": 0.4}]
    runs.record_run(_record("right-run", "duplicate-safe", 0.71, history))
    wrong = _record("wrong-run", "random", 0.97, history)
    wrong.update(leaked_group_count=1, leaked_groups=leaked.to_dict("records"))
    runs.record_run(wrong)

    at = app_test("pages/train.py")
    at.radio(key="train_dataset_kind").set_value("A folder on this computer").run()
    at.text_input(key="train_folder").set_value(str(tiny_dataset)).run()
    assert not any("Wrong on purpose" in w.value for w in at.warning)
    at.radio(key="train_split_method").set_value("random").run()
    assert not at.exception
    assert any("Wrong on purpose" in w.value for w in at.warning)

    values = {m.label: m.value for m in at.metric}
    assert "Duplicate groups in train and test" in values
    assert ["0.710", "0.970"] == [m.value for m in at.metric if m.label == "Test accuracy"]
    assert any("+0.260" in i.value for i in at.info)
    assert len(at.get("vega_lite_chart")) == 2  # the two latest runs overlaid: loss and accuracy
    assert any("g7" in str(df.value.get("dup_group", pd.Series()).tolist()) for df in at.dataframe)


def test_a_run_is_running_while_its_process_holds_it_and_interrupted_once_that_process_is_gone(tmp_path):
    path = tmp_path / "runs.jsonl"
    held = runs.RunningRun(_record("live", "duplicate-safe", None, []), path)
    # A run started by a server that was killed: its record says running, and nobody holds its lock.
    orphan = {**_record("killed", "duplicate-safe", None, []), "status": "running"}
    runs.record_run(orphan, path)
    assert [(r["bundle_name"], r["status"]) for r in runs.load_runs(path)] == [("live", "running"),
                                                                             ("killed", "interrupted")]
    held.finish(_record("live", "duplicate-safe", 0.8, []))
    loaded = runs.load_runs(path)
    assert [(r["bundle_name"], r["status"]) for r in loaded] == [("live", "finished"), ("killed", "interrupted")]
    assert list(runs.runs_table(loaded)["status"]) == ["finished", "interrupted"]
    assert not list((tmp_path / "active").iterdir()), "a finished run leaves no lock file behind"
