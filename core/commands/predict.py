"""``predict``: classify ECG images with a saved model, one result per image.

    python -m core predict --model models/NAME IMAGE... [--cam OUT_DIR] [--method gradcam] [--json]

Each image gives one line (one JSON object with ``--json``): ``file``, ``predicted``,
``confidence``, ``probabilities``, ``status``, ``risk``, ``readable``, ``ecg_check``; for a network
that votes with what the reader digitised, ``votes`` (the network's, the measurements' and the
signal CNN's probabilities) and ``measurement_drivers`` (what moved the verdict); and, with
``--cam``, the path of the
saliency overlay PNG written to ``OUT_DIR``. A file that cannot be read gives
``{"file": ..., "error": ...}`` and the others still run. Exit code: 0 when every file was
predicted, 1 when any failed, 2 when the model itself cannot be used.
"""
from __future__ import annotations

from pathlib import Path

from core.commands import for_each_image, output_path


def _predict_one(bundle, image: str, args, used: set[str]) -> dict:
    from core.use import analyse_image, explain_image, overlay, page_heat, risk_of

    result = analyse_image(bundle, image, name=image)
    d = result.diagnosis
    row = {"file": image, "predicted": d.predicted, "confidence": round(d.confidence, 4),
           "probabilities": {c: round(p, 4) for c, p in d.probabilities.items()},
           "status": d.status, "risk": risk_of(d)}
    if d.reasons:
        row["reasons"] = list(d.reasons)
    row["readable"] = result.reading.readable
    row["ecg_check"] = result.ecg_check.to_json()
    votes = result.vote_table()
    if votes is not None:
        row["votes"] = {part: {r["class"]: round(r["probability"], 4) for _, r in rows.iterrows()}
                        for part, rows in votes[votes["part"] != "combined"].groupby("part", sort=False)}
        if result.measured is not None:
            row["measurement_drivers"] = result.measured.drivers(d.predicted, 3).round(4).to_dict("records")
    if args.cam:
        saliency = explain_image(bundle, result, args.method)
        picture = overlay(result.view.image, page_heat(result, saliency), opacity=args.opacity,
                          cmap=args.cmap, box=result.view.box)
        path = output_path(Path(args.cam), image, "_cam.png", used)
        picture.save(path)
        row["cam"] = str(path)
        if saliency.note:
            row["cam_note"] = saliency.note
    return row


def _describe(row: dict) -> str:
    probs = ", ".join(f"{c} {p:.1%}" for c, p in row["probabilities"].items())
    cam = f"  cam: {row['cam']}" if "cam" in row else ""
    return (f"{row['file']}: {row['predicted']} ({row['confidence']:.1%}) {row['status']}"
            f"{', risk ' + row['risk'] if row['risk'] else ''}  [{probs}]{cam}")


def _cmd_predict(args) -> int:
    from core.bundles import load_bundle

    bundle = load_bundle(args.model)          # a bad model is a fatal user error (exit 2, via core.cli)
    if args.cam:
        Path(args.cam).mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    return for_each_image(args.images, lambda image: _predict_one(bundle, image, args, used), _describe,
                          as_json=args.json)


def register(sub) -> None:
    from core.use import COLORMAPS, METHODS

    p = sub.add_parser("predict", help="classify ECG images with a saved model bundle")
    p.add_argument("--model", required=True, help="bundle name in models/ or a bundle folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (png, jpg, bmp, webp, ...)")
    p.add_argument("--cam", metavar="OUT_DIR", help="write a saliency overlay PNG per image into OUT_DIR")
    p.add_argument("--method", choices=list(METHODS), default="gradcam", help="saliency method for --cam")
    p.add_argument("--cmap", choices=list(COLORMAPS), default="jet", help="colour map for --cam")
    p.add_argument("--opacity", type=float, default=0.45, help="overlay opacity for --cam (0-1)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(func=_cmd_predict)
