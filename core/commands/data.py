"""Data commands: ``synth`` writes synthetic ECG pages, ``scan`` indexes a dataset folder."""
from __future__ import annotations

from core.commands import print_json


def _cmd_synth(args) -> int:
    from core.synth import generate_dataset

    table = generate_dataset(args.out, per_class=args.per_class, seed=args.seed)
    counts = table["class"].value_counts().to_dict()
    print(f"wrote {len(table)} pages to {args.out}: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    return 0


def _cmd_scan(args) -> int:
    from core.data import duplicate_groups, duplicate_report, scan

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
        "near_duplicates": report.groups_with_near_copies,
        "label_conflicts": report.conflicts.to_dict("records"),
        "split_leakage": report.leakage.to_dict("records"),
    }
    if args.json:
        print_json(summary)
        return 0
    print(f"{summary['n_images']} images in {len(summary['classes'])} classes under {summary['root']}")
    for split, per_class in counts.items():
        print(f"  {split}: " + ", ".join(f"{c} {n}" for c, n in per_class.items()))
    print(f"{len(report.exact_groups)} exact-duplicate groups, "
          f"{len(report.groups_with_near_copies)} groups with near-identical copies")
    for row in summary["skipped"]:
        print(f"  skipped {row['path']}: {row['reason']}")
    return 0



def register(sub) -> None:
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
