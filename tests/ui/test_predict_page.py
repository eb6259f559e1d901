"""The Predict page in AppTest: upload an image and see the class, the probability chart, the
overlay, the lead chart, the guidance and the disclaimer; bad uploads, examples, batches."""
from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

PAGE = "pages/predict.py"


@pytest.fixture
def installed_tiny(tiny_bundle: Path, models_root: Path) -> Path:
    shutil.copytree(tiny_bundle, models_root / "tiny")
    return models_root / "tiny"


def _biased_bundle(tiny_bundle: Path, root: Path, name: str, towards: dict[str, float], **extra) -> Path:
    """The tiny model with its output bias pushed towards some classes: a model that answers the
    same whatever the page, so each path of the page is tested deterministically. Its convolutions
    are the trained ones, so the saliency maps are real."""
    from core.bundles import load_bundle, save_bundle

    bundle = load_bundle(tiny_bundle)
    head = bundle.model.get_layer("predictions")
    kernel, bias = head.get_weights()
    for cls, push in towards.items():
        bias[bundle.metadata.classes.index(cls)] += push
    head.set_weights([kernel, bias])
    metadata = {**bundle.metadata.to_dict(), "calibration": {"temperature": 1.0}, **extra}
    return save_bundle(bundle.model, metadata, root / name)


