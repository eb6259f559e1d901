"""Import a Keras model trained elsewhere (the original notebooks' ``.h5``, or any ``.keras``) as a
normal bundle, so Evaluate, Predict and Grad-CAM work on it.

Three things make a foreign model one of ours:

* **Safety.** The file's architecture config is read *before* Keras builds anything, and models with
  ``Lambda`` layers or objects from outside Keras are refused (they would run arbitrary Python when
  loaded). Loading then happens in Keras safe mode as a second line of defence.
* **Pixels in.** Our models take raw 0–255 pixels and scale inside the network, so a model that
  expects ``/255`` inputs (the notebooks') gets a ``Rescaling(1/255)`` layer in front.
* **A flat functional graph.** ``Sequential`` models and nested sub-models (a VGG16 base inside a
  ``Sequential``) are rebuilt layer by layer as one functional model with copied weights, because
  tf-keras-vis and our Grad-CAM cannot see inside them (stack notes §1).

The rebuilt model is checked against the source on random pages before it is saved.
TensorFlow is imported inside functions; importing this module stays cheap.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.classes import CANONICAL_CLASSES, ECG_CLASSES
from core.ecg import Preprocessing

MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")
INPUT_SCALES = {255: "pixels / 255 (the original notebooks)", 1: "raw 0–255 pixels"}
DEFAULT_SIZE = 224  # the notebooks' input side, used when a model accepts any size
# Layers that carry Python code, refused whatever their content.
_CODE_LAYERS = {"Lambda", "TFOpLambda", "SlicingOpLambda"}
# Structural class names of Keras configs that are not in keras.layers.
_MODEL_CLASSES = {"Sequential", "Functional", "Model", "InputLayer"}
_CHECK_ATOL = 1e-4  # float32 rounding of the /255 moving into the graph stays far below this

# The original notebooks' label orders (domain notes §1): flow_from_directory sorts Kaggle's ECG_DATA
# folders (the Mendeley folder names) to MI, History of MI, Abnormal heartbeat, Normal; the Gradio
# notebook labels 0-4 end with Non-ECG.
ORIGINAL_CLASS_ORDERS: dict[int, tuple[str, ...]] = {4: ECG_CLASSES, 5: CANONICAL_CLASSES}


class ModelImportError(ValueError):
    """A model file that cannot be imported, with a message saying why and what to do."""


@dataclass(frozen=True)
class ModelInfo:
    """What an imported file's model expects and produces."""

    file_name: str
    file_format: str                  # "h5" or "keras"
    input_size: tuple[int | None, int | None]
    channels: int
    n_outputs: int
    sequential: bool
    starts_with_rescaling: bool
    output_activation: str
    layers: int

    @property
    def suggested_input_scale(self) -> int:
        """255 (feed pixels/255, as the notebooks did) unless the model rescales its own input."""
        return 1 if self.starts_with_rescaling else 255

    def default_preprocessing(self) -> Preprocessing:
        """The originals' preprocessing: the model's size (224 when free), RGB or grayscale, no crop."""
        height, width = (v or DEFAULT_SIZE for v in self.input_size)
        color = "rgb" if self.channels == 3 else "grayscale"
        return Preprocessing(height, width, color, "none", "stretch")


# --- class names ---------------------------------------------------------------------------------

def default_class_names(n_outputs: int) -> list[str] | None:
    """The original notebooks' class order when the output count matches one of them, else None."""
    order = ORIGINAL_CLASS_ORDERS.get(n_outputs)
    return list(order) if order else None


def parse_class_names(text: str | Iterable[str]) -> list[str]:
    """``"A, B, C"`` (commas or new lines) or a list of names → stripped, non-empty names."""
    parts = text.replace("\n", ",").split(",") if isinstance(text, str) else list(text)
    return [str(p).strip() for p in parts if str(p).strip()]


def check_class_names(classes: Iterable[str], n_outputs: int) -> list[str]:
    """Return ``classes`` if there is exactly one unique name per model output."""
    names = parse_class_names(classes)
    if len(names) != n_outputs:
        raise ModelImportError(f"the model has {n_outputs} outputs but {len(names)} class names were "
                               f"given ({', '.join(names) or 'none'}); give one name per output, in "
                               "the order the model was trained with")
    if len(set(names)) != len(names):
        raise ModelImportError(f"class names must be unique; got {', '.join(names)}")
    return names


