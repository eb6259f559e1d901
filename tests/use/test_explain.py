"""Saliency (core.use.explain), lead attribution (core.ecg.leads), the prediction pipeline (core.use.prediction),
and the pointing game: does Grad-CAM look at the leads that carry the finding?"""
from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.ecg import LEADS, area_share, hit_in_leads, lead_at, lead_regions, lead_shares, name_territory, parse_boxes
from core.use import METHODS, PageView, colorize, colormap_lut, heatmap_on_page, overlay, peak_location, view_page

# --- colour maps and overlays (no model) ---------------------------------------------------------

def test_colormaps_have_the_usual_ends():
    jet, viridis, inferno = (colormap_lut(n) for n in ("jet", "viridis", "inferno"))
    assert jet.shape == viridis.shape == inferno.shape == (256, 3) and jet.dtype == np.uint8
    assert tuple(jet[0]) == (0, 0, 128) and tuple(jet[-1]) == (128, 0, 0)    # dark blue → dark red
    assert tuple(jet[128])[1] == 255                                        # green in the middle
    assert tuple(viridis[0]) == (0x44, 0x01, 0x54) and tuple(viridis[-1]) == (0xfd, 0xe7, 0x25)
    assert tuple(inferno[0]) == (0, 0, 4) and tuple(inferno[-1]) == (0xfc, 0xff, 0xa4)
    # inferno and viridis get brighter all the way: "brighter means stronger" holds.
    for lut in (viridis, inferno):
        assert np.all(np.diff(lut.astype(float) @ [0.299, 0.587, 0.114]) > -0.5)
    with pytest.raises(ValueError, match="cmap"):
        colormap_lut("rainbow")


def test_colorize_clips_and_maps_nan_to_the_cold_end():
    out = colorize(np.array([[-1.0, 0.0, np.nan, 1.0, 2.0]]), "jet")
    assert out.shape == (1, 5, 3)
    assert (out[0, 0] == out[0, 1]).all() and (out[0, 2] == out[0, 1]).all() and (out[0, 3] == out[0, 4]).all()


def _view(size=(200, 100), box=(0.25, 0.2, 0.75, 0.8)):
    image = Image.new("RGB", size, (250, 250, 250))
    return PageView(image=image, box=box, box_found=True, network_input=np.zeros((16, 32, 1), np.uint8))


def test_heatmap_goes_back_through_the_crop_box_onto_the_original():
    view = _view()
    heat = np.zeros((16, 32), np.float32)
    heat[:8, :16] = 1.0                                   # top-left quarter of the network input
    page = heatmap_on_page(heat, view)
    assert page.shape == (100, 200)                       # (H, W) of the original, not of the input
    assert page[:20].max() == 0 and page[80:].max() == 0 and page[:, :50].max() == 0 and page[:, 150:].max() == 0
    assert page[25:45, 55:95].min() > 0.99                # top-left quarter of the box
    assert page[60:78, 110:148].max() < 0.01              # bottom-right quarter of the box
    x, y = peak_location(page)
    assert 0.25 <= x < 0.5 and 0.2 <= y < 0.5


def test_heatmap_ignores_padding_for_padded_inputs():
    view = PageView(Image.new("RGB", (100, 100)), (0.0, 0.0, 1.0, 1.0), False,
                    np.zeros((20, 40, 1), np.uint8), content=(0.25, 0.0, 0.75, 1.0))
    heat = np.zeros((20, 40), np.float32)
    heat[:, 10:20] = 1.0                                  # left half of the content, not the padding
    page = heatmap_on_page(heat, view)
    assert page[:, :45].min() > 0.9 and page[:, 55:].max() < 0.1


def test_overlay_blends_only_inside_the_box():
    view = _view()
    page = heatmap_on_page(np.ones((16, 32), np.float32), view)
    original = np.asarray(view.image)
    none = np.asarray(overlay(view.image, page, opacity=0.0, box=view.box, outline=False))
    full = np.asarray(overlay(view.image, page, opacity=1.0, cmap="inferno", box=view.box, outline=False))
    assert (none == original).all()
    assert (full[30:70, 60:140] == colormap_lut("inferno")[255]).all()
    assert (full[:15] == original[:15]).all() and (full[:, :45] == original[:, :45]).all()
    framed = np.asarray(overlay(view.image, page, opacity=0.5, box=view.box))
    assert (framed[20, 50:150] < 100).any()               # the dashed frame of what the model saw
    with pytest.raises(ValueError, match="opacity"):
        overlay(view.image, page, opacity=1.5)
    with pytest.raises(ValueError, match="does not match"):
        overlay(view.image, page[:50], opacity=0.5)


