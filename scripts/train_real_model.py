"""Reproduce the shipped real-page model ``models/mendeley-leadnet`` from the shared Mendeley pages.

    python scripts/train_real_model.py cv [--pretrained]    # duplicate-safe 5-fold CV, prints macro-F1
    python scripts/train_real_model.py pretrain             # synthetic domain pre-training weights
    python scripts/train_real_model.py ship [--pretrained]  # final model, held-out scores, bundle, card

``cv`` prints macro-F1 over the four ECG classes and per-class recall with 95 % bootstrap intervals
(pages resampled) for the development pages; ``ship`` trains on all development pages, scores the
held-out pages once, measures Non-ECG rejection and ECG false rejection on generated images of a
seed never trained on, saves the bundle, makes it the Predict default and writes MODEL_CARD.md.
The held-out 20 % of duplicate groups (seed 2026) is fixed before any tuning and never trained on.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.classes import ECG_CLASSES, NON_ECG  # noqa: E402
from core.crossval import (cross_validate, distinct_pages, format_summary, holdout_split,  # noqa: E402
                           summarise, training_index)
from core.dataset import scan  # noqa: E402
from core.paths import SHARED_MENDELEY_DIR, cache_dir  # noqa: E402
from core.preprocess import Preprocessing  # noqa: E402
from core.sources import folder_source, prepare_dataset  # noqa: E402
from core.synth import generate_dataset  # noqa: E402
from core.training import TrainConfig, train, with_overrides  # noqa: E402

BUNDLE = "mendeley-leadnet"
HOLDOUT_FRACTION, HOLDOUT_SEED = 0.2, 2026
SYNTH_TRAIN_SEED, SYNTH_TEST_SEED = 11, 99       # generated images: training vs. held-out rates
EXTRA_NON_ECG, EXTRA_ECG_PER_CLASS = 60, 10       # generated images added to every training run
POOL_PER_CLASS, PRETRAIN_PER_CLASS, PRETRAIN_EPOCHS = 250, 150, 6
RECIPE = TrainConfig(arch="leadnet", epochs=15, batch_size=16, learning_rate=2e-3,
                     preprocessing=Preprocessing(320, 512, "ink", "grid"), augment=0.7,
                     class_weights=True, patience=0, seed=0)
WORK = cache_dir() / "leadnet"
PRETRAINED_WEIGHTS = WORK / "synthetic-pretrained.weights.h5"


def log(event: dict) -> None:
    """Print the events worth seeing in a terminal."""
    if event["event"] in ("fold", "status"):
        print(event.get("message") or f"fold {event['fold']}/{event['folds']}", flush=True)
    elif event["event"] == "epoch":
        print(f"  epoch {event['epoch']}: loss {event['loss']:.3f} val_loss {event.get('val_loss', float('nan')):.3f} "
              f"({event['seconds']:.0f} s)", flush=True)


def real_pages() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(development, holdout) distinct Mendeley pages, split by duplicate group."""
    index = prepare_dataset(folder_source(SHARED_MENDELEY_DIR)).index
    return holdout_split(distinct_pages(index), fraction=HOLDOUT_FRACTION, seed=HOLDOUT_SEED)


def synthetic(seed: int, per_class: int) -> pd.DataFrame:
    """Generated ECG pages and Non-ECG images (cached), scanned, with the generator's ``photo`` flag."""
    root = WORK / f"synth-s{seed}-n{per_class}"
    if not (root / "findings.csv").exists():
        generate_dataset(root, per_class=per_class, seed=seed)
    findings = pd.read_csv(root / "findings.csv")[["path", "photo"]].rename(columns={"path": "relpath"})
    return scan(root).index.merge(findings, on="relpath").sort_values("relpath").reset_index(drop=True)


def extras() -> pd.DataFrame:
    """What every training run adds to the real pages: Non-ECG images and a few generated ECG
    pages of other layouts, colours and photo effects (so the guard does not reject them)."""
    return _per_class(synthetic(SYNTH_TRAIN_SEED, POOL_PER_CLASS),
                      {NON_ECG: EXTRA_NON_ECG, **{c: EXTRA_ECG_PER_CLASS for c in ECG_CLASSES}})


def _per_class(pool: pd.DataFrame, take: dict[str, int]) -> pd.DataFrame:
    return pd.concat([pool[pool["class"] == c].head(n) for c, n in take.items()], ignore_index=True)


def recipe(pretrained: bool) -> TrainConfig:
    return with_overrides(RECIPE, init_weights=str(PRETRAINED_WEIGHTS) if pretrained else None)


def run_name(pretrained: bool) -> str:
    return "pretrained" if pretrained else "scratch"


def cmd_cv(args) -> None:
    dev, _ = real_pages()
    predictions = cross_validate(dev, recipe(args.pretrained), extras=extras(), listener=log)
    WORK.mkdir(parents=True, exist_ok=True)
    predictions.to_csv(WORK / f"cv-{run_name(args.pretrained)}.csv", index=False)
    summary = summarise(predictions)
    (WORK / f"cv-{run_name(args.pretrained)}.json").write_text(json.dumps(summary, indent=1))
    print(format_summary(summary, f"5-fold duplicate-safe CV ({run_name(args.pretrained)})"))


