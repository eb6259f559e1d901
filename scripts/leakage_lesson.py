"""The leakage lesson on a real dataset: the same model and settings trained twice, once on the
duplicate-safe split and once on a random split of the raw files; both runs go to the run history.

    python scripts/leakage_lesson.py [/path/to/dataset] [--epochs 10] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data import folder_source, leaked_groups, prepare_dataset, split_dataset  # noqa: E402
from core.learn import TrainingJob  # noqa: E402
from core.learn import PRESETS, with_overrides  # noqa: E402
from core.paths import SHARED_MENDELEY_DIR  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(SHARED_MENDELEY_DIR))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = prepare_dataset(folder_source(args.data), seed=args.seed)
    config = with_overrides(PRESETS["live-demo"], epochs=args.epochs, seed=args.seed)
    for method in ("duplicate-safe", "random"):
        index = data.index if method == "duplicate-safe" else split_dataset(
            data.index.drop(columns=["split", "leaks"]), seed=args.seed, method="random")
        info = {"name": data.source.label, "path": data.source.path, "split_method": method}
        job = TrainingJob(index, config, bundle_name=f"leakage-{method}", dataset_info=info, overwrite=True)
        job.start().join()
        metrics = job.outcome.metrics if job.outcome else {}
        print(f"{method}: status={job.state.status} error={job.state.error!r} "
              f"leaked_groups={len(leaked_groups(index))} test_accuracy={metrics.get('test_accuracy')} "
              f"test_macro_f1={metrics.get('test_macro_f1')} test_images={metrics.get('test_images')} "
              f"seconds={job.outcome.seconds if job.outcome else None}", flush=True)


if __name__ == "__main__":
    main()