# --- lead regions and territories -------------------------------------------------------------------

def test_standard_layout_tiles_the_grid_with_twelve_leads_and_a_rhythm_strip():
    grid = (0.1, 0.2, 0.9, 0.9)
    regions = lead_regions(grid)
    assert list(regions) == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "II (rhythm)"]
    for x0, y0, x1, y1 in regions.values():
        assert grid[0] <= x0 < x1 <= grid[2] and grid[1] <= y0 < y1 <= grid[3] + 1e-9
    assert regions["I"][1] == pytest.approx(0.2) and regions["II (rhythm)"][3] == pytest.approx(0.9)
    assert regions["V4"][2] == pytest.approx(regions["II (rhythm)"][2])
    assert lead_at((regions["aVF"][0] + 0.01, regions["aVF"][1] + 0.01), regions) == "aVF"
    # Relative, never absolute: the same layout scales with the grid box.
    assert lead_regions((0, 0, 1, 1), "3x4")["III"][3] == pytest.approx(1.0)
    assert "V5 (rhythm)" in lead_regions(layout="3x4+3")
    with pytest.raises(ValueError, match="layout"):
        lead_regions(layout="4x3")


def test_other_carts_layouts_place_six_or_twelve_rows():
    six = lead_regions((0, 0, 1, 1), "6x2+1")
    assert six["aVF"][3] == pytest.approx(6 / 7) and six["V1"][1] == pytest.approx(0.0)
    assert six["V1"][0] == pytest.approx(six["I"][2])                     # the chest leads' column follows
    assert six["II (rhythm)"][1] == pytest.approx(6 / 7) and six["II (rhythm)"][2] == pytest.approx(six["V6"][2])
    rows = lead_regions((0, 0, 1, 1), "12x1")
    assert list(rows) == list(LEADS) and rows["V6"][1] == pytest.approx(11 / 12)
    assert len({box[0] for box in rows.values()}) == 1                      # one column: every lead spans it


def _shares_with(hot: dict[str, float]) -> pd.DataFrame:
    regions = lead_regions()
    heat = np.full((400, 800), 0.01, np.float32)
    for lead, value in hot.items():
        x0, y0, x1, y1 = regions[lead]
        heat[int(y0 * 400) + 2:int(y1 * 400) - 2, int(x0 * 800) + 2:int(x1 * 800) - 2] = value
    return lead_shares(heat, regions)


def test_lead_shares_sum_to_one_and_rank_the_hot_leads_first():
    shares = _shares_with({"II": 1.0, "III": 0.9, "aVF": 0.8})
    assert shares["share"].sum() == pytest.approx(1.0)
    assert list(shares["lead"][:3]) == ["II", "III", "aVF"]
    assert set(shares.columns) == {"lead", "share", "total_share", "mean", "peak", "territory"}
    assert shares["total_share"].sum() == pytest.approx(1.0)
    assert shares.set_index("lead").loc["aVR", "territory"] == ""


@pytest.mark.parametrize("hot, territory", [
    ({"II": 1.0, "III": 0.9, "aVF": 0.8}, "inferior"),
    ({"V3": 1.0, "V4": 0.9, "V2": 0.5}, "anterior"),
    ({"V1": 1.0, "V2": 0.9, "aVR": 0.5}, "anteroseptal"),
    ({"I": 1.0, "aVL": 0.9, "V6": 0.8}, "lateral"),
])
def test_territory_is_named_from_the_top_leads(hot, territory):
    result = name_territory(_shares_with(hot), predicted="Myocardial Infarction")
    assert result.name == territory
    assert territory in result.sentence and "MI" in result.sentence


def test_shares_are_per_unit_area_so_the_long_rhythm_strip_does_not_win_by_size():
    shares = _shares_with({}).set_index("lead")            # the same faint saliency everywhere
    assert shares.loc["II (rhythm)", "share"] == pytest.approx(shares.loc["V1", "share"], rel=0.05)
    assert shares.loc["II (rhythm)", "total_share"] > 3 * shares.loc["V1", "total_share"]


