"""Benchmark section 5: how fast the app's first page appears, and which pages stay TensorFlow-free.

The server is started with the e2e tests' own helper (``tests/e2e/server.py``) and the page is
loaded in headless Debian Chromium with their launch settings (``tests/e2e/browser.py``).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from core.paths import PROJECT_ROOT

APP_FILE = PROJECT_ROOT / "streamlit_app.py"

# Streamlit scripts of their own (core never imports Streamlit), each run in a subprocess.
BARE_APP = PROJECT_ROOT / "pages" / "bench" / "bare_app.py"
TENSORFLOW_PROBE = PROJECT_ROOT / "pages" / "bench" / "tensorflow_probe.py"


def _e2e_helpers():
    """``running_app``, ``goto`` and Chromium's ``LAUNCH_ARGS`` from the e2e tests."""
    # tests/ is not a package (site-packages may hold an unrelated "tests"), so import e2e from it.
    tests_dir = str(PROJECT_ROOT / "tests")
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    from e2e.browser import LAUNCH_ARGS, goto
    from e2e.server import running_app

    return running_app, goto, LAUNCH_ARGS


def _first_page_seconds(page, script: Path) -> dict:
    """Seconds from ``streamlit run script`` to a healthy server, and from there to its first page
    drawn in ``page`` (script run finished, a title on screen)."""
    running_app, goto, _ = _e2e_helpers()
    launched = time.perf_counter()
    with running_app(script, timeout=120) as server:
        up = time.perf_counter()
        goto(page, server.url)
        page.wait_for_selector("[data-testid='stHeading']")
        rendered = time.perf_counter()
    return {"server_up_s": up - launched, "first_page_s": rendered - up, "total_s": rendered - launched}


def first_page_seconds() -> dict:
    """The app's Home page timing, next to a one-line Streamlit app's (Streamlit's own floor on
    this machine right now). Chromium is started beforehand and not counted."""
    from playwright.sync_api import sync_playwright

    _, _, launch_args = _e2e_helpers()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_args)
        try:
            page = browser.new_page()
            floor = _first_page_seconds(page, BARE_APP)
            app = _first_page_seconds(page, APP_FILE)
        finally:
            browser.close()
    return {**app, "bare_first_page_s": floor["first_page_s"],
            "first_page_ratio": app["first_page_s"] / floor["first_page_s"]}


def tensorflow_free_pages() -> dict:
    """Whether the Home and Explore pages run without importing TensorFlow (fresh subprocess)."""
    done = subprocess.run([sys.executable, str(TENSORFLOW_PROBE), str(APP_FILE)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=900, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    return {"home_imports_tensorflow": seen["home"], "explore_imports_tensorflow": seen["explore"],
            "page_errors": seen["errors"], "tf_free_pages": not (seen["home"] or seen["explore"])}


def bench_app_start() -> dict:
    """Section 5: first-page timing and the TensorFlow-free check."""
    return {**first_page_seconds(), **tensorflow_free_pages()}
