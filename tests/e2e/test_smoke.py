"""The app starts in a real browser and its navigation lists every page."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from .browser import goto

PAGES = ["Home", "Explore", "Train", "Inside the CNN", "Evaluate", "Predict"]


def test_root_shows_navigation_without_errors(page: Page, app_url: str) -> None:
    goto(page, app_url, "/")

    # Checked first: a crashing script also changes the navigation (Streamlit then falls back
    # to listing the files in pages/), and the exception is the more useful message.
    expect(page.get_by_test_id("stException")).to_have_count(0)
    links = page.get_by_test_id("stSidebarNavLink")
    expect(links).to_have_count(len(PAGES))
    for name in PAGES:
        expect(links.filter(has_text=name)).to_have_count(1)
