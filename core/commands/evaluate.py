"""``evaluate``: score a saved model on a dataset's test split, a whole folder or a zip."""
from __future__ import annotations

import sys
from pathlib import Path

from core.commands import print_json


def _bundle_path(value: str) -> Path:
    """``--model`` as given (a name or a path), or by its name in the models folder; the bundle
    loader then gives the one clear message when it is missing or broken."""
    from core.bundles import validate_name
    from core.paths import models_dir

    given = Path(value).expanduser()
    if "/" not in value:
        return models_dir() / validate_name(value)
    if given.is_dir():
        return given
    by_name = models_dir() / given.name
    return by_name if by_name.is_dir() else given


def _source(value: str):
    """``--data``: ``synthetic``, a dataset folder, or a ``.zip`` of class folders."""
    from core.data import resolve_data_argument, zip_source

    path = Path(value).expanduser()
    if value.lower().endswith(".zip") and path.is_file():
        return zip_source(path.read_bytes(), path.name)
    return resolve_data_argument(value)


def _cmd_evaluate(args) -> int:
    from core.bundles import load_bundle, read_metadata
    from core.data import prepare_dataset
    from core.evaluate import default_split, evaluate_bundle, evaluation_index, summary
    from core.evaluate.evaluation import is_fused, pages_to_read
    from core.learn import READ_SECONDS_PER_PAGE

    bundle_path = _bundle_path(args.model)
    metadata = read_metadata(bundle_path)        # a missing model fails before TensorFlow loads
    source = _source(args.data)
    seed = args.seed if args.seed is not None else int(metadata.split.get("seed", 0) or 0)
    data = prepare_dataset(source, seed=seed)
    split = args.split or default_split(data.index, metadata.dataset.get("fingerprint") or [])
    index = evaluation_index(data.index, split)
    if not args.json:
        which = f"test split, seed {seed}" if split == "test" else "all images"
        print(f"evaluating {metadata.name or bundle_path.name} on {len(index)} images ({which}) of "
              f"{source.label}", file=sys.stderr, flush=True)
        unread = pages_to_read(metadata, index) if not args.network_only else 0
        if unread:
            print(f"reading the ECG on {unread} pages not read yet (about {unread * READ_SECONDS_PER_PAGE / 60:.0f} min once; "
                  "--network-only skips the votes that need it)", file=sys.stderr, flush=True)
    bundle = load_bundle(bundle_path)
    votes = is_fused(metadata) and not args.network_only
    result = evaluate_bundle(bundle, index, reference=data.index, skipped=data.skipped, votes=votes)
    report = {"model": str(bundle.path), "data": source.path, "split": split, "seed": seed,
              **({"votes": votes} if is_fused(metadata) else {}), **summary(result)}
    if args.json:
        print_json(report)
    else:
        _print_report(report)
    return 0


def _print_report(report: dict) -> None:
    def fmt(value) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    print(f"{report['n_images']} images: accuracy {fmt(report['accuracy'])}, macro-F1 "
          f"{fmt(report['macro_f1'])}, ECE {fmt(report['ece'])} "
          f"(before temperature scaling {fmt(report['ece_uncalibrated'])})")
    width = max([len(c) for c in report["per_class"]] + [5])
    print(f"{'class':<{width}}  precision  recall     f1  support")
    for name, row in report["per_class"].items():
        print(f"{name:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  {row['f1']:5.3f}  "
              f"{row['support']:7d}")
    print("confusion matrix (rows: true, columns: predicted):")
    labels = report["labels"]
    short = [label[:12] for label in labels]
    print(" " * (width + 2) + "  ".join(f"{s:>12}" for s in short))
    for label, row in zip(labels, report["confusion_matrix"]):
        print(f"{label:<{width}}  " + "  ".join(f"{v:>12d}" for v in row))
    if report["leakage"]:
        print(f"warning: {report['leakage']} of these images were in the model's training set; "
              "the scores above are inflated")
    for name, count in report["unknown_classes"].items():
        print(f"note: {count} images of class {name!r} left out: the model does not know this class")
    for row in report["skipped"]:
        print(f"skipped {row['path']}: {row['reason']}")


def register(sub) -> None:
    from core.evaluate import SPLITS

    p = sub.add_parser("evaluate", help="score a model bundle on labelled images")
    p.add_argument("--model", required=True, help="bundle name or folder, e.g. models/live-demo")
    p.add_argument("--data", required=True,
                   help="dataset folder, a .zip of class folders, or 'synthetic' for the built-in set")
    p.add_argument("--split", choices=SPLITS,
                   help="'test': the duplicate-safe test split made with the model's split seed; "
                        "'all': every image (a dataset the model never saw). Default: 'test' when the "
                        "model was trained on this dataset, else 'all'")
    p.add_argument("--seed", type=int, help="split seed (default: the one the model was trained with)")
    p.add_argument("--network-only", action="store_true",
                   help="for a network that votes with what is read from each page (measurements, a signal "
                        "CNN): score the network alone, without reading the pages")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_evaluate)