# --- reading the file safely ---------------------------------------------------------------------

def _file_format(path: Path) -> str:
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelImportError(f"{path.name!r} is not a Keras model file: expected one of "
                               f"{', '.join(MODEL_SUFFIXES)}")
    if not path.is_file():
        raise ModelImportError(f"no such file: {path}")
    return "keras" if path.suffix.lower() == ".keras" else "h5"


def read_model_config(path: str | os.PathLike) -> dict[str, Any]:
    """The architecture config stored in a ``.h5`` or ``.keras`` file, without building the model."""
    path = Path(path)
    fmt = _file_format(path)
    if fmt == "keras":
        if not zipfile.is_zipfile(path):
            raise ModelImportError(f"{path.name!r} is corrupt or not a .keras file (not a zip archive)")
        try:
            with zipfile.ZipFile(path) as archive:
                text = archive.read("config.json").decode("utf-8")
        except KeyError:
            raise ModelImportError(f"{path.name!r} is not a .keras model (it has no config.json)") from None
        except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
            raise ModelImportError(f"{path.name!r} is corrupt ({exc})") from exc
    else:
        import h5py

        if not h5py.is_hdf5(path):
            raise ModelImportError(f"{path.name!r} is corrupt or not an HDF5 model file")
        try:
            with h5py.File(path, "r") as handle:
                raw = handle.attrs.get("model_config")
        except OSError as exc:
            raise ModelImportError(f"{path.name!r} cannot be read as HDF5 ({exc})") from exc
        if raw is None:
            raise ModelImportError(f"{path.name!r} holds weights only, not a whole model; save it with "
                                   "model.save('file.h5') in the notebook, not save_weights")
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelImportError(f"{path.name!r} has an unreadable model config ({exc.msg})") from exc
    if not isinstance(config, Mapping):
        raise ModelImportError(f"{path.name!r} has an unreadable model config")
    return dict(config)


def _walk(config: Any) -> Iterable[Mapping[str, Any]]:
    """Every dict with a ``class_name`` inside a Keras config, depth first."""
    if isinstance(config, Mapping):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _walk(value)
    elif isinstance(config, list):
        for value in config:
            yield from _walk(value)


def _layer_configs(config: Any) -> Iterable[Mapping[str, Any]]:
    """The layer entries of a model config, including those of nested models."""
    for item in _walk(config):
        layers = item.get("config", {}).get("layers") if isinstance(item.get("config"), Mapping) else None
        if isinstance(layers, list):
            yield from (layer for layer in layers if isinstance(layer, Mapping))


def check_config_safe(config: Mapping[str, Any], name: str = "the model") -> None:
    """Refuse configs with code-carrying layers or objects that are not part of Keras."""
    import keras

    for item in _walk(config):
        cls = str(item.get("class_name"))
        if cls in _CODE_LAYERS:
            raise ModelImportError(
                f"refused to import {name}: it contains a {cls} layer, which holds Python code that "
                "would run when the model is loaded. Rebuild the model without Lambda layers (e.g. "
                "put the /255 scaling in a Rescaling layer) and save it again")
        module = item.get("module")
        if isinstance(module, str) and not (module == "keras" or module.startswith("keras.")):
            raise ModelImportError(
                f"refused to import {name}: it uses the custom object {cls!r} from module {module!r}; "
                "only built-in Keras layers are allowed (safe mode)")
    for layer in _layer_configs(config):
        cls = str(layer.get("class_name"))
        if cls not in _MODEL_CLASSES and not hasattr(keras.layers, cls):
            raise ModelImportError(
                f"refused to import {name}: it uses the unknown layer type {cls!r}; only built-in "
                "Keras layers are allowed (safe mode)")


