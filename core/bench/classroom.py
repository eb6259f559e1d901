"""Benchmark section ``classroom``: a class of students on one server, each predicting a bundled example.

``streamlit run`` serves the app (the e2e tests' helper) with the shipped default model; headless
Debian Chromium opens one browser context per student. Every student opens the Predict page at the
same moment; a script injected into each page clicks *Bundled example* as soon as that choice is
on screen and notes when the *Predicted class* appears, so the times are the page's own (from the
page being requested to the result shown), whatever order the benchmark polls the pages in.

Phases, on one server: a first student alone on the fresh server (TensorFlow loads, the model and
its ECG check are loaded), one student alone, the class; then a session starts the Live-demo
training and, while it trains, one student alone and the class again. For each phase: the time to
result (median, slowest), pages that showed a result, exceptions and "Something went wrong" alerts,
the server's CPU seconds (user + system, all its threads — with a training running they include the
training's) per result, and its resident memory after the phase. The browsers run on the same
machine as the server, as in a lab where the instructor's laptop is the server: their cost is not
in the server's CPU figure, but it is in the times.
"""
from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

CLASS_SIZE = 20
RESULT_TIMEOUT_S = 900

# Runs in every student's page: click "Bundled example" once the radio is there, and note when the
# verdict first shows. Checks are coalesced to one per 100 ms of DOM changes.
STUDENT = """
(() => {
  window.__clickedAt = null;
  window.__verdictAt = null;
  let pending = false;
  const look = () => {
    pending = false;
    if (window.__clickedAt === null) {
      const choice = [...document.querySelectorAll("[data-testid=stRadio] label")]
        .find(l => l.innerText.trim() === "Bundled example");
      if (choice) { choice.click(); window.__clickedAt = Date.now(); }
    }
    if (window.__verdictAt === null && [...document.querySelectorAll("[data-testid=stMetric]")]
          .some(m => m.innerText.includes("Predicted class"))) window.__verdictAt = Date.now();
  };
  new MutationObserver(() => { if (!pending) { pending = true; setTimeout(look, 100); } })
    .observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _browser_cpu_seconds(server_pid: int) -> float:
    """CPU seconds of this process's descendants but the server: Playwright's driver and Chromium.

    Children's and reaped grandchildren's times both count (a closed page's renderer is reaped by
    Chromium's browser process, whose ``cutime`` then holds it)."""
    children: dict[int, list[tuple[int, list[str]]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue                                        # ended while we looked
        children.setdefault(int(fields[1]), []).append((int(entry.name), fields))
    total, todo = 0, [os.getpid()]
    while todo:
        for pid, fields in children.get(todo.pop(), []):
            if pid != server_pid:
                total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
                todo.append(pid)
    return total / os.sysconf("SC_CLK_TCK")


def _memory_mb(pid: int) -> tuple[float, float]:
    """Resident set size now and at its peak, in MB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def _students(browser, url: str, count: int) -> dict:
    """``count`` students open Predict at once; each one's time to result and what went wrong."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    _, _, _, wait_for_app, viewport = _e2e_helpers()
    contexts = [browser.new_context(viewport=viewport) for _ in range(count)]
    try:
        pages, opened = [], []
        for context in contexts:
            context.add_init_script(STUDENT)
            pages.append(context.new_page())
        for page in pages:                                  # all requested before any is awaited
            opened.append(time.time())
            page.goto(f"{url}/?page=predict", wait_until="commit")
        times, shown, exceptions, failures = [], 0, 0, 0
        for page, start in zip(pages, opened):
            try:
                page.wait_for_function("window.__verdictAt !== null", timeout=RESULT_TIMEOUT_S * 1000)
            except PlaywrightTimeout:       # this student never saw a result, which is the figure
                times.append(None)
                continue
            shown += 1
            times.append(page.evaluate("window.__verdictAt") / 1000 - start)
            wait_for_app(page, RESULT_TIMEOUT_S * 1000)      # the rest of the page (saliency, leads, advice)
            exceptions += page.get_by_test_id("stException").count()
            failures += page.get_by_test_id("stAlert").filter(has_text="Something went wrong").count()
            expect(page.get_by_test_id("stMetric").filter(has_text="Predicted class")).to_be_visible()
    finally:
        for context in contexts:
            context.close()
    finite = [t for t in times if t is not None]
    return {"students": count, "shown": shown, "exceptions": exceptions, "failures": failures,
            "median_s": statistics.median(finite) if finite else None,
            "slowest_s": max(finite) if finite and len(finite) == count else None,   # None: someone waited in vain
            "times_s": [None if t is None else round(t, 2) for t in times]}


def _phase(server_pid: int, fn, *args) -> dict:
    """``fn(*args)`` with the server's CPU seconds per shown result and its memory afterwards."""
    from core.bench.suite import load_average

    before_cpu, before_browser, load_before = _cpu_seconds(server_pid), _browser_cpu_seconds(server_pid), load_average()
    result = fn(*args)
    cpu = _cpu_seconds(server_pid) - before_cpu
    browser = _browser_cpu_seconds(server_pid) - before_browser
    rss, peak = _memory_mb(server_pid)
    return {**result, "server_cpu_s": cpu, "server_cpu_s_per_result": cpu / max(result["shown"], 1),
            "browser_cpu_s_per_student": browser / result["students"],
            "server_rss_mb": rss, "server_peak_rss_mb": peak, "load_avg": [load_before, load_average()]}


def _start_training(browser, url: str):
    """A session on the Train page presses Train with the Live-demo preset; returns its context once
    the progress bar shows (the job is running)."""
    from playwright.sync_api import expect

    _, goto, _, _, viewport = _e2e_helpers()
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    goto(page, url, "/?page=train&dataset=synthetic&preset=live-demo")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_test_id("stProgress").first).to_be_visible(timeout=RESULT_TIMEOUT_S * 1000)
    return context


def _training_status() -> str:
    """The latest run's status in the run history ("running" while the Live demo still trains)."""
    from core.learn.runs import load_runs

    runs = load_runs()
    return runs[-1]["status"] if runs else "none"


def _e2e_helpers():
    """``running_app``, ``goto``, Chromium's launch settings, ``wait_for_app`` and the viewport."""
    from core.bench.app import _e2e_helpers as helpers

    running_app, goto, launch_args = helpers()            # puts tests/ on sys.path for the import below
    from e2e.browser import VIEWPORT, wait_for_app

    return running_app, goto, launch_args, wait_for_app, VIEWPORT


def _install_default_model() -> str:
    """Copy the shipped default bundle into the (private) models folder the server will use."""
    from core.bundles import DEFAULT_FILE, default_bundle
    from core.paths import PROJECT_ROOT, models_dir

    shipped = default_bundle(PROJECT_ROOT / "models")
    if shipped is None:
        raise RuntimeError("no default model in models/: the classroom predicts with the shipped one")
    target = models_dir() / shipped.name
    if not target.exists():
        shutil.copytree(shipped, target)
    (models_dir() / DEFAULT_FILE).write_text(shipped.name)
    return shipped.name


def bench_classroom(students: int = CLASS_SIZE, live_demo_per_class: int | None = None) -> dict:
    """Section ``classroom`` (see the module docstring); runs in the current cache and models folders."""
    from playwright.sync_api import sync_playwright

    from core.data import synthetic_source

    model = _install_default_model()
    synthetic_source(per_class=live_demo_per_class)        # the Live demo's pages, before the clock runs
    running_app, _, launch_args, _, _ = _e2e_helpers()
    phases: dict[str, dict] = {}
    with sync_playwright() as playwright, running_app(timeout=180) as server:
        browser = playwright.chromium.launch(**launch_args)
        try:
            pid = server.process.pid
            phases["first"] = _phase(pid, _students, browser, server.url, 1)
            phases["alone"] = _phase(pid, _students, browser, server.url, 1)
            phases["class"] = _phase(pid, _students, browser, server.url, students)
            trainer = _start_training(browser, server.url)
            try:
                phases["alone_training"] = _phase(pid, _students, browser, server.url, 1)
                phases["class_training"] = _phase(pid, _students, browser, server.url, students)
                phases["class_training"]["training_status_after"] = _training_status()
            finally:
                trainer.close()
        finally:
            browser.close()
    crowd, alone = phases["class_training"], phases["alone_training"]
    return {"model": model, "students": students, "phases": phases,
            "all_shown": all(p["shown"] == p["students"] for p in phases.values()),
            "exceptions": sum(p["exceptions"] + p["failures"] for p in phases.values()),
            "slowest_with_training_s": crowd["slowest_s"],
            "slowest_ratio_to_alone": _ratio(crowd["slowest_s"], alone["slowest_s"]),
            "median_ratio_to_alone": _ratio(crowd["median_s"], alone["median_s"])}


def _ratio(value: float | None, alone: float | None) -> float | None:
    return value / alone if value is not None and alone else None
