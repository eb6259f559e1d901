"""In Chromium, on a fresh machine (an empty cache): Explore shows the first pages while the built-in set
is still being drawn; the Live demo, pressed at once, trains from the starter pack while the pages are
drawn, shows its first epoch and then saves its model, with its live panel scrolled into view on a
projector-sized window. (Training on a set still being drawn, without the pack, is the Train page's
AppTest.)"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.synth import BUILTIN_PER_CLASS

from .browser import RUN_TIMEOUT_MS
from .server import running_app
from .test_explore_train_e2e import EPOCHS_DONE_JS

PROJECTOR = {"width": 1280, "height": 1000}
SCREENSHOTS = Path(os.environ.get("ECG_LAB_SCREENSHOTS", tempfile.gettempdir()))
DECODED_IMAGES_JS = ("() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
                     ".filter(i => i.complete && i.naturalWidth > 0).length")


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own on an empty cache and models folder, with the built-in set of its first use
    (1500 full-size pages: drawing them outlasts both tests)."""
    env = {key: value for key, value in os.environ.items() if key != "ECG_LAB_SYNTH_PER_CLASS"}
    env |= {"ECG_LAB_CACHE": str(tmp_path_factory.mktemp("fresh-cache")),
            "ECG_LAB_MODELS": str(tmp_path_factory.mktemp("fresh-models"))}
    with running_app(env=env) as server:
        yield server.url


def test_explore_shows_pages_while_the_set_is_drawn(page: Page, fresh_app: str) -> None:
    page.goto(f"{fresh_app}/explore")
    progress = page.get_by_text("Drawing the built-in synthetic ECG pages")
    expect(progress).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(f"() => ({DECODED_IMAGES_JS})() >= 1", timeout=RUN_TIMEOUT_MS)
    # Still drawing: the pages on screen came before the set was complete.
    expect(progress).to_be_visible()
    text = page.get_by_test_id("stProgress").first.inner_text()
    done, total = (int(n) for n in text.split(": ")[1].split(".")[0].split(" of "))
    assert 0 < done < total == 5 * BUILTIN_PER_CLASS


def test_live_demo_at_once_shows_its_first_epoch_in_view_and_saves(page: Page, fresh_app: str) -> None:
    page.set_viewport_size(PROJECTOR)
    page.goto(f"{fresh_app}/?page=train&preset=live-demo&classroom=1")
    expect(page.get_by_test_id("stSidebar").get_by_text("none yet")).to_be_visible()
    train = page.get_by_role("button", name="Train")
    expect(train).to_be_enabled(timeout=RUN_TIMEOUT_MS)
    train.click()
    expect(train).to_be_disabled()                  # while it trains
    page.wait_for_function(f"() => {EPOCHS_DONE_JS} >= 1", timeout=RUN_TIMEOUT_MS)
    # The first epoch came before the set was drawn: the inputs came from the starter pack.
    explore = page.context.new_page()
    explore.goto(f"{fresh_app}/explore")
    expect(explore.get_by_text("Drawing the built-in synthetic ECG pages")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    explore.close()
    panel = page.locator(".st-key-train_live")
    chart = panel.get_by_test_id("stVegaLiteChart").first
    expect(chart).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.wait_for_timeout(1000)                        # the smooth scroll
    box = chart.bounding_box()
    page.screenshot(path=str(SCREENSHOTS / "first-minutes-live-panel.png"))
    assert box is not None and 0 <= box["y"] < PROJECTOR["height"] - 100, box   # on screen, not below the fold
    expect(page.get_by_text("Saved the model")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    # The sidebar names the model just saved (a fresh machine had none), without another click.
    expect(page.get_by_test_id("stSidebar").get_by_text("compact-")).to_be_visible(timeout=RUN_TIMEOUT_MS)
