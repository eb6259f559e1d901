"""The one training function behind the Train page, the CLI and the benchmark.

:func:`train` reports what happens to a listener (a plain callable taking event dicts) and
checks a ``threading.Event`` after every batch, so a caller can show live curves and stop a run
without the engine knowing anything about Streamlit or terminals.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.classes import order_classes
from core.ecg import Preprocessing
from core.learn.calibration import apply_temperature, expected_calibration_error, fit_temperature
from core.learn.pipeline import make_augmenter, make_dataset, prepare_images

if TYPE_CHECKING:
    from core.learn.signal_training import SignalRecipe

Listener = Callable[[dict], None]


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the bundle as its hyper-parameters)."""

    arch: str = "compact"
    epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 3e-3
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    augment: float = 0.5
    class_weights: bool = True
    width: float = 1.0
    patience: int = 6          # early stopping on val_loss; 0 switches it off
    schedule: str = "plateau"  # learning rate: "plateau" halves it when val_loss stalls; "cosine" decays
                               # it to 0 over the run (a short run then ends on a settled model)
    pretrained: bool = True    # transfer models: start from local ImageNet weights
    fine_tune_layers: int = 0  # transfer models: top base layers unfrozen after the frozen stage
    fine_tune_epochs: int = 0
    weights_path: str | None = None
    init_weights: str | None = None  # ``.weights.h5`` of the same model (e.g. synthetic pre-training)
    seed: int = 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["preprocessing"] = self.preprocessing.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        data = dict(data)
        data["preprocessing"] = Preprocessing.from_dict(data.get("preprocessing", {}))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


PRESETS: dict[str, TrainConfig] = {
    # What an instructor runs in front of a class, on the built-in pages, whose inputs ship in the starter
    # pack (core/learn/starter.py). 128×128 with a cosine decay: half the FLOPs of 128×256. Test accuracy,
    # split seed 0, training seeds 0/1/2: 14 epochs 0.973/0.956/0.964; 12 epochs 0.947/0.960/0.951;
    # 10 epochs 0.969/0.916/0.911; 12 epochs with augmentation 0.3 0.893/0.938.
    "live-demo": TrainConfig(arch="compact", epochs=14, batch_size=16, learning_rate=3e-3,
                             preprocessing=Preprocessing(height=128, width=128), augment=0.0,
                             patience=0, schedule="cosine"),
    # The original notebooks' recipe, kept for comparison.
    "original-notebook": TrainConfig(arch="seed_cnn", epochs=10, batch_size=32, learning_rate=1e-3,
                                     preprocessing=Preprocessing(224, 224, "rgb", "none", "stretch"),
                                     augment=0.0, class_weights=False, patience=0),
}


def default_preprocessing(arch: str) -> Preprocessing:
    """Sensible inputs per architecture: grayscale-ink grid crops for the lead-grid CNNs (sizes they
    accept), RGB squares for the ImageNet bases and the original CNN."""
    if arch == "compact":
        return Preprocessing()
    if arch == "leadnet":
        return Preprocessing(320, 512)   # the shipped real-page recipes' sizes (scripts/train_real_model.py)
    if arch == "leadnet_hr":
        return Preprocessing(448, 768)
    if arch == "seed_cnn":
        return Preprocessing(224, 224, "rgb", "none")
    return Preprocessing(224, 224, "rgb", "grid")


@dataclass
class TrainOutcome:
    """A finished (or stopped) run: the model with its best weights and everything to save."""

    model: object
    classes: list[str]
    config: TrainConfig | SignalRecipe
    history: dict[str, list[float]]
    metrics: dict[str, float]
    temperature: float
    stopped: bool
    seconds: float
    fingerprint: list[str]
    split_counts: dict[str, dict[str, int]]
    test_predictions: pd.DataFrame


