"""Predict in a real browser: upload a JPEG, see the verdict and the overlay, move the opacity
slider (the overlay is redrawn), and download the self-contained HTML report."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
from playwright.sync_api import Page, expect

from .browser import RUN_TIMEOUT_MS, goto, wait_for_app

MODEL = "tiny-predict-e2e"




def _overlay_src(page: Page) -> str:
    return page.get_by_test_id("stImage").nth(1).locator("img").get_attribute("src") or ""


def test_upload_slider_and_report_download(page: Page, app_url: str, served_bundle: Path, tiny_dataset: Path,
                                           tmp_path: Path) -> None:
    findings = pd.read_csv(tiny_dataset / "findings.csv")
    row = findings[(findings["class"] == "Myocardial Infarction") & ~findings["photo"]].iloc[0]
    upload = tmp_path / "ward 3 <ECG>.jpg"
    shutil.copy(tiny_dataset / row["path"], upload)

    goto(page, app_url, "/")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Predict").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Predict", exact=True)).to_be_visible()
    page.get_by_test_id("stSelectbox").filter(has_text="Model").click()
    page.get_by_role("option", name=MODEL, exact=True).click()
    wait_for_app(page)

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
    wait_for_app(page)
    expect(page.get_by_text("Calibrated confidence")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stImage")).to_have_count(3)     # the page, its Grad-CAM, the traces read
    expect(page.get_by_text("Original", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="The signals on the page")).to_be_visible()
    expect(page.get_by_role("button", name="Signals (WFDB record, zip)")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Grad-CAM for "))).to_be_visible()
    expect(page.get_by_text("Educational use only.").first).to_be_visible()
    before = _overlay_src(page)

    slider = page.get_by_role("slider")
    expect(slider).to_have_value("0.45")
    slider.focus()
    for _ in range(6):                     # step 0.05 → 0.75
        slider.press("ArrowRight")
    wait_for_app(page)
    expect(slider).to_have_value("0.75")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.wait_for_function(
        "before => document.querySelectorAll('[data-testid=stImage] img')[1].getAttribute('src') !== before",
        arg=before, timeout=RUN_TIMEOUT_MS)
    assert _overlay_src(page) != before, "the overlay was redrawn with the new opacity"

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the report (HTML)").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-report.html")
    saved = tmp_path / "report.html"
    download.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert "ECG Image Lab — prediction report" in html
    assert "ward 3 &lt;ECG&gt;.jpg" in html and "ward 3 <ECG>.jpg" not in html
    assert html.count("data:image/png;base64,") == 2          # the upload and the overlay, embedded
    assert "Educational use only" in html and MODEL in html
    assert re.search(r"(CONFIDENT|UNCERTAIN|NOT AN ECG)", html)
