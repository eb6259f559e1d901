"""A classroom at once, in Chromium: two sessions train while a third predicts, all on one server
(core.learn.jobs lets two trainings run at once), and nobody sees anybody else's run.

Every wait is on a UI state (a script run finished, a progress bar, a result), never a sleep.
A small observer in each page records what its training panel showed over time (epoch counters,
progress texts, alerts) and when the prediction first appeared, so the test judges the whole run
afterwards instead of sampling it at a few moments (the panel refreshes once a second).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .browser import RUN_TIMEOUT_MS, VIEWPORT, wait_for_app

MODEL = "tiny-concurrency-e2e"  # the bundle the predicting session uses (served_bundle fixture)
# Two runs with different settings, so every number on a panel tells whose run it shows.
RUNS = {
    "class-a-run": {"epochs": 2, "height": 64, "width": 128},
    "class-b-run": {"epochs": 3, "height": 64, "width": 64},  # the compact CNN wants multiples of 64
}
# Two trainings, a prediction and three browser pages share two cores, often with other work on
# them: under loads of 3-9 the test took 65-215 s, the trainings most of it.
LONG_MS = RUN_TIMEOUT_MS * 3

# Records the training panel's text (metrics, progress bars, alerts in the main area) each time it
# changes, and when a "Predicted class" metric first showed. Checks are coalesced to one per
# 100 ms: the panel only changes once a second.
OBSERVER = """
(() => {
  window.__panel = [];
  window.__verdictAt = null;
  const PANEL = "[data-testid=stMain] :is([data-testid=stMetric], [data-testid=stProgress], "
              + "[data-testid=stAlert])";
  let pending = false;
  const look = () => {
    pending = false;
    const text = [...document.querySelectorAll(PANEL)].map(e => e.innerText).join(" | ");
    const last = window.__panel[window.__panel.length - 1];
    if (text && (!last || last.text !== text)) window.__panel.push({t: Date.now(), text});
    if (window.__verdictAt === null && [...document.querySelectorAll("[data-testid=stMetric]")]
          .some(m => m.innerText.includes("Predicted class"))) window.__verdictAt = Date.now();
  };
  new MutationObserver(() => { if (!pending) { pending = true; setTimeout(look, 100); } })
    .observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


@pytest.fixture
def run_names() -> tuple[str, ...]:
    yield tuple(RUNS)
    for name in RUNS:
        shutil.rmtree(Path(os.environ["ECG_LAB_MODELS"]) / name, ignore_errors=True)


def _fill(page: Page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_for_app(page)
    expect(box).to_have_value(value)


def set_up_training(page: Page, name: str, epochs: int, height: int, width: int) -> None:
    """On the Train page a hand-out link opened with the Custom preset: tiny settings, own name."""
    expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("radio", name="Custom")).to_be_checked()
    _fill(page, "Epochs", str(epochs))
    _fill(page, "Image height", str(height))
    _fill(page, "Image width", str(width))
    _fill(page, "Save the model as", name)
    expect(page.get_by_role("button", name="Train")).to_be_enabled()


def until_done(page: Page, outcome: Locator) -> None:
    """Wait for ``outcome`` or a failed training, whichever comes first; fail on the latter."""
    failed = page.get_by_test_id("stAlert").filter(has_text="Training failed")
    expect(outcome.or_(failed).first).to_be_visible(timeout=LONG_MS)
    expect(failed).to_have_count(0)


def epoch_metric(page: Page) -> Locator:
    """The "Epoch n/N" metric (not "Epoch time")."""
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text("Epoch", exact=True))


def epochs_seen(log: list[dict]) -> list[tuple[int, set[int]]]:
    """Per recorded panel state: the furthest epoch it showed and the epoch totals it named
    (the "Epoch" metric and the progress bar's "Epoch n/N · batch" text)."""
    states = []
    for entry in log:
        pairs = [(int(d), int(t)) for d, t in re.findall(r"Epoch\s*(\d+)\s*/\s*(\d+)", entry["text"])]
        if pairs:
            states.append((max(d for d, _ in pairs), {t for _, t in pairs}))
    return states


def test_two_sessions_train_while_a_third_predicts(browser: Browser, app_url: str, served_bundle: Path,
                                                   tiny_dataset: Path, run_names: tuple[str, ...]) -> None:
    from core.bundles import load_bundle
    from core.use import analyse_image

    t0 = time.monotonic()

    def phase(label: str) -> None:  # printed: shown with -s, and on failure, to see where time went
        print(f"{time.monotonic() - t0:6.1f} s  {label}")

    image = next((tiny_dataset / "Normal").glob("*.jpg"))
    # Fit the model's one-off "is this an ECG?" check now (cached on disk, in the cache folder the
    # server shares): on two busy cores it would otherwise dominate the predicting session's time.
    analyse_image(load_bundle(served_bundle), image.read_bytes())
    classes = json.loads((served_bundle / "metadata.json").read_text())["classes"]
    models = Path(os.environ["ECG_LAB_MODELS"])
    phase("ECG check fitted")

    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(3)]
    try:
        for context in contexts:
            context.set_default_timeout(RUN_TIMEOUT_MS)
            context.add_init_script(OBSERVER)
        *trainers, predictor = (context.new_page() for context in contexts)
        # Hand-out links, one per student, all loading at once: straight to Train with the Custom
        # preset, or to Predict with the served model chosen.
        for page in trainers:
            page.goto(f"{app_url}/?page=train&dataset=synthetic&preset=custom")
        predictor.goto(f"{app_url}/?page=predict&model={MODEL}")
        for page in (*trainers, predictor):
            wait_for_app(page)
        expect(predictor.get_by_role("combobox", name="Model")).to_have_value(MODEL, timeout=RUN_TIMEOUT_MS)
        phase("pages open")
        for page, (name, run) in zip(trainers, RUNS.items()):
            set_up_training(page, name, **run)
        phase("settings filled")

        started = time.time()
        for page in trainers:
            page.get_by_role("button", name="Train").click()
        for page in trainers:  # both jobs are running: their panels show a progress bar
            until_done(page, page.get_by_test_id("stProgress").first)
        phase("both jobs running")

        # Meanwhile the third session predicts.
        predictor.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(image))
        verdict = predictor.get_by_test_id("stMetric").filter(has_text="Predicted class")
        expect(verdict).to_be_visible(timeout=LONG_MS)
        shown = verdict.get_by_test_id("stMetricValue").inner_text().strip()
        assert shown in classes, (shown, classes)
        confidence = predictor.get_by_test_id("stMetric").filter(has_text="Calibrated confidence")
        expect(confidence).to_contain_text("%")
        chart = predictor.get_by_test_id("stVegaLiteChart").filter(
            has_text="Calibrated probability of every class")
        expect(chart).to_be_visible(timeout=LONG_MS)
        for name in classes:                     # a bar and a percentage for every class
            expect(chart).to_contain_text(name)
        expect(chart).to_contain_text(re.compile(r"\d+\.\d%"))
        verdict_at = predictor.wait_for_function("window.__verdictAt").json_value() / 1000
        phase("prediction shown")

        for page, (name, run) in zip(trainers, RUNS.items()):
            saved = page.get_by_test_id("stAlert").filter(has_text="Saved the model to")
            until_done(page, saved)
            expect(saved).to_contain_text(name)
            expect(epoch_metric(page)).to_contain_text(f"{run['epochs']}/{run['epochs']}")
            expect(page.get_by_test_id("stMetric").filter(has_text="Test accuracy")).to_be_visible()
            expect(page.get_by_test_id("stException")).to_have_count(0)
        finished = time.time()
        phase("both saved")
        wait_for_app(predictor)                  # its Grad-CAM and advice finished long ago
        expect(predictor.get_by_test_id("stException")).to_have_count(0)
        expect(predictor.get_by_test_id("stAlert").filter(has_text="Something went wrong")).to_have_count(0)

        for page, (name, run) in zip(trainers, RUNS.items()):
            other = next(n for n in RUNS if n != name)
            log = page.evaluate("window.__panel")
            seen = epochs_seen(log)
            progress = [done for done, _ in seen]
            phase(f"{name} showed epochs {progress}")
            # The epoch count grew up to this run's own total, and only ever with this run's total:
            # the other run (2 vs 3 epochs) never showed up in this panel.
            assert len(set(progress)) >= 2 and progress == sorted(progress), progress
            assert progress[-1] == run["epochs"], progress
            assert set().union(*(totals for _, totals in seen)) == {run["epochs"]}, seen
            assert not [e["text"] for e in log if other in e["text"]], f"{name}'s panel showed {other}"
            assert other not in page.get_by_test_id("stSidebar").inner_text()

            meta_file = models / name / "metadata.json"
            meta = json.loads(meta_file.read_text())
            assert meta["input_size"] == [run["height"], run["width"]]
            assert meta["hyperparameters"]["epochs"] == run["epochs"]
            assert len(meta["history"]["loss"]) == run["epochs"]
            # Saved during this test, after the predicting session had its answer: the prediction
            # was made while both trainings were running.
            saved_at = meta_file.stat().st_mtime
            assert started - 1 < verdict_at < saved_at < finished + 1, (started, verdict_at, saved_at, name)
        sidebar = predictor.get_by_test_id("stSidebar").inner_text()
        assert MODEL in sidebar and not any(name in sidebar for name in RUNS)
    finally:
        for context in contexts:
            context.close()