def class_weight_map(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    """Weights inversely proportional to class frequency (mean weight 1 over the samples)."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}


def _prepare_split(index: pd.DataFrame, spec: Preprocessing, classes: list[str], listener: Listener):
    def progress(done: int, total: int) -> None:
        listener({"event": "prepare", "done": done, "total": total})

    listener({"event": "status", "message": f"Preparing {len(index)} images ({spec.key()})"})
    prepared = prepare_images(index["path"].tolist(), spec, hashes=index.get("sha1"), progress=progress)
    for path, message in prepared.errors.items():
        listener({"event": "warning", "message": message, "path": path})
    kept = index.iloc[prepared.kept].reset_index(drop=True)
    labels = kept["class"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return kept, prepared.images, labels


def _fit(model, data: dict, config: TrainConfig, *, epochs: int, learning_rate: float, augment: float,
         n_classes: int, listener: Listener, stop: threading.Event, first_epoch: int = 0):
    """Compile and fit ``model`` on ``data`` (``x_train``/``y_train``/``x_val``/``y_val`` arrays) with
    progress events, LR reduction, optional early stopping and best-weights restore."""
    import keras

    from core.learn.callbacks import ProgressCallback

    has_val = len(data["x_val"]) > 0
    monitor = "val_loss" if has_val else "loss"
    batches = math.ceil(len(data["x_train"]) / config.batch_size)
    progress = ProgressCallback(listener, stop, batches, monitor)
    if config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * batches)
        callbacks = [progress]
    else:
        rate = learning_rate
        callbacks = [progress, keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                                                 patience=max(2, config.patience // 2),
                                                                 min_lr=1e-5)]
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="categorical_crossentropy", metrics=["accuracy"])
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience))
    weights = class_weight_map(data["y_train"], n_classes) if config.class_weights else None
    train_ds = make_dataset(data["x_train"], data["y_train"], n_classes, batch_size=config.batch_size,
                            shuffle=True, seed=config.seed, augment=make_augmenter(augment, config.seed),
                            class_weights=weights)
    val_ds = make_dataset(data["x_val"], data["y_val"], n_classes, batch_size=64) if has_val else None
    # shuffle=False: the tf.data pipeline already reshuffles every epoch.
    with dropping_all_reduce_gradients():
        history = model.fit(train_ds, validation_data=val_ds, initial_epoch=first_epoch, shuffle=False,
                            epochs=first_epoch + epochs, callbacks=callbacks, verbose=0)
    if progress.best_weights is not None:
        model.set_weights(progress.best_weights)
    return history.history, progress.stopped


# Works around a TensorFlow leak (tensorflow/tensorflow#97697 and #80895; tf-keras PR #898 does the
# same in clear_session): Keras's TF optimizer sums the gradients with tf.distribute's
# ``ReplicaContext.all_reduce``, which wraps them in ``@tf.custom_gradient``. Each time a train step
# is traced (at least once per new model; twice in a short run here) that registers a closure under
# a fresh ``CustomGradient-<n>`` name in TF's process-wide gradient registry and never removes it;
# the closure holds the step's tensors and through them its whole FuncGraph, about 9 MB. A server
# grew ~19 MB per training run, however the model was dropped (``keras.backend.clear_session()``
# does not help). Nothing ever differentiates through the optimizer's all-reduce, so once ``fit``
# has traced its step those entries are dead weight: drop the ones it added. Only entries whose
# gradient function is that all-reduce's are touched (another session may be tracing gradients of
# its own meanwhile); should TF change these internals nothing matches and the leak is merely
# back, which tests/learn/test_memory.py catches.
@contextmanager
def dropping_all_reduce_gradients() -> Iterator[None]:
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
    except (ImportError, AttributeError):
        registry = None
    before = set(registry) if isinstance(registry, dict) else set()
    try:
        yield
    finally:
        if isinstance(registry, dict):
            for name in [n for n in list(registry) if n not in before and n.startswith("CustomGradient-")]:
                if _is_all_reduce_gradient(registry.get(name)):
                    registry.pop(name, None)


def _is_all_reduce_gradient(entry) -> bool:
    """Whether a gradient-registry entry is tf.distribute's all-reduce wrapper: the registered
    function's ``tape_grad_fn`` calls a ``grad_fn`` defined in ``ReplicaContextBase.all_reduce``."""
    def free_variables(function) -> dict:
        cells = function.__closure__ or ()
        return dict(zip(function.__code__.co_freevars, (cell.cell_contents for cell in cells)))

    try:
        grad_fn = free_variables(free_variables(entry["type"])["tape_grad_fn"])["grad_fn"]
        return "all_reduce.<locals>" in grad_fn.__qualname__
    except (KeyError, TypeError, AttributeError, ValueError):  # ValueError: an empty cell
        return False


def _frozen_transfer(data: dict, config: TrainConfig, weights_file, n_classes: int, listener: Listener,
                     stop: threading.Event):
    """Train only a new head on a frozen ImageNet base. The base's features are computed once per
    image, so each epoch costs a few dense layers instead of a full forward pass."""
    import keras

    from core.learn.models import build_head, build_transfer_base

    inputs, features, _ = build_transfer_base(config.arch, config.preprocessing.input_shape,
                                              weights=weights_file)
    extractor = keras.Model(inputs, features)
    extractor.trainable = False
    listener({"event": "status", "message": "Computing the frozen base's features once per image"})
    cached = {key: (_predict(extractor, data[key]) if len(data[key]) else
                    np.zeros((0, *features.shape[1:]), "float32"))
              for key in ("x_train", "x_val")}
    head_input = keras.Input(shape=features.shape[1:], name="base_features")
    head_output = build_head(head_input, n_classes)
    head = keras.Model(head_input, head_output, name="head")
    history, stopped = _fit(head, {**data, **cached}, config, epochs=config.epochs,
                            learning_rate=config.learning_rate, augment=0.0, n_classes=n_classes,
                            listener=listener, stop=stop)
    # Re-apply the trained head's layers to the base's tensor: one flat graph, so Grad-CAM reaches
    # the base's conv layers and tf-keras-vis can swap the final softmax.
    x = features
    for layer in head.layers[1:]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{config.arch}_transfer"), history, stopped


def _fine_tune(model, data: dict, config: TrainConfig, n_classes: int, listener: Listener,
               stop: threading.Event, first_epoch: int):
    """Unfreeze the top ``config.fine_tune_layers`` base layers and train end to end at a tenth of
    the learning rate (batch-norm layers stay frozen, as Keras' transfer-learning guide advises)."""
    from keras import layers

    base_layers = [layer for layer in model.layers if layer.name not in
                   {"head_pool", "head_dropout", "predictions"} and layer.weights]
    for layer in base_layers[-config.fine_tune_layers:]:
        layer.trainable = not isinstance(layer, layers.BatchNormalization)
    listener({"event": "status", "message": f"Fine-tuning the top {config.fine_tune_layers} layers"})
    return _fit(model, data, config, epochs=config.fine_tune_epochs,
                learning_rate=config.learning_rate / 10, augment=config.augment, n_classes=n_classes,
                listener=listener, stop=stop, first_epoch=first_epoch)


def train(index: pd.DataFrame, config: TrainConfig, *, listener: Listener | None = None,
          stop: threading.Event | None = None) -> TrainOutcome:
    """Train ``config`` on an index with ``path``, ``class``, ``split`` (train/val/test) and,
    ideally, ``sha1`` columns; return the best-weights model and its test metrics.

    A set ``stop`` event ends training after the current batch; the outcome then has
    ``stopped=True`` and still carries the best weights seen so far. Transfer models with
    ``pretrained`` need local ImageNet weights (:class:`core.errors.WeightsUnavailable` otherwise).
    """
    import keras

    from core.learn.architectures import ARCHITECTURES, find_imagenet_weights
    from core.learn.models import build_model, count_flops

    listener = listener or (lambda event: None)
    stop = stop or threading.Event()
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    if "split" not in index.columns:
        raise ValueError("the index has no 'split' column: make a duplicate-safe split first")
    if not (index["split"] == "train").any():
        raise ValueError("the training split is empty")
    transfer = ARCHITECTURES[config.arch].transfer and config.pretrained
    spec = config.preprocessing
    weights_file = (find_imagenet_weights(config.arch, spec.height, config.weights_path)
                    if transfer else None)
    classes = order_classes(index["class"].unique())

    data, rows = {}, {}
    for split in ("train", "val", "test"):
        rows[split], data[f"x_{split}"], data[f"y_{split}"] = _prepare_split(
            index[index["split"] == split], spec, classes, listener)
    total_epochs = config.epochs + (config.fine_tune_epochs if transfer and config.fine_tune_layers else 0)
    preview = build_model(config.arch, spec.input_shape, len(classes), width=config.width)
    if config.init_weights and not transfer:
        preview.load_weights(config.init_weights)  # domain pre-training: fine-tune from these
    listener({"event": "start", "epochs": total_epochs, "classes": classes,
              "batches": math.ceil(len(data["x_train"]) / config.batch_size),
              "params": int(preview.count_params()), "flops": count_flops(preview),
              "counts": {s: int(len(rows[s])) for s in rows}})
    listener({"event": "status", "message": "Training"})
    if transfer:
        model, history, stopped = _frozen_transfer(data, config, weights_file, len(classes), listener, stop)
        if config.fine_tune_layers and config.fine_tune_epochs and not stopped:
            more, stopped = _fine_tune(model, data, config, len(classes), listener, stop,
                                       first_epoch=config.epochs)
            history = {k: history.get(k, []) + v for k, v in more.items()}
    else:
        model = preview
        history, stopped = _fit(model, data, config, epochs=config.epochs,
                                learning_rate=config.learning_rate, augment=config.augment,
                                n_classes=len(classes), listener=listener, stop=stop)

    listener({"event": "status", "message": "Evaluating on the test split"})
    return finish_outcome(model, config, index, classes, rows, history=history, stopped=stopped, started=started,
                          val=(_predict(model, data["x_val"]), data["y_val"]),
                          test=(_predict(model, data["x_test"]), data["y_test"]))


def finish_outcome(model, config, index: pd.DataFrame, classes: list[str], rows: dict[str, pd.DataFrame], *,
                   history: dict, stopped: bool, started: float, val: tuple[np.ndarray, np.ndarray],
                   test: tuple[np.ndarray, np.ndarray]) -> TrainOutcome:
    """The outcome of a trained model (image or signal): a temperature fitted on the validation
    probabilities (1 without validation pages), test metrics and per-page test predictions.

    ``rows``: the index rows kept per split; ``val``/``test``: (probabilities, labels) of their pages.
    """
    (val_probs, y_val), (raw_test_probs, y_test) = val, test
    temperature = fit_temperature(val_probs, y_val)
    test_probs = apply_temperature(raw_test_probs, temperature)
    predictions = pd.DataFrame({
        "path": rows["test"]["path"],
        "true": [classes[i] for i in y_test],
        "predicted": [classes[i] for i in test_probs.argmax(axis=1)],
        "confidence": test_probs.max(axis=1),
        # before temperature scaling: out-of-fold tables can then calibrate a final model (crossval)
        **{raw_probability_column(c): raw_test_probs[:, i] for i, c in enumerate(classes)},
    })
    train_rows = rows["train"]
    return TrainOutcome(
        model=model, classes=classes, config=config,
        history={k: [float(v) for v in vals] for k, vals in history.items()},
        metrics=test_metrics(y_test, test_probs, len(classes)), temperature=temperature,
        stopped=stopped, seconds=time.perf_counter() - started,
        fingerprint=sorted(set(train_rows["sha1"])) if "sha1" in train_rows else [],
        split_counts={s: index[index["split"] == s]["class"].value_counts().to_dict()
                      for s in ("train", "val", "test")},
        test_predictions=predictions,
    )


def raw_probability_column(class_name: str) -> str:
    """Column of :attr:`TrainOutcome.test_predictions` holding a class's probability before
    temperature scaling."""
    return f"raw p({class_name})"


def _predict(model, images: np.ndarray) -> np.ndarray:
    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]))
    return model.predict(images.astype("float32"), batch_size=64, verbose=0)


