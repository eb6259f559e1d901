"""``digitize``: read the ECG on each image and turn its traces into signals.

    python -m core digitize IMAGE... [--out DIR] [--format csv|wfdb|json] [--json]

Each image gives one line (one JSON object with ``--json``): ``file``, ``readable``, ``reasons``,
``layout``, ``px_per_mm``, ``heart_rate_bpm``, ``leads`` (``{name: {start_s, fs, n, coverage}}``),
``qc`` (Einthoven and Goldberger ratios, heart-rate agreement, coverage, grid contrast, rotation,
perspective) and ``stages`` (each stage's quality numbers and why it fell back). With ``--out`` the
signals (mV at 500 Hz) are written per image as CSV, a WFDB record or JSON, and the line gives the
path as ``signals``. An image that is not an ECG is an answer (``readable: false`` with reasons); a
file that is not an image gives ``{"file": ..., "error": ...}`` and the others still run. Exit
code: 0 when every file was read (readable or not), 1 when any could not be opened.
"""
from __future__ import annotations

from pathlib import Path

from core.commands import for_each_image, output_path
FORMATS = {"csv": ".csv", "wfdb": "", "json": ".json"}


def _write_signals(reading, image: str, args, used: set[str]) -> str:
    from core.ecg.reader import write_csv, write_json, write_wfdb

    target = output_path(Path(args.out), image, FORMATS[args.format], used)
    if args.format == "csv":
        return str(write_csv(reading.leads, target))
    if args.format == "json":
        return str(write_json(reading.leads, target, summary=reading.to_json()))
    return str(write_wfdb(reading.leads, target.parent, record_name=target.name))


def _digitize_one(image: str, args, used: set[str]) -> dict:
    from core.ecg.reader import read_page

    reading = read_page(image)
    row = {"file": image, **reading.to_json()}
    if args.out and reading.leads:
        row["signals"] = _write_signals(reading, image, args, used)
    return row


def _describe(row: dict) -> str:
    if not row["readable"]:
        return f"{row['file']}: not readable ({'; '.join(row['reasons'])})"
    rate = f"{row['heart_rate_bpm']:.0f} bpm" if row["heart_rate_bpm"] is not None else "rate unknown"
    ratio = row["qc"].get("einthoven_ratio")
    law = f", Einthoven residual {ratio:.2f}" if ratio is not None else ""
    saved = f"  signals: {row['signals']}" if "signals" in row else ""
    return f"{row['file']}: {row['layout']}, {len(row['leads'])} leads, {rate}{law}{saved}"


def _cmd_digitize(args) -> int:
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    return for_each_image(args.images, lambda image: _digitize_one(image, args, used), _describe, as_json=args.json)


def register(sub) -> None:
    p = sub.add_parser("digitize", help="read the ECG on images: layout, leads and signals in mV")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (png, jpg, bmp, webp, ...)")
    p.add_argument("--out", metavar="DIR", help="write each image's signals into DIR")
    p.add_argument("--format", choices=list(FORMATS), default="csv",
                   help="signal file format for --out: CSV (time + one column per lead), a WFDB record, or JSON")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(func=_cmd_digitize)