@pytest.fixture(scope="session")
def biased_bundles(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("biased")
    return {
        "sure-mi": _biased_bundle(tiny_bundle, root, "sure-mi", {"Myocardial Infarction": 25.0}),
        "sure-non-ecg": _biased_bundle(tiny_bundle, root, "sure-non-ecg", {"Non-ECG": 25.0}),
        "torn": _biased_bundle(tiny_bundle, root, "torn", {"Myocardial Infarction": 25.0, "Normal": 25.0}),
        # Sure of MI, but it learned from one-row (12x1) pages only: the 3x4 test pages are outside its domain.
        "sure-mi-12x1": _biased_bundle(tiny_bundle, root, "sure-mi-12x1", {"Myocardial Infarction": 25.0},
                                       layouts=["12x1"]),
    }


def install(biased_bundles: dict[str, Path], models_root: Path, name: str) -> Path:
    return Path(shutil.copytree(biased_bundles[name], models_root / name))


@pytest.fixture
def installed_sure_mi(biased_bundles, models_root: Path) -> Path:
    return install(biased_bundles, models_root, "sure-mi")


@pytest.fixture
def mi_page(tiny_dataset: Path) -> Path:
    findings = pd.read_csv(tiny_dataset / "findings.csv")
    row = findings[(findings["class"] == "Myocardial Infarction") & ~findings["photo"]].iloc[0]
    return tiny_dataset / row["path"]


def charts_titled(at, text: str) -> list:
    charts = at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart")
    return [c for c in charts if text in json.dumps(json.loads(c.proto.spec).get("title", ""))]


def upload(at, name: str, data: bytes, mime: str = "image/jpeg"):
    at.file_uploader(key="predict_upload").upload(name, data, mime)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_without_models_the_page_points_to_train(app_test, models_root: Path) -> None:
    at = app_test(PAGE)
    assert not at.exception
    assert "no model yet" in at.info[0].value.lower() and "Train" in at.info[0].value


def markdown_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_upload_shows_class_chart_overlay_leads_guidance_and_disclaimer(app_test, installed_sure_mi, mi_page):
    at = app_test(PAGE)
    assert at.selectbox(key="predict_model").value == "sure-mi"    # the only (hence default) model
    upload(at, "ward 3 ECG.jpg", mi_page.read_bytes())

    assert next(m.value for m in at.metric if m.label == "Predicted class") == "Myocardial Infarction"
    confidence = next(m.value for m in at.metric if m.label == "Calibrated confidence")
    assert float(confidence.rstrip("%")) > 99
    assert ":green-badge[CONFIDENT]" in markdown_text(at)
    assert "ward 3 ECG.jpg" in markdown_text(at)

    (chart,) = charts_titled(at, "Calibrated probability of every class")
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    data = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    assert list(data["class"]) == json.loads((installed_sure_mi / "metadata.json").read_text())["classes"]
    assert data.set_index("class").loc["Myocardial Infarction", "probability"] > 0.99

    captions = [caption for img in at.get("image") for caption in img.captions]
    assert captions[:2] == ["Original", "Grad-CAM for Myocardial Infarction"]
    assert len(captions) == 3 and captions[2].startswith("The traces the reader followed")
    assert "How to read the colours" in markdown_text(at)
    on_traces = next(c.value for c in at.caption if "of the heat lies on or right next to the traces" in c.value)
    heat, area = (int(v) for v in re.findall(r"(\d+)%", on_traces))
    assert 0 <= heat <= 100 and 0 < area < 50  # traces are a small part of a page

    assert charts_titled(at, "Share of the saliency in each lead")
    assert any(s.value == "Which leads drove the decision" for s in at.subheader)

    assert any(s.value == "Possible heart attack happening now (acute myocardial infarction)" for s in at.subheader)
    assert ":red-badge[Risk: HIGH]" in markdown_text(at)
    assert any("call your local emergency number now" in e.value for e in at.error)
    assert "Recommended tests" in markdown_text(at) and "troponin" in markdown_text(at)
    assert "2023 ESC ACS guidelines" in markdown_text(at)

    assert any(s.value == "The signals on the page" for s in at.subheader)
    assert next(m.value for m in at.metric if m.label == "Layout").startswith("3x4")
    assert int(next(m.value for m in at.metric if m.label == "Leads read")) >= 12

    assert any("Educational use only" in w.value for w in at.warning)
    downloads = {b.proto.label for b in at.get("download_button")}
    assert {"Signals (CSV, mV at 500 Hz)", "Signals (WFDB record, zip)"} <= downloads
    assert len(downloads) == 3, "the report can be downloaded too"


def test_a_weak_model_on_an_ecg_page_still_gets_a_verdict_and_a_disclaimer(app_test, installed_tiny, mi_page):
    at = app_test(PAGE)
    upload(at, "page.jpg", mi_page.read_bytes())
    predicted = next(m.value for m in at.metric if m.label == "Predicted class")
    assert predicted in json.loads((installed_tiny / "metadata.json").read_text())["classes"]
    assert any(badge in markdown_text(at) for badge in (":green-badge[CONFIDENT]", ":orange-badge[UNCERTAIN]",
                                                         ":gray-badge[NOT AN ECG]"))
    assert any("Educational use only" in w.value for w in at.warning)


def test_controls_change_the_overlay_without_errors(app_test, installed_sure_mi, mi_page):
    at = app_test(PAGE)
    upload(at, "page.jpg", mi_page.read_bytes())
    at.slider(key="predict_opacity").set_value(0.9)
    at.selectbox(key="predict_cmap").set_value("viridis")
    at.selectbox(key="predict_method").set_value("gradcam++")
    at.selectbox(key="predict_explain_class").set_value("Normal")
    at.run()
    assert not at.exception
    captions = [caption for img in at.get("image") for caption in img.captions]
    assert "Grad-CAM++ for Normal" in captions


def test_a_file_that_is_not_an_image_shows_an_error_not_a_traceback(app_test, installed_tiny):
    at = app_test(PAGE)
    upload(at, "<b>notes</b>.png", b"definitely not a PNG", "image/png")
    assert at.error, "a clear error message"
    assert "notes" in at.error[0].value and "<b>" not in at.error[0].value
    assert not at.metric


def test_an_ecg_page_is_never_not_an_ecg_even_for_a_model_that_says_so(app_test, biased_bundles, models_root,
                                                                         mi_page):
    install(biased_bundles, models_root, "sure-non-ecg")
    at = app_test(PAGE)
    upload(at, "page.jpg", mi_page.read_bytes())
    assert ":orange-badge[UNCERTAIN]" in markdown_text(at) and ":gray-badge[NOT AN ECG]" not in markdown_text(at)
    assert any("the page reader found an ECG here" in w.value for w in at.warning)
    assert any("Non-ECG answer is overruled" in c.value for c in at.caption)


def test_not_an_ecg_shows_no_clinical_advice(app_test, biased_bundles, models_root):
    from sklearn.datasets import load_sample_image

    holiday = io.BytesIO()
    Image.fromarray(load_sample_image("china.jpg")).save(holiday, format="JPEG")
    install(biased_bundles, models_root, "sure-non-ecg")
    at = app_test(PAGE)
    upload(at, "holiday.jpg", holiday.getvalue())
    text = markdown_text(at)
    assert ":gray-badge[NOT AN ECG]" in text
    assert any("No ECG found on this page" in e.value for e in at.error)
    assert any(s.value == "Not an ECG" for s in at.subheader)
    assert not charts_titled(at, "Share of the saliency in each lead")
    assert "Risk:" not in text and "Recommended tests" not in text and "troponin" not in text
    assert not [e for e in at.error if "What to do now" in e.value]
    assert any("Educational use only" in w.value for w in at.warning)


def test_uncertain_is_never_low_risk_and_asks_for_a_clinician(app_test, biased_bundles, models_root, mi_page):
    install(biased_bundles, models_root, "torn")                    # MI and Normal at 50 % each
    at = app_test(PAGE)
    upload(at, "page.jpg", mi_page.read_bytes())
    text = markdown_text(at)
    assert ":orange-badge[UNCERTAIN]" in text
    assert any("The model is not sure" in w.value for w in at.warning)
    assert any(s.value == "The model is not sure" for s in at.subheader)
    assert ":red-badge[Risk: HIGH]" in text and "Risk: LOW" not in text
    assert any("read by a clinician" in e.value and "emergency number now" in e.value for e in at.error)


def test_an_ecg_the_model_does_not_know_is_uncertain_without_a_risk_level(app_test, biased_bundles, models_root,
                                                                         mi_page):
    install(biased_bundles, models_root, "sure-mi-12x1")
    at = app_test(PAGE)
    upload(at, "page.jpg", mi_page.read_bytes())
    text = markdown_text(at)
    assert ":orange-badge[UNCERTAIN]" in text and "Risk:" not in text
    assert any("An ECG this model does not know" in w.value and "the diagnosis model knows 12x1" in w.value
               for w in at.warning)
    assert any(s.value == "An ECG this model does not know" for s in at.subheader)
    assert any("symptoms now" in i.value for i in at.info)          # the generic emergency line, not MI's
    assert any("Educational use only" in w.value for w in at.warning)


def test_a_signal_model_shows_where_in_each_lead_it_looked(app_test, signal_bundle, models_root):
    from core.paths import ASSETS_DIR

    shutil.copytree(signal_bundle, models_root / "signalnet")
    at = app_test(PAGE)
    upload(at, "real_mi.jpg", (ASSETS_DIR / "examples" / "real_mi.jpg").read_bytes())
    assert not at.exception
    assert any(m.label == "Predicted class" for m in at.metric)
    assert at.selectbox(key="predict_signal_class").value == next(
        m.value for m in at.metric if m.label == "Predicted class")
    assert "predict_method" not in at.session_state             # no image saliency methods for signals
    assert any("1-D Grad-CAM" in c.value for c in at.caption)
    captions = [image.proto.imgs[0].caption for image in at.image]
    assert "Original" in captions and any(c.startswith("The same heat where those windows are printed") for c in captions)
    assert charts_titled(at, "Share of the saliency in each lead")
    assert any("Educational use only" in w.value for w in at.warning)


def test_bundled_example_and_batch_with_a_zip(app_test, installed_sure_mi, mi_page):
    at = app_test(PAGE)
    at.radio(key="predict_source").set_value("example").run()
    assert not at.exception
    assert at.selectbox(key="predict_example").options, "examples are listed"
    assert any(m.label == "Predicted class" for m in at.metric)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/page.jpg", mi_page.read_bytes())
        archive.writestr("a/broken.png", b"nope")
    at.radio(key="predict_source").set_value("batch").run()
    at.file_uploader(key="predict_batch").upload("pages.zip", buffer.getvalue(), "application/zip")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["file"]) == ["pages.zip/a/page.jpg", "pages.zip/a/broken.png"]
    assert table.loc[1, "error"] and not table.loc[0, "error"]
    assert any("1 predicted, 1 could not be read" in c.value for c in at.caption)


