"""Headless Debian Chromium settings and page helpers shared by e2e tests and screenshots."""
from __future__ import annotations

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = {
    "executable_path": CHROMIUM,
    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update"],
}
VIEWPORT = {"width": 1400, "height": 1000}
# The first run imports TensorFlow (~5 s) on a 2-core machine; leave plenty of room.
RUN_TIMEOUT_MS = 120_000


def wait_for_app(page: Page, timeout: float = RUN_TIMEOUT_MS) -> None:
    """Wait until the connected app has finished its current script run."""
    # A rerun starts a moment after the triggering event; without the pause we may see the
    # previous run's "notRunning" state.
    page.wait_for_timeout(200)
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
                           timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout)


def goto(page: Page, base_url: str, path: str = "/") -> None:
    """Open ``path`` (e.g. ``"/explore"``) of the app and wait for its run to finish."""
    page.goto(base_url.rstrip("/") + "/" + path.lstrip("/"))
    wait_for_app(page)
