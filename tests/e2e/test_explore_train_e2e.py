"""In Chromium: Explore shows its chart and gallery; training keeps growing while the user
looks at another page."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .browser import RUN_TIMEOUT_MS, goto, wait_for_app


def test_explore_shows_the_class_chart_and_the_gallery(page: Page, app_url: str) -> None:
    goto(page, app_url, "/explore")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stMetric").filter(has_text="Images")).to_contain_text("60")
    # The gallery tab shows a page of eight thumbnails; images must actually have loaded.
    expect(page.get_by_test_id("stImage").first).to_be_visible()
    page.wait_for_function(  # thumbnails arrive one by one (a count taken at once saw 2); all eight must decode
        "() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= 8",
        timeout=RUN_TIMEOUT_MS)


def epoch_number(page: Page) -> int:
    """Epochs done, from the "Epoch" metric (the progress text above it names the one running)."""
    text = page.get_by_test_id("stMetric").filter(has_text="Epoch").first.inner_text()
    return int(re.search(r"(\d+)\s*/", text).group(1))


# The same number read in the browser, for wait_for_function: 0 until the metric is drawn.
EPOCHS_DONE_JS = ("(() => { const m = [...document.querySelectorAll(\"[data-testid='stMetric']\")]"
                  ".map(e => e.innerText.match(/Epoch\\s*\\n?\\s*(\\d+)\\s*\\//)).find(Boolean); "
                  "return m ? Number(m[1]) : 0; })()")


def test_training_survives_a_visit_to_explore(page: Page, app_url: str) -> None:
    goto(page, app_url, "/train")
    page.get_by_text("Custom", exact=True).click()
    wait_for_app(page)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("40")
    epochs.press("Enter")
    wait_for_app(page)
    # Early stopping ended the run near epoch 7 on a quiet machine (0.7 s an epoch), before Stop
    # could be pressed: this test needs the run to last.
    patience = page.get_by_label("Early-stopping patience (0 = off)")
    patience.fill("0")
    patience.press("Enter")
    wait_for_app(page)
    name = page.get_by_label("Save the model as")
    name.fill("e2e-survives")
    name.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Train").click()

    expect(page.get_by_test_id("stMetric").filter(has_text="Epoch").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    # at least two epochs done, so the curves exist
    page.wait_for_function(f"() => {EPOCHS_DONE_JS} >= 2", timeout=RUN_TIMEOUT_MS)
    before = epoch_number(page)

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Explore").click()
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.wait_for_timeout(4000)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Train").click()

    expect(page.get_by_test_id("stMetric").filter(has_text="Epoch").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(f"() => {EPOCHS_DONE_JS} > {before}", timeout=RUN_TIMEOUT_MS)
    assert epoch_number(page) > before
    # This run's two curves; the run history further down may overlay earlier runs too.
    expect(page.locator(".st-key-train_live").get_by_test_id("stVegaLiteChart")).to_have_count(2)
    # Streamlit's own status widget also has a "Stop" (for the script run): take the page's.
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Training was stopped")).to_be_visible(timeout=RUN_TIMEOUT_MS)
