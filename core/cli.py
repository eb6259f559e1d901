"""``python -m core``: the lab's command line.

Every sub-command is a thin wrapper over the same core functions the pages use. Expected
failures (bad files, bad folders, bad models) print one clear ``error:`` line and exit with 2;
they never print a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_USAGE = 2


def _print_json(obj) -> None:
    print(json.dumps(obj, default=str), flush=True)


def _cmd_synth(args) -> int:
    from core.synth import generate_dataset

    table = generate_dataset(args.out, per_class=args.per_class, seed=args.seed)
    counts = table["class"].value_counts().to_dict()
    print(f"wrote {len(table)} pages to {args.out}: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    return 0


def _cmd_scan(args) -> int:
    from core.dataset import scan
    from core.duplicates import duplicate_groups, duplicate_report

    result = scan(args.folder, use_cache=not args.no_cache)
    report = duplicate_report(duplicate_groups(result.index))
    counts: dict[str, dict[str, int]] = {}
    for (split, cls), n in result.index.groupby(["given_split", "class"]).size().items():
        counts.setdefault(split or "all", {})[cls] = int(n)
    summary = {
        "root": str(result.root),
        "classes": result.classes,
        "n_images": int(len(result.index)),
        "counts": counts,
        "skipped": result.skipped[["path", "reason"]].to_dict("records"),
        "exact_duplicates": report.exact_groups,
        "near_duplicates": report.near_groups,
        "label_conflicts": report.label_conflicts.to_dict("records"),
        "split_leakage": report.split_leakage.to_dict("records"),
    }
    if args.json:
        _print_json(summary)
        return 0
    print(f"{summary['n_images']} images in {len(summary['classes'])} classes under {summary['root']}")
    for split, per_class in counts.items():
        print(f"  {split}: " + ", ".join(f"{c} {n}" for c, n in per_class.items()))
    print(f"{len(report.exact_groups)} exact-duplicate groups, {len(report.near_groups)} near-duplicate groups")
    for row in summary["skipped"]:
        print(f"  skipped {row['path']}: {row['reason']}")
    return 0


def _train_config(args):
    from core.preprocess import Preprocessing
    from core.training import PRESETS, TrainConfig, default_preprocessing, with_overrides

    if args.preset:
        config = PRESETS[args.preset]
    else:
        arch = args.arch or "compact"
        config = TrainConfig(arch=arch, preprocessing=default_preprocessing(arch))
    if args.arch and args.arch != config.arch:
        config = with_overrides(config, arch=args.arch, preprocessing=default_preprocessing(args.arch))
    spec = config.preprocessing
    if args.img_size:
        height, width = _parse_size(args.img_size, spec)
        spec = Preprocessing.from_dict({**spec.to_dict(), "height": height, "width": width})
    if args.color_mode:
        spec = Preprocessing.from_dict({**spec.to_dict(), "color_mode": args.color_mode})
    if args.crop:
        spec = Preprocessing.from_dict({**spec.to_dict(), "crop": args.crop})
    return with_overrides(config, preprocessing=spec, epochs=args.epochs, seed=args.seed,
                          batch_size=args.batch_size, learning_rate=args.learning_rate,
                          augment=args.augment, weights_path=args.weights)


def _parse_size(text: str, spec) -> tuple[int, int]:
    """``HxW`` or a single height ``S`` (width keeps the preset's aspect ratio)."""
    if "x" in text.lower():
        height, width = (int(v) for v in text.lower().split("x"))
        return height, width
    height = int(text)
    return height, int(round(height * spec.width / spec.height))


def _cmd_train(args) -> int:
    from core.sources import prepare_dataset, resolve_data_argument
    from core.training import save_outcome, train

    config = _train_config(args)
    source = resolve_data_argument(args.data)
    data = prepare_dataset(source, seed=config.seed)

    def listener(event: dict) -> None:
        if event["event"] == "epoch":
            if args.json:
                _print_json(event)
            else:
                print(f"epoch {event['epoch']:>3}/{config.epochs}  loss {event['loss']:.4f}  "
                      f"acc {event['accuracy']:.3f}  val_loss {event.get('val_loss', float('nan')):.4f}  "
                      f"val_acc {event.get('val_accuracy', float('nan')):.3f}  {event['seconds']:.1f}s",
                      flush=True)
        elif event["event"] in ("status", "warning") and not args.json:
            print(event["message"], file=sys.stderr, flush=True)

    outcome = train(data.index, config, listener=listener)
    path = save_outcome(outcome, args.out, overwrite=args.overwrite,
                        dataset_info={"name": source.label, "path": source.path})
    final = {"event": "done", "bundle": str(path), "seconds": round(outcome.seconds, 2),
             **outcome.metrics}
    if args.json:
        _print_json(final)
    else:
        print(f"saved {path}: test accuracy {final.get('test_accuracy', float('nan')):.3f}, "
              f"macro-F1 {final.get('test_macro_f1', float('nan')):.3f} ({outcome.seconds:.0f} s)")
    return 0


def _cmd_models(args) -> int:
    from core.bundles import list_bundles

    table = list_bundles(Path(args.root) if args.root else None)
    if args.json:
        _print_json(table.to_dict("records"))
    elif table.empty:
        print("no model bundles yet: train one with `python -m core train ...`")
    else:
        print(table.to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from core.models import ARCHITECTURES
    from core.preprocess import COLOR_MODES, CROPS

    parser = argparse.ArgumentParser(prog="python -m core", description="ECG Image Lab command line")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate synthetic ECG report pages")
    p.add_argument("--out", required=True, help="output folder (one sub-folder per class)")
    p.add_argument("--per-class", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("scan", help="index a dataset folder: classes, counts, duplicates, skipped files")
    p.add_argument("folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-cache", action="store_true", help="re-read every file")
    p.set_defaults(func=_cmd_scan)

    p = sub.add_parser("train", help="train a model and save it as a bundle")
    p.add_argument("--data", required=True, help="dataset folder, or 'synthetic' for the built-in set")
    p.add_argument("--preset", choices=["live-demo", "original-notebook"])
    p.add_argument("--arch", choices=list(ARCHITECTURES))
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--img-size", help="network input: HEIGHTxWIDTH, or a height")
    p.add_argument("--color-mode", choices=COLOR_MODES)
    p.add_argument("--crop", choices=CROPS)
    p.add_argument("--augment", type=float, help="augmentation strength, 0 = off")
    p.add_argument("--weights", help="local ImageNet weights file for transfer models")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", required=True, help="bundle folder, e.g. models/my-model")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON line per epoch and a final line")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("models", help="list saved model bundles")
    p.add_argument("--root", help="bundle folder (default models/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; expected errors become one ``error:`` line and exit code 2."""
    from core.errors import USER_ERRORS

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: nothing was saved", file=sys.stderr)
        return 130
