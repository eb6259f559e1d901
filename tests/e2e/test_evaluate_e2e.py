"""Evaluate in a real browser: the confusion heatmap is drawn with its numbers, and the report
downloads as a CSV with one row per class."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .browser import RUN_TIMEOUT_MS, goto, wait_for_app


@pytest.fixture(scope="module")
def served_bundle(tiny_bundle: Path) -> Path:
    """The tiny bundle in the models folder the app server reads (the session's test folder)."""
    target = Path(os.environ["ECG_LAB_MODELS"]) / "tiny-e2e"
    if not target.exists():
        shutil.copytree(tiny_bundle, target)
    yield target
    shutil.rmtree(target, ignore_errors=True)


def test_heatmap_and_report_csv(page: Page, app_url: str, served_bundle: Path, tiny_dataset: Path,
                                tmp_path: Path) -> None:
    # The user's path: the app's root, then Evaluate in the navigation. (Opening /evaluate first on a
    # fresh server makes Streamlit fall back to listing pages/ before st.navigation has run.)
    goto(page, app_url, "/")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Evaluate").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Evaluate a model")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.get_by_text("A folder on this computer").click()
    wait_for_app(page)
    folder = page.get_by_label("Folder path")
    folder.fill(str(tiny_dataset))
    folder.press("Enter")
    wait_for_app(page)

    heatmap = page.get_by_test_id("stVegaLiteChart").filter(has_text="Confusion matrix: images")
    expect(heatmap).to_be_visible(timeout=RUN_TIMEOUT_MS)
    meta = json.loads((served_bundle / "metadata.json").read_text())
    test_images = sum(meta["split"]["counts"]["test"].values())
    # Every cell has its count written in it: the numbers add up to the test images.
    numbers = [int(t) for t in heatmap.locator("svg text").all_text_contents() if t.strip().isdigit()]
    assert sum(numbers) == test_images
    expect(page.get_by_test_id("stException")).to_have_count(0)

    page.get_by_role("tab", name="Report").click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the report (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "tiny-e2e-classification-report.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    by_class = {row["class"]: row for row in rows}
    assert {"accuracy", "macro avg", "weighted avg"} <= set(by_class)
    assert int(by_class["accuracy"]["support"]) == test_images
    assert {"precision_low", "precision_high", "f1-score"} <= set(rows[0])