def test_the_default_model_shows_every_vote_and_why(app_test, models_root: Path) -> None:
    """The shipped model's network votes with the page's measurements and a signal CNN: the page
    shows the three votes and the combined answer, the measurements behind the verdict, and where in
    which leads the signal CNN found it."""
    from core.paths import ASSETS_DIR, PROJECT_ROOT

    shutil.copytree(PROJECT_ROOT / "models" / "mendeley-leadnet", models_root / "mendeley-leadnet")
    at = app_test(PAGE)
    upload(at, "real_mi.jpg", (ASSETS_DIR / "examples" / "real_mi.jpg").read_bytes())
    predicted = next(m.value for m in at.metric if m.label == "Predicted class")
    assert predicted == "Myocardial Infarction"
    assert any(e.label.startswith("3 readers") for e in at.expander)
    (chart,) = charts_titled(at, "How each reader voted")
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    votes = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    assert list(dict.fromkeys(votes["part"])) == ["network", "measurements", "signal CNN", "combined"]
    combined = votes[votes["part"] == "combined"].set_index("class")["probability"]
    assert combined.idxmax() == predicted
    drivers = at.dataframe[0].value
    assert list(drivers.columns) == ["measurement", "value", "push"] and len(drivers) == 5
    assert drivers["push"].abs().is_monotonic_decreasing
    assert f"Where the signal CNN found *{predicted}*" in markdown_text(at)
    captions = [caption for img in at.get("image") for caption in img.captions]
    assert f"The signal CNN's heat where those windows are printed, for {predicted}" in captions
    assert len(charts_titled(at, "Share of the saliency in each lead")) == 2     # the image network's and the signal CNN's
