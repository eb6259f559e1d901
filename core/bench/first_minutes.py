"""Benchmark section: an instructor's first minutes on a fresh machine, as a browser sees them.

An empty cache and models folder → ``streamlit run`` → Explore in headless Chromium until its first
gallery image has decoded → the Train page's Live demo pressed at once → its first epoch on screen →
its model saved. Driven with the e2e tests' own server and browser helpers.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from core.bench.app import _e2e_helpers

PROJECTOR = {"width": 1280, "height": 1000}
TIMEOUT_MS = 900_000      # a loaded 2-core machine: the whole set may take minutes; never hang for ever
DECODED_IMAGES_JS = ("() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
                     ".filter(i => i.complete && i.naturalWidth > 0).length >= 1")
EPOCH_SHOWN_JS = ("() => [...document.querySelectorAll(\"[data-testid='stMetric']\")]"
                  ".some(e => /Epoch\\s*\\n?\\s*[1-9]\\d*\\s*\\//.test(e.textContent))")
SAVED_JS = "() => document.body.textContent.includes('Saved the model')"
# The page is checked every 100 ms, not on every animation frame (Playwright's default): a check per
# frame that lays the page out (innerText) cost the training beside it about 15 s of its ~40 s.
POLL_MS = 100


def _metric(page, label: str) -> str:
    text = page.get_by_test_id("stMetric").filter(has_text=label).first.inner_text()
    return text.replace(label, "").strip()


def _train_seconds(models: Path) -> float:
    """The saved Live demo's own training time (its ``fit``), to tell it apart from the app around it."""
    (metadata,) = models.glob("*/metadata.json")
    return float(json.loads(metadata.read_text())["metrics"]["train_seconds"])


def bench_first_minutes(workdir: Path, per_class: int) -> dict:
    """Seconds from a healthy server to Explore's first image, from the click on Train (Live demo) to
    its first epoch shown and to its bundle saved, and the Live demo's test accuracy; the built-in set
    has ``per_class`` pages per class, drawn from nothing."""
    from playwright.sync_api import sync_playwright

    running_app, _, launch_args = _e2e_helpers()
    env = {**os.environ, "ECG_LAB_CACHE": str(workdir / "cache"), "ECG_LAB_MODELS": str(workdir / "models"),
           "ECG_LAB_SYNTH_PER_CLASS": str(per_class)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_args)
        try:
            page = browser.new_page(viewport=PROJECTOR)
            page.set_default_timeout(TIMEOUT_MS)
            launched = time.perf_counter()
            with running_app(env=env, timeout=120) as server:
                up = time.perf_counter()
                page.goto(f"{server.url}/explore")
                page.wait_for_function(DECODED_IMAGES_JS, polling=POLL_MS, timeout=TIMEOUT_MS)
                first_image = time.perf_counter()

                page.goto(f"{server.url}/?page=train&preset=live-demo")
                train = page.get_by_role("button", name="Train")
                train.wait_for(state="visible")
                opened = time.perf_counter()
                train.click()
                clicked = time.perf_counter()
                page.wait_for_function(EPOCH_SHOWN_JS, polling=POLL_MS, timeout=TIMEOUT_MS)
                first_epoch = time.perf_counter()
                page.wait_for_function(SAVED_JS, polling=POLL_MS, timeout=TIMEOUT_MS)
                saved = time.perf_counter()
                accuracy = float(_metric(page, "Test accuracy"))
                images = int(re.sub(r"\D", "", _metric(page, "Test images")))
        finally:
            browser.close()
    return {"per_class": per_class, "server_up_s": up - launched, "explore_first_image_s": first_image - up,
            "train_page_open_s": opened - first_image, "live_demo_first_epoch_s": first_epoch - clicked,
            "live_demo_click_to_saved_s": saved - clicked, "live_demo_train_s": _train_seconds(workdir / "models"),
            "live_demo_test_accuracy": accuracy,
            "live_demo_test_images": images}
