"""A page URL opened first on a freshly started server still runs inside the app's navigation."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .browser import goto
from .server import running_app
from .test_smoke import PAGES


@pytest.mark.parametrize("path", ["/evaluate", "/train"])
def test_first_visit_to_a_page_url_gets_the_app_navigation(page: Page, path: str) -> None:
    with running_app() as fresh:  # its own server: the shared one has already seen "/"
        goto(page, fresh.url, path)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        links = page.get_by_test_id("stSidebarNavLink")
        expect(links).to_have_count(len(PAGES))  # not the files of pages/ listed by legacy discovery
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Dataset")
        expect(page.get_by_role("heading", level=1).first).not_to_have_text("Home")
