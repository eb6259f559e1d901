"""The Evaluate page in AppTest: no models yet, a tiny bundle on its own test split, leakage when
evaluating on its training images, and a comparison of two bundles on the same images."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

PAGE = "pages/evaluate.py"


def open_evaluate(app_test, data_dir: Path, *, split: str | None = "test", compare: list[str] | None = None):
    """The Evaluate page with ``data_dir`` chosen as a folder (the built-in set is never generated);
    ``split=None`` leaves the page its default."""
    at = app_test()
    at.session_state["evaluate_dataset_kind"] = "A folder on this computer"
    at.session_state["evaluate_folder"] = str(data_dir)
    if split is not None:
        at.session_state["evaluate_split"] = split
    if compare:
        at.session_state["evaluate_compare"] = compare
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def charts_titled(at, text: str) -> list:
    """Altair charts whose spec title contains ``text`` (their data is in ``proto.datasets``)."""
    charts = at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart")
    return [c for c in charts
            if text in json.dumps(json.loads(c.proto.spec).get("title", ""), ensure_ascii=False)]


def chart_frames(chart) -> list[pd.DataFrame]:
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    return [convert_arrow_bytes_to_pandas_df(ds.data.data) for ds in chart.proto.datasets]


@pytest.fixture
def installed_tiny(tiny_bundle: Path, models_root: Path) -> Path:
    shutil.copytree(tiny_bundle, models_root / "tiny")
    return models_root / "tiny"


def test_without_models_the_page_points_to_train(app_test, models_root: Path) -> None:
    at = app_test(PAGE)
    assert not at.exception
    assert "no saved models yet" in at.info[0].value
    assert not at.get("arrow_vega_lite_chart") and not at.get("vega_lite_chart")


def test_tiny_bundle_on_its_test_split(app_test, installed_tiny: Path, tiny_dataset: Path) -> None:
    at = open_evaluate(app_test, tiny_dataset)
    meta = json.loads((installed_tiny / "metadata.json").read_text())
    test_images = sum(meta["split"]["counts"]["test"].values())
    assert metric(at, "Images") == str(test_images)
    assert metric(at, "Accuracy") == f"{meta['metrics']['test_accuracy']:.3f}"
    assert metric(at, "Seen in training") == "0"
    assert not [w for w in at.warning if "Leakage" in w.value]

    heat = charts_titled(at, "Confusion matrix: images")
    assert len(heat) == 1
    cells = next(f for f in chart_frames(heat[0]) if "count" in f.columns)
    assert cells["count"].sum() == test_images                 # every test image is in one cell
    assert sorted(set(cells["true"])) == sorted(meta["split"]["counts"]["test"])

    report = next(d.value for d in at.dataframe if "support" in d.value.columns)
    classes = [c for c in meta["classes"] if c in meta["split"]["counts"]["test"]]
    assert list(report.index) == [*classes, "accuracy", "macro avg", "weighted avg"]
    assert report.loc["accuracy", "support"] == test_images
    assert [b.label for b in at.get("download_button")][:1] == ["Download the report (CSV)"]
    for title in ("ROC", "Precision–recall", "Reliability diagram", "Loss", "Accuracy"):
        assert charts_titled(at, title), title


def test_the_default_split_follows_the_model_and_dataset(app_test, installed_tiny: Path, tiny_dataset: Path,
                                                         tmp_path: Path) -> None:
    from core.synth import generate_dataset
    from lab_paths import TINY_PAGE

    at = open_evaluate(app_test, tiny_dataset, split=None)
    assert at.radio(key="evaluate_split").value == "test"
    assert any("was trained on this dataset" in c.value for c in at.caption)

    unseen = tmp_path / "unseen"                 # pages the model never saw: every one is a test page
    generate_dataset(unseen, per_class=2, seed=8, page_size=TINY_PAGE, workers=1)
    at.text_input(key="evaluate_folder").set_value(str(unseen)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="evaluate_split").value == "all"
    assert metric(at, "Images") == "10" and metric(at, "Seen in training") == "0"
    assert any("was not trained on this dataset" in c.value for c in at.caption)

    at.radio(key="evaluate_split").set_value("test").run()   # the user's choice stays on rerun
    assert at.radio(key="evaluate_split").value == "test"


def test_training_images_trigger_the_leakage_warning(app_test, installed_tiny: Path,
                                                     tiny_dataset: Path) -> None:
    at = open_evaluate(app_test, tiny_dataset, split="all")
    fingerprint = json.loads((installed_tiny / "metadata.json").read_text())["dataset"]["fingerprint"]
    leaked = int(metric(at, "Seen in training"))
    assert leaked >= len(fingerprint) > 0
    assert any(f"{leaked} of these 30 images" in w.value for w in at.warning)


def test_compare_two_models_on_the_same_images(app_test, installed_tiny: Path, tiny_dataset: Path) -> None:
    from core.data import content_hash

    # A second model whose training set held every page of the dataset (as if trained with
    # another split seed): the comparison must flag it.
    other = installed_tiny.parent / "tiny-saw-all"
    shutil.copytree(installed_tiny, other)
    meta = json.loads((other / "metadata.json").read_text())
    meta["dataset"]["fingerprint"] = sorted(content_hash(p) for p in tiny_dataset.rglob("*.jpg"))
    (other / "metadata.json").write_text(json.dumps(meta))
    test_images = sum(meta["split"]["counts"]["test"].values())

    at = open_evaluate(app_test, tiny_dataset, compare=["tiny", "tiny-saw-all"])
    table = next(d.value for d in at.dataframe if "model" in d.value.columns).set_index("model")
    assert sorted(table.index) == ["tiny", "tiny-saw-all"]
    assert table["accuracy"].nunique() == 1                      # same weights, same images
    assert table.loc["tiny", "leaked_images"] == 0
    assert table.loc["tiny-saw-all", "leaked_images"] == test_images
    assert any(f"saw {test_images} of these {test_images} images" in w.value for w in at.warning)
    assert charts_titled(at, "Same images, different models")


def test_four_ecg_classes_and_an_unknown_class(app_test, installed_tiny: Path, tiny_dataset: Path,
                                               tmp_path: Path) -> None:
    from core.classes import NON_ECG, canonical_class

    data = tmp_path / "four"
    for folder in tiny_dataset.iterdir():
        if folder.is_dir() and canonical_class(folder.name) != NON_ECG:
            shutil.copytree(folder, data / folder.name)
    shutil.copytree(data / "Normal", data / "Sinus tachycardia")
    at = open_evaluate(app_test, data, split="all")
    assert metric(at, "Images") == "24"
    assert any("6 images of class **Sinus tachycardia** were left out" in i.value for i in at.info)
    report = next(d.value for d in at.dataframe if "support" in d.value.columns)
    assert NON_ECG not in report.index and report.loc["accuracy", "support"] == 24


def test_a_signal_model_is_evaluated_like_an_image_model(app_test, signal_bundle: Path, models_root: Path,
                                                         tiny_dataset: Path) -> None:
    shutil.copytree(signal_bundle, models_root / "signalnet")
    at = open_evaluate(app_test, tiny_dataset, split="all")
    assert metric(at, "Images") == "24"          # the 24 ECG pages (it has no Non-ECG class), all read
    assert charts_titled(at, "Confusion")
    assert not [e for e in at.error if "Something went wrong" in e.value]


def test_the_default_model_is_scored_with_its_votes_or_alone(app_test, models_root: Path,
                                                               tiny_dataset: Path) -> None:
    """The shipped model's network votes with what is read from each page: on a small dataset the page
    reads them and scores it as Predict does (saying what the reading costs); switched off, the network
    alone, without reading."""
    from core.paths import PROJECT_ROOT

    shutil.copytree(PROJECT_ROOT / "models" / "mendeley-leadnet", models_root / "mendeley-leadnet")
    at = open_evaluate(app_test, tiny_dataset, split="all")
    toggle = at.toggle(key="evaluate_votes")
    assert toggle.value is True
    assert any("Reading the ECG on every page" in i.value and "pages are not read yet" in i.value for i in at.info)
    assert any("averages in a second opinion" in c.value for c in at.caption)
    assert any("its network votes with: measurements, signal CNN" in c.value for c in at.caption)
    scored = metric(at, "Images")
    toggle.set_value(False).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Scoring the image network alone" in c.value for c in at.caption)
    assert not any("averages in a second opinion" in c.value for c in at.caption)
    assert not any("Reading the ECG on every page" in i.value for i in at.info)
    assert metric(at, "Images") == scored == "30"           # the same pages, scored by the network alone
