"""Start ``streamlit run`` on a free local port, for browser tests and screenshots."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_FILE = REPO_ROOT / "streamlit_app.py"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")     # Streamlit prints tracebacks in colour


@dataclass
class AppServer:
    """A running app: its base URL, process and combined stdout/stderr log."""

    url: str
    process: subprocess.Popen
    log: IO[bytes]

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        self.log.seek(0)
        text = _ANSI.sub("", self.log.read().decode("utf-8", "replace"))
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(server: AppServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass                          # not listening yet
        time.sleep(0.25)
    raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{server.log_tail()}")


@contextmanager
def running_app(
    script: Path = APP_FILE, *, env: Mapping[str, str] | None = None, timeout: float = 60
) -> Iterator[AppServer]:
    """Run ``script`` with ``streamlit run`` until the block ends; yields the :class:`AppServer`.

    ``env`` defaults to this process's environment, so ``ECG_LAB_CACHE``/``ECG_LAB_MODELS`` carry over.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--global.developmentMode", "false",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=script.parent, env=dict(env or os.environ),
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        server = AppServer(url=f"http://127.0.0.1:{port}", process=process, log=log)
        try:
            _wait_healthy(server, timeout)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