def test_no_territory_when_attention_is_spread_or_mixed():
    flat = name_territory(_shares_with({}))
    assert flat.name == "" and "spread" in flat.sentence
    mixed = name_territory(_shares_with({"I": 1.0, "II": 1.0, "V1": 1.0}))
    assert mixed.name == "" and "different territories" in mixed.sentence


def test_pointing_game_helpers():
    boxes = lead_regions((0.0, 0.0, 1.0, 1.0))
    inferior = {"II", "III", "aVF"}
    assert hit_in_leads((boxes["aVF"][0] + 0.01, boxes["aVF"][1] + 0.01), boxes, inferior)
    assert hit_in_leads((0.5, boxes["II (rhythm)"][1] + 0.01), boxes, inferior)     # rhythm strip of II
    assert not hit_in_leads((boxes["V1"][0] + 0.01, boxes["V1"][1] + 0.01), boxes, inferior)
    traces = sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes.values())
    # 3 of the 12 short leads plus the rhythm strip (4 leads' worth) = 7/16 of the traces.
    assert area_share(boxes, inferior, (0, 0, 1, 1)) == pytest.approx(traces * 7 / 16)


# --- with a real (tiny) model ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundle(tiny_bundle):
    from core.bundles import load_bundle

    return load_bundle(tiny_bundle)


@pytest.fixture(scope="module")
def page_path(tiny_dataset) -> Path:
    """A synthetic MI page whose ECG grid the grid detector finds (scanned look, not a photo)."""
    from core.ecg import find_grid_box

    findings = pd.read_csv(tiny_dataset / "findings.csv")
    rows = findings[(findings["class"] == "Myocardial Infarction") & ~findings["photo"]]
    return next(tiny_dataset / p for p in rows["path"] if find_grid_box(Image.open(tiny_dataset / p)).found)


def test_view_page_gives_exactly_the_training_input(bundle, page_path):
    from core.learn import bundle_preprocessing, prepare_for_bundle

    spec = bundle_preprocessing(bundle.metadata)
    view = view_page(page_path, spec)
    assert view.network_input.shape == spec.input_shape
    np.testing.assert_array_equal(view.network_input, prepare_for_bundle(bundle, page_path)[0])
    assert view.box_found and view.grid_box == view.box
    x0, y0, x1, y1 = view.box
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert view.image.size == Image.open(page_path).size  # the original, not the network input
    with open(page_path, "rb") as handle:                 # file objects and bytes work too
        np.testing.assert_array_equal(view_page(handle, spec).network_input, view.network_input)


def test_explainer_logits_reproduce_the_model_and_leave_it_untouched(bundle, page_path):
    from core.learn import prepare_for_bundle
    from core.use import explainer_for

    model = bundle.model
    explainer = explainer_for(model)
    assert explainer_for(model) is explainer              # built once per model
    assert explainer.has_logits and explainer.layer == bundle.metadata.extra["gradcam_layer"]
    batch = prepare_for_bundle(bundle, page_path)
    logits, _ = explainer.logits_and_features(batch)
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probs, model.predict(batch.astype("float32"), verbose=0), atol=1e-5)
    assert model.layers[-1].activation.__name__ == "softmax"


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_gives_a_normalised_map_of_the_input_size(bundle, page_path, method):
    from core.learn import prepare_for_bundle
    from core.use import explainer_for

    image = prepare_for_bundle(bundle, page_path)[0]
    saliency = explainer_for(bundle.model).saliency(image, 0, method)
    assert saliency.used == method and saliency.note == ""
    assert saliency.heatmap.shape == image.shape[:2]
    assert np.isfinite(saliency.heatmap).all()
    assert saliency.heatmap.min() >= 0 and saliency.heatmap.max() <= 1
    assert saliency.flat or saliency.heatmap.max() == pytest.approx(1.0)