def cmd_pretrain(args) -> None:
    pages = _per_class(synthetic(SYNTH_TRAIN_SEED, POOL_PER_CLASS),
                       {c: PRETRAIN_PER_CLASS for c in (*ECG_CLASSES, NON_ECG)})
    outcome = train(training_index(pages, val_fraction=0.1), with_overrides(RECIPE, epochs=PRETRAIN_EPOCHS),
                    listener=log)
    outcome.model.save_weights(PRETRAINED_WEIGHTS)
    print(f"pre-trained on {len(pages)} generated images; weights in {PRETRAINED_WEIGHTS}")


def _rate(predicted: pd.Series, target_is_non_ecg: bool) -> dict:
    hits = (predicted == NON_ECG) if target_is_non_ecg else (predicted != NON_ECG)
    return {"rate": round(float(1 - hits.mean()) if not target_is_non_ecg else float(hits.mean()), 3),
            "images": int(len(predicted))}


def guard_rates(model, outcome_classes, temperature: float, holdout_predicted: pd.Series) -> dict:
    """Non-ECG rejection on held-out generated Non-ECG images; ECG false rejection (predicted
    Non-ECG) on real held-out pages and on held-out generated ECG pages, all and photo-style."""
    from core.inference import predict_arrays
    from core.pipeline import prepare_images

    test = synthetic(SYNTH_TEST_SEED, 40)
    prepared = prepare_images(test["path"].tolist(), RECIPE.preprocessing, hashes=test["sha1"])
    probs = predict_arrays(model, prepared.images, temperature=temperature)
    rows = test.iloc[prepared.kept].assign(predicted=[outcome_classes[i] for i in probs.argmax(1)])
    ecg = rows[rows["class"] != NON_ECG]
    return {
        "non_ecg_rejection": _rate(rows.loc[rows["class"] == NON_ECG, "predicted"], True),
        "ecg_false_rejection_real_holdout": _rate(holdout_predicted, False),
        "ecg_false_rejection_generated": _rate(ecg["predicted"], False),
        "ecg_false_rejection_generated_photos": _rate(ecg.loc[ecg["photo"], "predicted"], False),
    }


def calibration(model, holdout: pd.DataFrame, classes: list[str], temperature: float) -> dict:
    """ECE of the held-out pages before and after temperature scaling."""
    from core.calibration import apply_temperature, expected_calibration_error
    from core.inference import predict_arrays
    from core.pipeline import prepare_images

    prepared = prepare_images(holdout["path"].tolist(), RECIPE.preprocessing, hashes=holdout["sha1"])
    raw = predict_arrays(model, prepared.images)
    labels = holdout.iloc[prepared.kept]["class"].map(classes.index).to_numpy()
    return {"temperature": round(temperature, 3),
            "ece_before": round(expected_calibration_error(raw, labels), 3),
            "ece_after": round(expected_calibration_error(apply_temperature(raw, temperature), labels), 3)}


def cmd_ship(args) -> None:
    from core.bundles import save_bundle, set_default
    from core.training import outcome_metadata

    dev, holdout = real_pages()
    outcome = train(training_index(dev, test=holdout, extras=extras(), seed=HOLDOUT_SEED), recipe(args.pretrained),
                    listener=log)
    held = summarise(outcome.test_predictions)
    cv = {name: json.loads((WORK / f"cv-{name}.json").read_text())
          for name in ("scratch", "pretrained") if (WORK / f"cv-{name}.json").exists()}
    report = {
        "recipe": run_name(args.pretrained),
        "holdout": {**held, "sha1": sorted(holdout["sha1"]), "fraction": HOLDOUT_FRACTION, "seed": HOLDOUT_SEED},
        "cross_validation": cv,
        "calibration_holdout": calibration(outcome.model, holdout, outcome.classes, outcome.temperature),
        "guard": guard_rates(outcome.model, outcome.classes, outcome.temperature,
                             outcome.test_predictions["predicted"]),
    }
    metadata = outcome_metadata(outcome, dataset_info={"source": "Mendeley ECG Images dataset of Cardiac Patients "
                                                                 "(doi:10.17632/gwbz3fsgp8.2, CC BY 4.0)"})
    path = save_bundle(outcome.model, {**metadata, "evaluation": report, "default": True}, BUNDLE, overwrite=True)
    set_default(BUNDLE)
    outcome.test_predictions.to_csv(WORK / "holdout-predictions.csv", index=False)
    print(format_summary(held, "held-out pages"))
    print(json.dumps({k: report[k] for k in ("calibration_holdout", "guard")}, indent=1))
    print(f"saved {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("cv", cmd_cv), ("pretrain", cmd_pretrain), ("ship", cmd_ship)):
        command = sub.add_parser(name)
        command.set_defaults(func=func)
        if name != "pretrain":
            command.add_argument("--pretrained", action="store_true",
                                 help="fine-tune from the synthetic pre-training weights")
    args = parser.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
