"""Rebuild the ECG check's corpus, read every image (cached), fit the weights, print the held-out table.

    python scripts/calibrate_ecg_check.py            # fit on the "fit" split, report on "test"
    python scripts/calibrate_ecg_check.py --write    # ... and save the weights to assets/ecg_check.json
    python scripts/calibrate_ecg_check.py --per-pair 2 --json report.json

Needs scikit-image (requirements-dev.txt) and ../shared/data for the real ECG pages; the first run
reads about 900 images (15-30 minutes on 2 cores), later runs only the ones the cache lacks.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.bench.ecg_check_corpus import cached_readings, corpus, reader_hash  # noqa: E402
from core.bench.ecg_check_fit import fit_params, format_report, report  # noqa: E402
from core.use.ecg_check import PARAMS_FILE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"save the fitted weights to {PARAMS_FILE}")
    parser.add_argument("--per-pair", type=int, default=1, help="synthetic pages per layout x effect and split")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args()

    items = corpus(args.per_pair)
    print("corpus:", dict(Counter((i.group, i.split) for i in items)))
    print("non-ECG kinds:", dict(Counter(i.kind for i in items if i.group == "non_ecg")))
    records = cached_readings(items)
    crashed = [r for r in records if r["error"] or r["warnings"]]
    for r in crashed:
        print(f"reader problem on {r['key']}: {r['error'] or ''} {r['warnings']}")
    params = fit_params(records, reader_hash())
    print(json.dumps(params, indent=1))
    for split in ("fit", "test"):
        print(f"\n=== {split} split ===")
        print(format_report(report(records, params, split)))
    if args.write:
        PARAMS_FILE.write_text(json.dumps(params, indent=1) + "\n")
        print(f"wrote {PARAMS_FILE}")
    if args.json:
        args.json.write_text(json.dumps({"params": params, "test": report(records, params, "test")}, indent=1))


if __name__ == "__main__":
    main()
