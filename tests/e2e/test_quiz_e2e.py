"""The quiz in a real browser: a ``?page=quiz`` hand-out link opens the Learn page on its Quiz tab;
three rounds are played, one answer deliberately wrong.

Before answering, the test works out which dataset page the quiz shows by matching the served
image against the tiny dataset's pages, so it knows the true class and what the model will say
(the same bundle run here, in the test process). It then checks the page against those values:
the running scores (the student's and the model's) rise exactly on right answers, the round
counter advances, and the reveal shows the model's answer, its confidence, the true label and
the Grad-CAM. Only the Quiz tab runs: the Inside view's feature maps are not computed.
"""
from __future__ import annotations

import io
import re
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from .browser import RUN_TIMEOUT_MS, goto, wait_for_app

MODEL = "tiny-quiz-e2e"
MATCH_SIZE = (160, 112)    # pages are compared at this size, in grey


def _pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L").resize(MATCH_SIZE), dtype=np.float32)


@pytest.fixture(scope="module")
def dataset_pages(tiny_dataset: Path):
    """Every page of the tiny dataset with its class and split, as the app splits it (seed 0)."""
    from core.data import folder_source, prepare_dataset

    index = prepare_dataset(folder_source(tiny_dataset), seed=0).index
    return [(row.path, row["class"], row.split, _pixels(Path(row.path).read_bytes()))
            for _, row in index.iterrows()]


@pytest.fixture(scope="module")
def model_answer(served_bundle: Path):
    """What the served model says of a page (class, top probability), computed in this process."""
    from core.bundles import load_bundle
    from core.use import analyse_image

    bundle = load_bundle(served_bundle)

    def answer(path: str) -> tuple[str, float]:
        result = analyse_image(bundle, Path(path).read_bytes(), name=Path(path).name)
        return result.diagnosis.predicted, float(result.probabilities.max())

    return answer, list(bundle.metadata.classes)


def _metric(panel: Locator, label: str) -> Locator:
    return panel.get_by_test_id("stMetric").filter(has=panel.page.get_by_test_id("stMetricLabel")
                                                   .filter(has_text=re.compile(f"^{re.escape(label)}$")))


def _shown_page(page: Page, app_url: str, panel: Locator, dataset_pages) -> tuple[str, str, str]:
    """(path, class, split) of the dataset page the quiz shows, found by its pixels."""
    src = panel.get_by_test_id("stImage").first.locator("img").get_attribute("src") or ""
    response = page.request.get(urllib.parse.urljoin(app_url + "/", src))
    assert response.ok, f"could not fetch the quiz image {src}"
    shown = _pixels(response.body())
    distances = sorted((float(np.abs(pixels - shown).mean()), path, cls, split)
                       for path, cls, split, pixels in dataset_pages)
    (best, path, cls, split), second = distances[0], distances[1][0]
    assert best < 3 and second > 3 * best + 5, f"the quiz image matches no single page: {distances[:3]}"
    return path, cls, split


def test_quiz_link_plays_three_rounds_with_a_score_that_counts_right_answers(
        page: Page, app_url: str, served_bundle: Path, tiny_dataset: Path, dataset_pages, model_answer) -> None:
    answer_of, classes = model_answer
    query = urllib.parse.urlencode({"page": "quiz", "dataset": str(tiny_dataset), "model": MODEL})
    goto(page, app_url, f"/?{query}")
    expect(page.get_by_role("heading", name="Inside the CNN")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("tab", name="Quiz")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("stSidebar")).to_contain_text(MODEL)
    panel = page.get_by_role("tabpanel", name="Quiz")
    # Only the open tab runs: the Inside view's feature maps are not computed behind the quiz.
    expect(page.get_by_text("2 · Feature maps of each conv block")).to_have_count(0)

    right_so_far, model_right, seen = 0, 0, []
    for round_number, answer_right in enumerate([True, False, True]):
        expect(panel.get_by_text(f"Round {round_number + 1}", exact=True)).to_be_visible(timeout=RUN_TIMEOUT_MS)
        expect(_metric(panel, "Your score").get_by_test_id("stMetricValue")).to_have_text(
            f"{right_so_far} / {round_number}")
        expect(_metric(panel, "Model's score").get_by_test_id("stMetricValue")).to_have_text(
            f"{model_right} / {round_number}")
        expect(_metric(panel, "True label")).to_have_count(0)              # nothing revealed yet
        check = panel.get_by_role("button", name="Check")
        expect(check).to_be_disabled()                                      # no answer picked yet

        path, truth, split = _shown_page(page, app_url, panel, dataset_pages)
        assert split == "test", f"the quiz showed a {split} page: {path}"
        assert path not in seen, "a page was asked twice"
        seen.append(path)
        guess = truth if answer_right else next(c for c in classes if c != truth)
        panel.get_by_role("radiogroup").get_by_text(guess, exact=True).click()
        wait_for_app(page)
        expect(check).to_be_enabled()
        check.click()
        wait_for_app(page)

        right_so_far += answer_right
        expect(_metric(panel, "True label").get_by_test_id("stMetricValue")).to_have_text(
            truth, timeout=RUN_TIMEOUT_MS)
        expect(_metric(panel, "Your score").get_by_test_id("stMetricValue")).to_have_text(
            f"{right_so_far} / {round_number + 1}")
        said = _metric(panel, "You said")
        expect(said.get_by_test_id("stMetricValue")).to_have_text(guess)
        expect(said.get_by_test_id("stMetricDelta")).to_have_text("right" if answer_right else "wrong")
        predicted, probability = answer_of(path)
        model_right += predicted == truth
        expect(_metric(panel, "Model's score").get_by_test_id("stMetricValue")).to_have_text(
            f"{model_right} / {round_number + 1}")
        model = _metric(panel, "The model said")
        expect(model.get_by_test_id("stMetricValue")).to_have_text(predicted)
        confidence = model.get_by_test_id("stMetricDelta").inner_text()
        shown = re.fullmatch(r"(\d+)% confident", confidence.strip())
        assert shown and abs(int(shown[1]) - 100 * probability) <= 1, (confidence, probability)
        expect(panel.get_by_text("Grad-CAM: where the model looked")).to_be_visible()
        expect(panel.get_by_test_id("stImage")).to_have_count(2)           # the page and its Grad-CAM
        expect(page.get_by_test_id("stException")).to_have_count(0)

        panel.get_by_role("button", name="Next image").click()
        wait_for_app(page)

    expect(panel.get_by_text("Round 4", exact=True)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(_metric(panel, "Your score").get_by_test_id("stMetricValue")).to_have_text("2 / 3")
    expect(_metric(panel, "Model's score").get_by_test_id("stMetricValue")).to_have_text(f"{model_right} / 3")
    assert len(set(seen)) == 3
