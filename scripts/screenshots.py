"""Full-page PNG screenshots of the app's pages in headless Chromium.

    python scripts/screenshots.py [--out screenshots/] [--pages home,explore,train,learn,evaluate,predict]

Starts ``streamlit run streamlit_app.py`` on a free port (the same helper as the e2e tests),
waits for each page's script run to finish and prints the path of every PNG.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# tests/ is not a package (site-packages may hold an unrelated "tests"), so import e2e from it.
sys.path.insert(0, str(REPO_ROOT / "tests"))

from e2e.browser import LAUNCH_ARGS, VIEWPORT, goto  # noqa: E402
from e2e.server import running_app  # noqa: E402

PAGES = ("home", "explore", "train", "learn", "evaluate", "predict")


def page_path(name: str) -> str:
    """URL path of a page: the default page lives at the root."""
    return "/" if name == "home" else f"/{name}"


def take_screenshots(out: Path, pages: list[str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with running_app() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(**LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            for name in pages:
                goto(page, server.url, page_path(name))
                # the run has ended a moment before its widgets are drawn: skeletons until then
                page.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")",
                                       timeout=60_000)
                path = out / f"{name}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)
        finally:
            browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "screenshots", help="output folder")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    args = parser.parse_args(argv)
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = sorted(set(pages) - set(PAGES))
    if unknown:
        parser.error(f"unknown page(s) {', '.join(unknown)}; choose from {', '.join(PAGES)}")
    for path in take_screenshots(args.out, pages):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
