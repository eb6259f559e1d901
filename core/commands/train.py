"""Model commands: ``train`` fits and saves a bundle, ``models`` lists bundles."""
from __future__ import annotations

import sys
from pathlib import Path

from core.commands import print_json


def _train_config(args):
    from core.ecg import Preprocessing
    from core.learn import PRESETS, TrainConfig, default_preprocessing, with_overrides

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
    from core.data import (
        SYNTHETIC,
        prepare_dataset,
        resolve_data_argument,
        synthetic_source,
    )
    from core.learn import load_starter, save_outcome, train

    config = _train_config(args)
    # As on the Train page: the Live demo on the built-in set starts from the inputs shipped with the app.
    data = None
    if args.data == SYNTHETIC and args.preset == "live-demo":
        data = load_starter(synthetic_source(generate=False), config.preprocessing, seed=config.seed)
    if data is None:
        data = prepare_dataset(resolve_data_argument(args.data), seed=config.seed)
    source = data.source

    def listener(event: dict) -> None:
        if event["event"] == "epoch":
            if args.json:
                print_json(event)
            else:
                print(f"epoch {event['epoch']:>3}/{config.epochs}  loss {event['loss']:.4f}  "
                      f"acc {event['accuracy']:.3f}  val_loss {event.get('val_loss', float('nan')):.4f}  "
                      f"val_acc {event.get('val_accuracy', float('nan')):.3f}  {event['seconds']:.1f}s",
                      flush=True)
        elif event["event"] in ("status", "warning") and not args.json:
            print(event["message"], file=sys.stderr, flush=True)

    outcome = train(data.index, config, listener=listener)
    path = save_outcome(outcome, args.out, overwrite=args.overwrite,
                        dataset_info={"name": source.label, "path": source.path, "kind": source.kind})
    final = {"event": "done", "bundle": str(path), "seconds": round(outcome.seconds, 2),
             **outcome.metrics}
    if args.json:
        print_json(final)
    else:
        print(f"saved {path}: test accuracy {final.get('test_accuracy', float('nan')):.3f}, "
              f"macro-F1 {final.get('test_macro_f1', float('nan')):.3f} ({outcome.seconds:.0f} s)")
    return 0


def _cmd_models(args) -> int:
    from core.bundles import list_bundles

    table = list_bundles(Path(args.root) if args.root else None)
    if args.json:
        print_json(table.to_dict("records"))
    elif table.empty:
        print("no model bundles yet: train one with `python -m core train ...`")
    else:
        print(table.to_string(index=False))
    return 0



def register(sub) -> None:
    from core.ecg import COLOR_MODES, CROPS
    from core.learn import ARCHITECTURES

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
