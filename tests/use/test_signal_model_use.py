"""A signal bundle through the same door as an image bundle: analyse_image reads the page and asks
the signal model; explain_image gives a 1-D Grad-CAM per lead; the ECG check still decides NOT AN ECG."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.classes import ECG_CLASSES
from core.paths import ASSETS_DIR

REAL_MI = ASSETS_DIR / "examples" / "real_mi.jpg"


@pytest.fixture(scope="module")
def analysed(signal_bundle):
    from core.bundles import load_bundle
    from core.use import analyse_image

    bundle = load_bundle(signal_bundle)
    return bundle, analyse_image(bundle, REAL_MI.read_bytes(), name="real_mi.jpg")


def test_a_signal_model_diagnoses_from_the_leads_the_reader_found(analysed):
    bundle, result = analysed
    assert result.reading.readable and result.reading.layout == "3x4+1"
    assert result.ecg_check.outcome == "ecg"                      # 3x4+1 is in the bundle's layouts
    assert result.probabilities.shape == (len(ECG_CLASSES),)
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert result.diagnosis.predicted == ECG_CLASSES[int(np.argmax(result.probabilities))]
    # Calibrated: the temperature (1.5) flattens the model's own softmax.
    from core.use.signal_explain import input_names, signal_batch, signal_probabilities

    raw = signal_probabilities(bundle.model, signal_batch(result.reading.leads, input_names(bundle.model)))
    assert result.probabilities.max() < raw.max()


def test_its_saliency_is_a_heat_curve_per_lead_whose_shares_name_the_leads(analysed):
    from core.use import explain_image
    from core.use.signal_explain import SignalSaliency, signal_lead_shares

    bundle, result = analysed
    saliency = explain_image(bundle, result, class_name="Normal")
    assert isinstance(saliency, SignalSaliency) and saliency.class_name == "Normal"
    assert len(saliency.heat) == 12 and all(h.shape == (1250,) for h in saliency.heat.values())
    if not saliency.flat:
        assert max(float(h.max()) for h in saliency.heat.values()) == pytest.approx(1.0)
        assert min(float(h.min()) for h in saliency.heat.values()) >= 0.0
    shares = signal_lead_shares(saliency)
    assert set(shares["lead"]) == set(saliency.heat) and shares["share"].sum() == pytest.approx(1.0, abs=1e-6)
    assert list(shares["share"]) == sorted(shares["share"], reverse=True)


def test_the_ecg_check_refuses_a_photo_whatever_the_signal_model_says(signal_bundle):
    from sklearn.datasets import load_sample_image

    from core.bundles import load_bundle
    from core.use import analyse_image

    holiday = io.BytesIO()
    Image.fromarray(load_sample_image("china.jpg")).save(holiday, format="JPEG")
    result = analyse_image(load_bundle(signal_bundle), holiday.getvalue(), name="holiday.jpg")
    assert result.diagnosis.status == "NOT AN ECG" and result.ecg_check.outcome == "not_ecg"


def test_the_saliency_goes_back_where_each_window_is_printed(analysed):
    from core.ecg import LEADS
    from core.learn.signal_data import window_start
    from core.use import SignalSaliency, signal_heat_on_sheet

    _, result = analysed
    reading = result.reading
    first_half = np.r_[np.ones(625), np.zeros(625)]
    saliency = SignalSaliency("Normal", {lead: first_half if lead == "V2" else np.zeros(1250) for lead in LEADS}, False)
    heat = signal_heat_on_sheet(reading, saliency)
    assert heat.shape == reading.work_rgb.shape[:2]
    path, signal = reading.paths["V2"][0], reading.leads["V2"]
    # A 2.5 s column of the 3x4 block, to a pixel of its edges: the model's window covers all but those.
    assert abs(len(signal.mv) - 1250) <= 8
    start = window_start(len(signal.mv))
    x0, x1 = path.x[0], path.x[-1]
    hot_start, hot_end = (x0 + (x1 - x0) * (start + k) / (len(signal.mv) - 1) for k in (0, 624))
    rows, columns = np.nonzero(heat)
    # Only V2's printed stretch, only the first half of its window, only around its trace.
    assert hot_start - 1 <= columns.min() and columns.max() <= hot_end + 1
    assert np.nanmin(path.y) - 16 <= rows.min() and rows.max() <= np.nanmax(path.y) + 16
    assert (heat[int(np.nanmedian(path.y)), int(hot_start) + 1:int(hot_end) - 1] == 1.0).all()


def test_without_a_sheet_there_is_no_page_heat(analysed):
    import dataclasses

    from core.use import explain_image, signal_heat_on_sheet

    bundle, result = analysed
    saliency = explain_image(bundle, result)
    assert signal_heat_on_sheet(dataclasses.replace(result.reading, work_rgb=None), saliency) is None
    heat = signal_heat_on_sheet(result.reading, saliency)
    assert heat.max() <= 1.0 and (heat.max() > 0) == (not saliency.flat)
