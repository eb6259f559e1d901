"""Browser tests: one ``streamlit run`` server per session and Debian Chromium via pytest-playwright.

Every test in this folder is marked ``e2e`` (deselect with ``-m "not e2e"``). Use the
``app_url`` fixture with pytest-playwright's ``page`` and the helpers in ``e2e.browser``.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import LAUNCH_ARGS, VIEWPORT
from .server import AppServer, running_app

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def app_server(builtin_set: Path) -> Iterator[AppServer]:
    """``streamlit_app.py`` served on a free port with the session's test environment (the built-in
    set already drawn)."""
    with running_app() as server:
        yield server


@pytest.fixture(scope="session")
def app_url(app_server: AppServer) -> str:
    """Base URL of the running app, e.g. ``http://127.0.0.1:38211``."""
    return app_server.url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    # A failing browser test is much easier to read next to what the server printed.
    report = yield
    server = getattr(item, "funcargs", {}).get("app_server")
    if report.failed and isinstance(server, AppServer):
        report.sections.append(("streamlit log (tail)", server.log_tail()))
    return report


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, **LAUNCH_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="module")
def served_bundle(request: pytest.FixtureRequest, tiny_bundle: Path) -> Iterator[Path]:
    """The tiny bundle, named by the test module's ``MODEL``, in the models folder the app server
    reads (the session's test folder); removed after the module."""
    import os
    import shutil

    target = Path(os.environ["ECG_LAB_MODELS"]) / request.module.MODEL
    if not target.exists():
        shutil.copytree(tiny_bundle, target)
    yield target
    shutil.rmtree(target, ignore_errors=True)