def test_metrics(labels: np.ndarray, probs: np.ndarray, n_classes: int) -> dict[str, float]:
    """Accuracy, macro-F1 and ECE of ``probs`` against integer ``labels``."""
    from sklearn.metrics import accuracy_score, f1_score

    if len(labels) == 0:
        return {}
    predicted = probs.argmax(axis=1)
    return {
        "test_accuracy": float(accuracy_score(labels, predicted)),
        "test_macro_f1": float(f1_score(labels, predicted, average="macro",
                                        labels=sorted(set(labels)), zero_division=0)),
        "test_ece": expected_calibration_error(probs, labels),
        "test_images": int(len(labels)),
    }


def with_overrides(config: TrainConfig, **overrides) -> TrainConfig:
    """A copy of ``config`` with the given fields changed (``None`` values are ignored)."""
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def run_metadata(outcome: TrainOutcome, *, dataset_info: dict | None = None) -> dict:
    """The bundle metadata every trained model has, image or signal: classes, hyper-parameters,
    history, split, dataset fingerprint, test metrics and calibration."""
    return {
        "classes": outcome.classes,
        "hyperparameters": outcome.config.to_dict(),
        "history": outcome.history,
        "split": {"seed": outcome.config.seed, "counts": outcome.split_counts,
                  "method": (dataset_info or {}).get("split_method", "duplicate-safe")},
        "dataset": {**(dataset_info or {}), "fingerprint": outcome.fingerprint},
        "metrics": {**outcome.metrics, "train_seconds": round(outcome.seconds, 1),
                    "stopped_early_by_user": outcome.stopped},
        "calibration": {"temperature": outcome.temperature},
    }


def outcome_metadata(outcome: TrainOutcome, *, dataset_info: dict | None = None) -> dict:
    """The bundle metadata of an image model's training outcome (preprocessing, run metadata, Grad-CAM layer)."""
    from core.learn.models import gradcam_layer

    spec = outcome.config.preprocessing
    return {
        **run_metadata(outcome, dataset_info=dataset_info),
        "input_size": [spec.height, spec.width],
        "color_mode": spec.color_mode,
        "preprocessing": {"crop": spec.crop, "resize": spec.resize, "scale": "in-model"},
        "architecture": outcome.config.arch,
        "gradcam_layer": gradcam_layer(outcome.model),
    }


def save_outcome(outcome: TrainOutcome, name: str, *, dataset_info: dict | None = None,
                 overwrite: bool = False):
    """Save a training outcome as an atomic model bundle; returns its folder."""
    from core.bundles import save_bundle

    return save_bundle(outcome.model, outcome_metadata(outcome, dataset_info=dataset_info), name,
                       overwrite=overwrite)