def _load_failure(name: str, exc: Exception) -> ModelImportError:
    text = str(exc).strip()
    if "safe_mode" in text or "Lambda" in text:
        return ModelImportError(f"refused to import {name}: it contains Python code (safe mode)")
    first = text.splitlines()[0][:200] if text else type(exc).__name__
    return ModelImportError(f"{name} is corrupt or not a Keras model Keras can load ({first})")


def load_model_file(path: str | os.PathLike):
    """Load a ``.h5``/``.keras`` model after the config check, in safe mode, uncompiled."""
    path = Path(path)
    check_config_safe(read_model_config(path), repr(path.name))
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises ValueError, TypeError, OSError, KeyError... for bad files
        raise _load_failure(repr(path.name), exc) from exc


def _activation_name(layer) -> str:
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "") or ("softmax" if type(layer).__name__ == "Softmax" else "")


def describe_model(model, path: str | os.PathLike) -> ModelInfo:
    """Input size, channels, outputs and shape of ``model``; refuses models we cannot serve."""
    import keras

    path = Path(path)
    name = repr(path.name)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelImportError(f"{name} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                               "an image classifier needs exactly one of each")
    in_shape, out_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    if len(in_shape) != 4 or in_shape[-1] not in (1, 3):
        raise ModelImportError(f"{name} takes input of shape {in_shape[1:]}; expected height × width × "
                               "1 or 3 channels")
    if len(out_shape) != 2 or not out_shape[-1] or out_shape[-1] < 2:
        raise ModelImportError(f"{name} gives output of shape {out_shape[1:]}; expected one probability "
                               "per class (at least two classes)")
    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"), None)
    return ModelInfo(
        file_name=path.name, file_format=_file_format(path), input_size=(in_shape[1], in_shape[2]),
        channels=int(in_shape[3]), n_outputs=int(out_shape[-1]),
        sequential=isinstance(model, keras.Sequential),
        starts_with_rescaling=isinstance(first, keras.layers.Rescaling),
        output_activation=_activation_name(model.layers[-1]), layers=len(model.layers))


def inspect_model_file(path: str | os.PathLike):
    """``(model, info)`` of a model file, loaded safely (see :func:`load_model_file`)."""
    model = load_model_file(path)
    return model, describe_model(model, path)


# --- rebuilding as one flat functional graph -------------------------------------------------------

class _Rebuilder:
    """Re-applies a model's layers to a new tensor, copying each layer (fresh weights objects) and
    inlining nested models, and remembers (source, copy) pairs to copy the weights afterwards."""

    def __init__(self, softmax_head: Any = None) -> None:
        self.pairs: list[tuple[Any, Any]] = []
        self.softmax_head = softmax_head   # a linear last layer that should become softmax

    def copy(self, layer):
        import keras

        if isinstance(layer, keras.Model):
            return layer                      # inlined by call(), never copied whole
        config = layer.get_config()
        if layer is self.softmax_head:
            config["activation"] = "softmax"
        new = layer.__class__.from_config(config)
        self.pairs.append((layer, new))
        return new

    def call(self, layer, *args, **kwargs):
        import keras

        if isinstance(layer, keras.Model):
            return self.apply(layer, args[0])
        return layer(*args, **kwargs)

    def apply(self, model, x):
        import keras

        if isinstance(model, keras.Sequential):
            for layer in model.layers:
                x = self.call(self.copy(layer), x)
            return x
        # Functional models: the same graph walk keras.models.clone_model does, but on our tensor,
        # so the source's layers land in the outer graph instead of a nested sub-model.
        return model._run_through_graph(x, operation_fn=self.copy, call_fn=self.call)

    def copy_weights(self) -> None:
        for source, copy in self.pairs:
            if source.weights:
                copy.set_weights(source.get_weights())


def rebuild_functional(model, input_shape: tuple[int, int, int], *, input_scale: int = 255):
    """A flat functional copy of ``model`` taking raw 0–255 pixels of ``input_shape``.

    ``input_scale=255`` prepends ``Rescaling(1/255)`` (the source expects pixels/255); ``1`` feeds
    pixels as they are. A linear output layer becomes softmax, because every page shows probabilities.
    """
    import keras

    if input_scale not in INPUT_SCALES:
        raise ModelImportError(f"input scale must be 255 (source expects pixels/255) or 1 (raw pixels); "
                               f"got {input_scale!r}")
    last = model.layers[-1]
    rebuilder = _Rebuilder(softmax_head=last if _activation_name(last) == "linear" else None)
    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="import_rescale")(inputs) if input_scale == 255 else inputs
    try:
        outputs = rebuilder.apply(model, x)
        rebuilt = keras.Model(inputs, outputs, name=f"imported_{model.name}")
    except Exception as exc:  # shape clashes, duplicate names in nested models, exotic graphs
        raise ModelImportError(f"could not rebuild the model as a functional graph ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from exc
    rebuilder.copy_weights()
    return rebuilt


def check_same_outputs(source, rebuilt, *, input_scale: int, n: int = 2, seed: int = 0) -> float:
    """Max absolute difference between the rebuilt model on pixels and the source on its own input.

    Raises when it exceeds the float32 noise level: an import must not change a single prediction.
    """
    import keras

    shape = tuple(rebuilt.inputs[0].shape[1:])
    pixels = np.random.default_rng(seed).integers(0, 256, (n, *shape)).astype("float32")
    expected = np.asarray(source(pixels / input_scale, training=False))
    if rebuilt.layers[-1].get_config().get("activation") == "softmax" and _activation_name(source.layers[-1]) == "linear":
        expected = np.asarray(keras.activations.softmax(expected))
    got = np.asarray(rebuilt(pixels, training=False))
    diff = float(np.max(np.abs(got - expected)))
    if not diff <= _CHECK_ATOL:
        raise ModelImportError(f"the rebuilt model does not reproduce the source model's outputs (max "
                               f"difference {diff:.2g}); please report this model")
    return diff


# --- the whole import ----------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def import_model(
    path: str | os.PathLike,
    classes: str | Iterable[str],
    *,
    name: str | None = None,
    input_scale: int | None = None,
    preprocessing: Preprocessing | None = None,
    root: Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Import a Keras model file as a bundle and return the bundle folder.

    ``classes`` must name every output in order; ``input_scale`` defaults to
    :attr:`ModelInfo.suggested_input_scale`; ``preprocessing`` to the originals' (224×224 RGB, no
    crop — or the model's own size). ``name`` defaults to the file name's stem.
    """
    from core.bundles import save_bundle, validate_name
    from core.learn.models import gradcam_layer

    path = Path(path)
    model, info = inspect_model_file(path)
    names = check_class_names(classes, info.n_outputs)
    scale = info.suggested_input_scale if input_scale is None else int(input_scale)
    spec = preprocessing or info.default_preprocessing()
    if spec.channels != info.channels:
        raise ModelImportError(f"the model takes {info.channels}-channel images but colour mode "
                               f"{spec.color_mode!r} gives {spec.channels}; use "
                               f"{'rgb' if info.channels == 3 else 'grayscale or ink'}")
    for got, want, side in ((spec.height, info.input_size[0], "height"), (spec.width, info.input_size[1], "width")):
        if want is not None and got != want:
            raise ModelImportError(f"the model takes images {want} px in {side}, not {got}")
    bundle_name = validate_name(name or path.stem)
    rebuilt = rebuild_functional(model, spec.input_shape, input_scale=scale)
    diff = check_same_outputs(model, rebuilt, input_scale=scale)
    try:
        layer = gradcam_layer(rebuilt)
    except ValueError:
        layer = None                       # a model without conv layers still predicts
    metadata = {
        "classes": names,
        "input_size": [spec.height, spec.width],
        "color_mode": spec.color_mode,
        "preprocessing": {"crop": spec.crop, "resize": spec.resize, "scale": "in-model"},
        "architecture": "imported",
        "dataset": {"name": f"imported from {path.name}"},
        "gradcam_layer": layer,
        "imported": {"file": path.name, "format": info.file_format, "sha256": _sha256(path),
                     "input_scale": scale, "rebuilt_from_sequential": info.sequential,
                     "source_layers": info.layers, "output_activation": info.output_activation,
                     "max_abs_difference": diff},
    }
    return save_bundle(rebuilt, metadata, (root / bundle_name) if root else bundle_name, overwrite=overwrite)
