"""Rebuild the Live demo's starter pack (assets/live-demo-starter.zip) from the built-in set.

    python scripts/build_starter_pack.py

Draws the built-in set if it is not in the cache yet (about a minute on 2 cores), scans and splits it as
the Train page does, and writes the Live-demo preset's network inputs of every page with that index.
Run it after changing the generator (GENERATOR_VERSION) or the Live-demo preset's preprocessing: the app
ignores a pack that no longer fits and draws the pages instead, and tests/learn/test_starter.py fails.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data import synthetic_source
from core.learn import PRESETS
from core.learn.starter import STARTER_FILE, write_starter


def main() -> None:
    started = time.perf_counter()
    path = write_starter(synthetic_source(), PRESETS["live-demo"].preprocessing)
    print(f"wrote {path.relative_to(STARTER_FILE.parents[1])}: {path.stat().st_size / 1e6:.1f} MB "
          f"in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
