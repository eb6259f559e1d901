"""Models in and out: ``import`` a Keras file as a bundle, ``export`` a bundle for deployment, and
``tune`` hyper-parameters by duplicate-safe cross-validation."""
from __future__ import annotations

import sys
from pathlib import Path

from core.commands import print_json


def _cmd_export(args) -> int:
    from core.use import export_bundle, zip_folder

    result = export_bundle(args.model, args.format, args.out, quantize=args.quantize,
                           image_paths=args.image or None, tolerance=args.tolerance)
    archive = Path(args.out) / f"{result.folder.name}.zip"
    archive.write_bytes(zip_folder(result.folder))
    summary = {**result.to_dict(), "zip": str(archive)}
    if args.json:
        print_json(summary)
    else:
        print(f"exported {args.model} as {args.format} to {result.folder} (zip: {archive})")
        if result.max_abs_diff is not None:
            print(f"TFLite vs Keras on {result.check_images} images: max |Δp| = {result.max_abs_diff:.2e} "
                  f"(tolerance {result.tolerance:g})")
    return 0


def _cmd_import(args) -> int:
    from core.learn import import_model

    path = import_model(args.file, args.classes, name=args.name, input_scale=args.input_scale,
                        overwrite=args.overwrite)
    print(f"imported {args.file} as {path}")
    return 0


def _cmd_tune(args) -> int:
    from core.data import prepare_dataset, resolve_data_argument
    from core.learn import TrainConfig, default_preprocessing, tune

    data = prepare_dataset(resolve_data_argument(args.data), seed=args.seed)
    base = TrainConfig(arch="compact", preprocessing=default_preprocessing("compact"), seed=args.seed)

    def listener(event: dict) -> None:
        if event["event"] == "trial":
            if args.json:
                print_json(event)
            else:
                print(f"trial {event['trial']:>3} {event['state']:<8} macro-F1 {event['macro_f1']:.3f}  "
                      f"lr {event['learning_rate']:.2e}  {event['height']}x{event['width']}  "
                      f"augment {event['augment']}  width {event['model_width']}  {event['seconds']:.0f}s",
                      file=sys.stderr if args.json else sys.stdout, flush=True)

    result = tune(data.index, base, budget_seconds=args.budget, folds=args.folds, epochs=args.epochs,
                  seed=args.seed, listener=listener)
    if args.json:
        print_json({"event": "done", "seconds": round(result.seconds, 1),
                    "best": result.best.to_dict() if result.best else None,
                    "trials": result.table.astype(object).where(result.table.notna(), None).to_dict("records"),
                    "notes": result.notes})
    else:
        print(result.table.to_string(index=False))
        for note in result.notes:
            print(note, file=sys.stderr)
    return 0


def _input_scale(text: str) -> int:
    if text not in ("255", "1"):
        import argparse

        raise argparse.ArgumentTypeError("use 255 (the model expects pixels/255) or 1 (raw 0-255 pixels)")
    return int(text)


def register(sub) -> None:
    from core.use import FORMATS

    p = sub.add_parser("export", help="export a model bundle (.keras, .h5, SavedModel, TFLite) with a JSON of "
                                      "class names and preprocessing")
    p.add_argument("--model", required=True, help="bundle name or folder, e.g. models/my-model")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--quantize", action="store_true", help="TFLite only: dynamic-range int8 weights")
    p.add_argument("--out", required=True, help="folder for the export and its zip")
    p.add_argument("--image", action="append", help="image for the TFLite check (repeatable; default: "
                                                    "the bundled examples)")
    p.add_argument("--tolerance", type=float, help="max allowed TFLite vs Keras probability difference")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("import", help="import a Keras .h5/.keras model (e.g. the original notebooks') as a bundle")
    p.add_argument("file", help="model file (.h5, .hdf5 or .keras)")
    p.add_argument("--classes", required=True, help='class names in output order, e.g. "A,B,C"')
    p.add_argument("--name", help="bundle name (default: the file name)")
    p.add_argument("--input-scale", type=_input_scale,
                   help="255 if the model expects pixels/255 (the notebooks), 1 for raw pixels "
                        "(default: 1 when the model starts with a Rescaling layer, else 255)")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("tune", help="search learning rate, image size, augmentation and width by "
                                    "duplicate-safe cross-validation")
    p.add_argument("--data", required=True, help="dataset folder, or 'synthetic' for the built-in set")
    p.add_argument("--budget", type=float, required=True, help="time budget in seconds")
    p.add_argument("--folds", type=int, default=2, help="cross-validation folds (2-5)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per fold")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON line per trial and a final line")
    p.set_defaults(func=_cmd_tune)
