"""Teaching features in a real browser: a hand-out link applies its configuration. (Three quiz
rounds, opened by a ``?page=quiz`` link, are played in test_quiz_e2e.py.)"""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from .browser import RUN_TIMEOUT_MS, goto, wait_for_app

MODEL = "tiny-teaching-e2e"




def test_hand_out_link_opens_train_with_live_demo_in_classroom_mode(page: Page, app_url: str,
                                                                     served_bundle: Path) -> None:
    goto(page, app_url, f"/?page=train&dataset=synthetic&model={MODEL}&preset=live-demo&classroom=1")
    wait_for_app(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_role("heading", name="Train a model")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("radio", name="Live demo (14 epochs, about a minute)")).to_be_checked()
    expect(page.get_by_role("switch", name="Classroom mode")).to_be_checked()
    expect(page.get_by_test_id("stSidebar")).to_contain_text(MODEL)
    expect(page.get_by_text("Saved models", exact=True)).to_have_count(0)       # advanced controls hidden
    expect(page.get_by_text("Search hyper-parameters")).to_have_count(0)
    # The projector CSS arrives with the page's elements; expect() waits for it to apply.
    expect(page.get_by_test_id("stAppViewContainer")).to_have_css("font-size", "22px")