def test_compiled_gradcam_agrees_with_tf_keras_vis(bundle, tiny_dataset):
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore

    from core.learn import prepare_for_bundle
    from core.use.explain import _normalise, _resize_map, explainer_for

    explainer = explainer_for(bundle.model)
    oracle = Gradcam(explainer.net, model_modifier=None, clone=False)
    compared = 0
    for path in sorted(tiny_dataset.glob("*/*.jpg"))[::5]:
        image = prepare_for_bundle(bundle, path)[0]
        ink = 255.0 - image[None].astype("float32")
        for k in range(len(bundle.metadata.classes)):
            # Both at the feature-map resolution, before any upsampling.
            ours = _normalise(explainer.gradcam(ink, k))
            theirs = _normalise(np.asarray(oracle(CategoricalScore([k]), ink, penultimate_layer=explainer.layer,
                                                  seek_penultimate_conv_layer=False, expand_cam=False,
                                                  normalize_cam=False))[0])
            assert ours.shape == theirs.shape == (4, 8)
            np.testing.assert_allclose(ours, theirs, atol=1e-4)
            compared += int(theirs.max() > 0)
        upsampled = explainer.saliency(image, 0, "gradcam").heatmap
        np.testing.assert_allclose(upsampled, _normalise(_resize_map(explainer.gradcam(ink, 0), image.shape[:2])),
                                   atol=1e-4)
    assert compared >= 5


def test_fallback_to_gradcam_when_tf_keras_vis_fails(bundle, page_path, monkeypatch):
    from core.learn import prepare_for_bundle
    from core.use import Explainer

    explainer = Explainer(bundle.model)

    def broken(*args, **kwargs):
        raise AttributeError("'Functional' object has no attribute 'output_names'")

    monkeypatch.setattr(explainer, "_tkv", broken)
    saliency = explainer.saliency(prepare_for_bundle(bundle, page_path)[0], 0, "scorecam")
    assert saliency.used == "gradcam"
    assert "Score-CAM failed in tf-keras-vis" in saliency.note and "showing Grad-CAM instead" in saliency.note
    assert list(saliency.heatmap.shape) == bundle.metadata.input_size and np.isfinite(saliency.heatmap).all()
    with pytest.raises(ValueError, match="method"):
        explainer.saliency(prepare_for_bundle(bundle, page_path)[0], 0, "lime")


def test_analyse_explain_and_attribute_one_page(bundle, tiny_dataset):
    from core.use import analyse_image, explain_image, lead_attribution, page_heat

    findings = pd.read_csv(tiny_dataset / "findings.csv")
    row = findings[findings["class"] == "Myocardial Infarction"].iloc[0]
    result = analyse_image(bundle, tiny_dataset / row["path"], name="page.jpg")
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert result.diagnosis.predicted == result.classes[int(np.argmax(result.probabilities))]
    assert result.diagnosis.energy is not None
    saliency = explain_image(bundle, result, "gradcam", class_name="Normal")
    assert saliency.class_index == result.classes.index("Normal")
    heat = page_heat(result, saliency)
    assert heat.shape == result.view.image.size[::-1]
    shares, territory = lead_attribution(result, saliency)
    assert shares["share"].sum() == pytest.approx(1.0) or saliency.flat
    known, _ = lead_attribution(result, saliency, boxes=parse_boxes(row["lead_boxes"]))
    assert set(known["lead"]) == set(parse_boxes(row["lead_boxes"]))
    assert isinstance(territory.sentence, str) and territory.sentence


def test_predict_many_reports_bad_files_and_keeps_going(bundle, page_path):
    from core.use import images_from_zip, predict_many

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pages/a.jpg", page_path.read_bytes())
        archive.writestr("pages/broken.png", b"not a png at all")
        archive.writestr("__MACOSX/pages/._a.jpg", b"junk")
        archive.writestr("notes.txt", b"ignored")
    items = images_from_zip(buffer.getvalue())
    assert [name for name, _ in items] == ["pages/a.jpg", "pages/broken.png"]
    table = predict_many(bundle, items)
    assert list(table["file"]) == ["pages/a.jpg", "pages/broken.png"]
    assert table.loc[0, "error"] == "" and table.loc[0, "predicted"] in bundle.metadata.classes
    assert table.loc[1, "error"] and table.loc[1, "predicted"] == ""
    assert {f"p({c})" for c in bundle.metadata.classes} <= set(table.columns)
    with pytest.raises(ValueError, match="zip"):
        images_from_zip(b"PK but not really")


