"""Inside the CNN (core.teach.inside and the Learn page) and the quiz (core.teach.quiz and its tab)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd


def test_inside_functions_on_the_tiny_bundle(tiny_bundle: Path, tiny_dataset: Path) -> None:
    from core.bundles import load_bundle
    from core.ecg import Preprocessing
    from core.learn import prepare_for_bundle
    from core.teach import conv_block_outputs, feature_maps, first_layer_filters, shape_table, what_the_model_sees

    bundle = load_bundle(tiny_bundle)
    page = next(p for p in sorted(tiny_dataset.rglob("*")) if p.suffix in (".png", ".jpg"))
    view = what_the_model_sees(page, Preprocessing(64, 128, "ink", "grid"), augment=1.0, seed=3)
    assert view.prepared.shape == (64, 128, 1) and view.augmented.shape == (64, 128, 1)
    assert view.cropped.shape[0] < view.original.shape[0]  # the header and footer are cut off
    assert not np.array_equal(view.augmented, view.prepared)

    assert conv_block_outputs(bundle.model) == ["block1_relu", "block2_relu", "block3_relu", "block4_relu", "last_conv"]
    blocks = feature_maps(bundle.model, prepare_for_bundle(bundle, page)[0], top=4)
    assert [b.shape[:2] for b in blocks] == [(32, 64), (32, 64), (16, 32), (8, 16), (4, 8)]  # block 1: stride 2
    for block in blocks:
        assert block.maps.shape == (4, *block.shape[:2]) and 0 <= block.maps.min() and block.maps.max() <= 1
        assert block.mean_activation == sorted(block.mean_activation, reverse=True)
    filters = first_layer_filters(bundle.model)
    assert filters.shape == (8, 5, 5) and 0 <= filters.min() and filters.max() <= 1

    rows = {r["layer"]: r for r in shape_table(bundle.model)}
    # a 5×5 stride-2 conv (r = 5, jump 2), then 3×3 convs and 2×2 pools: 9, 11 | 19, 23 | 39, 47 | 79
    assert [rows[f"block{i}_conv"]["receptive field height (px)"] for i in range(1, 5)] == [5, 9, 19, 39]
    assert rows["block5_conv"]["receptive field height (px)"] == 79 and rows["block4_pool"]["jump (px)"] == "16 × 16"
    # the lead-grid pool of a 4×8 map into 4×4 cells merges pairs of columns: wider, not taller
    assert rows["lead_grid_pool"]["receptive field width (px)"] == 79 + 16
    assert rows["lead_grid_pool"]["receptive field height (px)"] == 79
    assert rows["predictions"]["receptive field height (px)"] is None


def test_quiz_questions_come_from_the_test_split_and_the_score_adds_up() -> None:
    from core.teach import Score, pick_question

    index = pd.DataFrame({"path": [f"p{i}" for i in range(10)], "class": ["A", "B"] * 5,
                          "split": ["train"] * 6 + ["test"] * 4})
    questions = [pick_question(index, seed=1, round_number=r) for r in range(20)]
    assert {q.path for q in questions} <= {"p6", "p7", "p8", "p9"}
    assert pick_question(index, seed=1, round_number=5) == questions[5]
    assert pick_question(index, seed=1, round_number=0, exclude={"p6", "p7", "p8"}).path == "p9"
    score = Score().add("A", "B", "A").add("B", "A", "A")
    assert (score.played, score.student_right, score.model_right) == (2, 1, 1)


def _learn_page(app_test, tiny_bundle, models_root, tiny_dataset, view: str | None = None):
    """The Learn page on the tiny bundle and dataset, opened on ``view`` ("Quiz") or its default."""
    from core.data import folder_source
    from pages.common import LEARN_TAB_KEY

    shutil.copytree(tiny_bundle, models_root / "tiny")
    at = app_test()
    at.session_state["dataset_source"] = folder_source(tiny_dataset)
    if view is not None:
        at.session_state[LEARN_TAB_KEY] = view
    at.switch_page("pages/learn.py").run()
    assert not at.exception, at.exception
    return at


FEATURE_MAPS = "2 · Feature maps of each conv block"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_learn_page_shows_steps_maps_filters_and_shapes(app_test, tiny_bundle, models_root, tiny_dataset) -> None:
    at = _learn_page(app_test, tiny_bundle, models_root, tiny_dataset)
    at.radio(key="learn_source").set_value("Dataset page").run()
    assert not at.exception, at.exception
    headers = [h.value for h in at.subheader]
    assert headers == ["1 · What the model sees", "2 · Feature maps of each conv block",
                       "3 · Learned first-layer filters", "4 · How the input shrinks through the layers"]
    shapes = next(df.value for df in at.dataframe if "receptive field width (px)" in df.value.columns)
    assert shapes["receptive field width (px)"].max() == 95
    captions = " ".join(str(m.value) for m in at.markdown)
    assert "32×64 cells × 8 channels" in captions and "4×8 cells × 64 channels" in captions
    # 4 steps + 5 blocks × 8 channels + 8 filters, plus the quiz page
    captions = [caption for img in at.get("image") for caption in img.captions]
    assert {"Original", "After crop (grid)", "One augmented training copy"} <= set(captions)
    assert sum(c.startswith("channel ") for c in captions) == 5 * 8
    assert sum(c.startswith("filter ") for c in captions) == 8
    # the Quiz view is closed, so it did not run
    assert "quiz_check" not in [b.key for b in at.button] and "Your score" not in _metrics(at)
    at.selectbox(key="learn_color").set_value("rgb").run()
    assert not at.exception


def test_quiz_plays_three_rounds_with_a_running_score(app_test, tiny_bundle, models_root, tiny_dataset) -> None:
    at = _learn_page(app_test, tiny_bundle, models_root, tiny_dataset, view="Quiz")
    seen, you_right, model_right = [], 0, 0
    for round_number in range(3):
        assert FEATURE_MAPS not in [h.value for h in at.subheader]  # the Inside view is closed: not computed
        assert at.button(key="quiz_check").disabled  # no answer yet
        assert _metrics(at)["Your score"] == f"{you_right} / {round_number}"
        assert _metrics(at)["Model's score"] == f"{model_right} / {round_number}"
        guess = at.radio(key=f"quiz_guess_{round_number}").options[0]
        at.radio(key=f"quiz_guess_{round_number}").set_value(guess).run()
        at.button(key="quiz_check").click().run()
        assert not at.exception, at.exception
        labels = _metrics(at)
        assert {"You said", "The model said", "True label"} <= set(labels)
        assert labels["You said"] == guess
        you_right += guess == labels["True label"]
        model_right += labels["The model said"] == labels["True label"]
        assert labels["Your score"] == f"{you_right} / {round_number + 1}"
        assert labels["Model's score"] == f"{model_right} / {round_number + 1}"
        assert at.radio(key=f"quiz_guess_{round_number}").disabled  # the checked answer stands
        seen.append(at.session_state["quiz_seen"][-1])
        at.button(key="quiz_next").click().run()
    assert len(set(seen)) == 3  # three different pages
    score = at.session_state["quiz_score"]
    assert (score.played, score.student_right, score.model_right) == (3, you_right, model_right)


def test_views_keep_their_choices_while_the_other_view_is_open(app_test, tiny_bundle, models_root,
                                                                tiny_dataset) -> None:
    from pages.common import LEARN_TAB_KEY

    at = _learn_page(app_test, tiny_bundle, models_root, tiny_dataset)
    at.radio(key="learn_source").set_value("Dataset page").run()
    at.number_input(key="learn_page_number").set_value(3).run()
    at.session_state[LEARN_TAB_KEY] = "Quiz"
    at.run()
    assert not at.exception, at.exception
    assert FEATURE_MAPS not in [h.value for h in at.subheader]
    answer = at.radio(key="quiz_guess_0").options[1]
    at.radio(key="quiz_guess_0").set_value(answer).run()

    at.session_state[LEARN_TAB_KEY] = "Inside the CNN"
    at.run()
    assert not at.exception, at.exception
    assert FEATURE_MAPS in [h.value for h in at.subheader]
    assert at.radio(key="learn_source").value == "Dataset page"
    assert at.number_input(key="learn_page_number").value == 3
    at.session_state[LEARN_TAB_KEY] = "Quiz"
    at.run()
    assert at.radio(key="quiz_guess_0").value == answer
    assert not at.button(key="quiz_check").disabled


def test_pixels_to_signals_shows_every_stage_of_the_reader_on_an_example(app_test, tiny_bundle, models_root,
                                                                           tiny_dataset) -> None:
    at = _learn_page(app_test, tiny_bundle, models_root, tiny_dataset, view="From pixels to signals")
    assert not at.exception, at.exception
    headers = [h.value for h in at.subheader]
    assert headers == ["1 · Find the sheet", "2 · Measure the millimetre grid", "3 · Separate the traces from the paper",
                       "4 · Find the rows, the leads and the calibration pulses", "5 · Follow the pen",
                       "6 · Check the reading with the physics of the ECG", "7 · Decide whether this is an ECG at all"]
    assert len(at.get("image")) == 5                       # a picture for every stage but the checks
    assert any("vconcat" in c.spec for c in at.get("vega_lite_chart"))   # the twelve leads
    evidence, quality = at.dataframe[-2].value, at.dataframe[-1].value
    assert {"grid", "beat shape", "lead laws"} <= set(evidence["evidence"])
    assert evidence["strength"].between(0, 1).all() and (evidence.loc[evidence["evidence"] == "beat shape",
                                                                       "weight"] > 0).all()
    assert "Einthoven residual" in quality["check"].tolist()
    captions = " ".join(c.value for c in at.caption)
    assert "paper share:" in captions and "stroke width (px):" in captions and "_" not in captions
    assert "squared by: **nothing (already square)**" in captions or "squared by: **straight lines**" in captions
    # the Inside view is closed, so no feature maps were computed
    assert FEATURE_MAPS not in headers
