"""Predict's image uploader refuses a file over its 25 MB limit in the browser, with a clear message,
before anything reaches the server (AppTest bypasses upload limits, so only a browser can show this)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .browser import RUN_TIMEOUT_MS, goto, wait_for_app

MODEL = "tiny-hardening-e2e"




def open_predict(page: Page, app_url: str) -> None:
    """Predict, reached the user's way, with the served tiny model chosen."""
    page.set_default_timeout(RUN_TIMEOUT_MS)
    goto(page, app_url, "/")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Predict").click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Model").click()
    page.get_by_role("option", name=MODEL, exact=True).click()
    wait_for_app(page)


def test_an_image_over_the_upload_limit_is_refused_in_the_browser(page: Page, app_url: str,
                                                                   served_bundle: Path, tmp_path: Path) -> None:
    big = tmp_path / "scan.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(26 * 1024 * 1024))  # 26 MB, limit 25 MB
    open_predict(page, app_url)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(big))
    expect(page.get_by_text(re.compile(r"File must be 25(\.0)?\s?MB or smaller"))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)  # nothing was predicted