def test_bundled_examples_are_listed_and_a_missing_folder_is_fine(tmp_path):
    from core.use import bundled_examples

    examples = bundled_examples()
    assert examples, "assets/examples ships a few example pages"
    synthetic_mi = [e for e in examples if e.true_class == "Myocardial Infarction" and e.lead_boxes]
    assert synthetic_mi, "the synthetic MI example knows where its leads are"
    assert set(synthetic_mi[0].leads) <= set(LEADS) and set(synthetic_mi[0].leads) <= {
        k.replace(" (rhythm)", "") for k in synthetic_mi[0].lead_boxes}
    assert bundled_examples(tmp_path / "missing") == []
    (tmp_path / "x.png").write_bytes(b"")
    assert [e.label for e in bundled_examples(tmp_path)] == ["x"]


# --- the pointing game ------------------------------------------------------------------------------

POINTING_PER_CLASS = 150
POINTING_FLOOR = 0.55          # measured 0.71-1.00 (chance 0.24-0.27); see the test's docstring


@pytest.mark.slow
def test_gradcam_points_at_the_leads_that_carry_the_finding(tmp_path):
    """Pointing game: train a compact CNN on synthetic MI vs Normal pages, then check on held-out
    MI pages whether the Grad-CAM peak lies inside a lead that carries the ST elevation
    (``findings.csv``: ``leads`` and ``lead_boxes``). Chance is the area share of those leads in
    the region the network saw. Measured with this setup (seeds 0, 1, 2): hit rate 0.97, 0.87, 0.71
    against chance 0.24; test accuracy 0.84-0.91; with the later synthetic generator (stronger ST
    changes) 1.00 against chance 0.27. Batch size 8 matters: with 16 the same budget gives a weaker
    model (accuracy 0.70-0.80, hit rate 0.61-0.82).
    """
    from core.ecg import Preprocessing
    from core.learn import TrainConfig, train
    from core.synth import generate_dataset
    from core.use import explainer_for

    started = time.perf_counter()
    classes = ["Myocardial Infarction", "Normal"]
    findings = generate_dataset(tmp_path / "pages", per_class=POINTING_PER_CLASS, seed=11, classes=classes,
                                workers=2)
    findings["path"] = [str(tmp_path / "pages" / p) for p in findings["path"]]
    findings["split"] = "train"
    for cls in classes:
        rows = findings.index[findings["class"] == cls]
        findings.loc[rows[int(len(rows) * 0.6):int(len(rows) * 0.75)], "split"] = "val"
        findings.loc[rows[int(len(rows) * 0.75):], "split"] = "test"
    spec = Preprocessing(192, 320)
    outcome = train(findings, TrainConfig(epochs=15, batch_size=8, preprocessing=spec, augment=0.0, patience=0))
    explainer = explainer_for(outcome.model)
    target = outcome.classes.index("Myocardial Infarction")

    hits, chance = [], []
    for row in findings[(findings["split"] == "test") & (findings["class"] == "Myocardial Infarction")].itertuples():
        view = view_page(row.path, spec)
        heat = heatmap_on_page(explainer.saliency(view.network_input, target, "gradcam").heatmap, view,
                               size=(553, 393))
        boxes, leads = parse_boxes(row.lead_boxes), set(row.leads.split(";"))
        hits.append(hit_in_leads(peak_location(heat), boxes, leads))
        chance.append(area_share(boxes, leads, view.box))
    rate, level = float(np.mean(hits)), float(np.mean(chance))
    print(f"\npointing game: Grad-CAM peak in the finding's leads on {rate:.0%} of {len(hits)} held-out MI pages; "
          f"chance {level:.0%}; test accuracy {outcome.metrics['test_accuracy']:.2f}; "
          f"{time.perf_counter() - started:.0f} s")
    assert len(hits) >= 30
    assert rate >= 2 * level
    assert rate >= POINTING_FLOOR


def test_trace_pixels_are_dark_ink_on_paper_and_light_ink_on_a_screen():
    """The share of heat on the traces needs the traces: on a monitor capture they are the light
    pixels (the Predict page said "traces cover 0 %" there before)."""
    from core.use.prediction import trace_pixels

    paper = np.full((40, 60, 3), 245, np.uint8)
    paper[20, 5:55] = 10
    screen = np.full((40, 60, 3), 15, np.uint8)
    screen[20, 5:55] = (90, 250, 120)
    for image in (paper, screen):
        ink = trace_pixels(image)
        assert ink[20, 5:55].all() and ink.sum() == 50
    assert not trace_pixels(np.full((40, 60, 3), 128, np.uint8)).any()
