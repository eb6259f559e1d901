"""The README's two commands on a distribution's own Python (PEP 668: pip refuses to install outside a
virtual environment): `make run` and `make test` build and use the project's `.venv`.

The dry runs are quick and always on. ``pytest -m system_python`` does it for real from a fresh clone with
/usr/bin/python3: install, a few tests, and `make run` serving the app (minutes: pip installs ~2.5 GB).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, python: str) -> list[str]:
    """The commands `make -B -n TARGET PYTHON=python` would run (-B: as on a fresh clone).

    CI runs the suite inside `make test`: the inherited MAKELEVEL/MAKEFLAGS would make this inner make print
    "make[1]: Entering/Leaving directory" lines among the commands, so they are dropped.
    """
    env = {key: value for key, value in os.environ.items() if key not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    done = subprocess.run(["make", "--no-print-directory", "-B", "-n", target, f"PYTHON={python}"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_make_test_installs_into_a_venv_made_with_the_given_python() -> None:
    lines = dry_run("test", "/usr/bin/python3")
    minor = subprocess.run(["/usr/bin/python3" if SYSTEM_PYTHON.exists() else sys.executable, "-c",
                            "import sys; print(sys.version_info[1])"], capture_output=True, text=True,
                           check=True).stdout.strip()
    venv = lines.index("/usr/bin/python3 -m venv .venv")
    # Debian/Ubuntu ship venv's pip bootstrap separately: apt installs it when it is missing.
    assert "import ensurepip, venv" in lines[venv - 1] and f"install -y -qq python3.{minor}-venv" in lines[venv - 1]
    assert any(line.startswith(".venv/bin/python -m pip install") and "-r requirements-dev.txt" in line
               for line in lines[venv + 1:])
    assert lines[-1] == ".venv/bin/python -m pytest"
    # Nothing is pip-installed into the given (system) Python itself.
    assert not [line for line in lines if "pip install" in line and not line.startswith(".venv/bin/python")]


def test_make_run_serves_from_the_venv() -> None:
    lines = dry_run("run", "python3")
    assert "python3 -m venv .venv" in lines
    assert any(line.startswith(".venv/bin/python -m pip install") and line.endswith("-r requirements.txt")
               for line in lines)
    assert lines[-1] == ".venv/bin/python -m streamlit run streamlit_app.py"


def test_the_venv_is_ignored_by_git_and_pytest() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".venv/lib/site.py"], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 0
    from tomllib import loads

    options = loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert ".venv" in options["norecursedirs"]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run exited"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"make run did not serve {url} within {timeout:.0f} s")


@pytest.mark.system_python
@pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason="no system Python at /usr/bin/python3")
def test_a_fresh_clone_installs_tests_and_serves_with_the_system_python(tmp_path: Path) -> None:
    from e2e.server import free_port

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    make = ["make", f"PYTHON={SYSTEM_PYTHON}"]
    subprocess.run([*make, "install-test"], cwd=clone, check=True, timeout=3600)
    python = clone / ".venv" / "bin" / "python"
    version = subprocess.run([str(python), "-c", "import sys; print(sys.base_prefix)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert version == "/usr"                                   # the venv sits on the system Python
    subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_layering.py",
                    "tests/ui/test_explore_page.py", "tests/e2e/test_smoke.py"], cwd=clone, check=True,
                   timeout=1800)

    port = free_port()
    env = {**os.environ, "STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_HEADLESS": "true",
           "STREAMLIT_SERVER_ADDRESS": "127.0.0.1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    server = subprocess.Popen([*make, "run"], cwd=clone, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server, timeout=180)
    finally:
        os.killpg(server.pid, signal.SIGTERM)               # make and the streamlit it started
        server.wait(timeout=30)
