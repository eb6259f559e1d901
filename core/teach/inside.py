"""Inside the CNN: what the model sees, the feature maps of each conv block, the learned
first-layer filters, and how the input shrinks through the layers.

Pure functions returning NumPy arrays and plain rows, so the Learn page only draws them.
CNN Explainer (poloclub) does this for 64×64 toy images; here it is an ECG page.
Keras is imported inside the functions that need it, so importing this module stays cheap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.ecg.preprocess import Preprocessing, _to_color_mode, crop_page, load_page, prepare_image


@dataclass
class ModelView:
    """The steps from the file to the network input, each an image a page can show."""

    original: np.ndarray   # the decoded page (RGB)
    cropped: np.ndarray    # after the crop (RGB)
    coloured: np.ndarray   # after the colour mode, before resizing
    prepared: np.ndarray   # the network input: height × width × channels, uint8
    augmented: np.ndarray | None  # one augmented sample of ``prepared`` (None when strength is 0)


def what_the_model_sees(source, spec: Preprocessing, *, augment: float = 0.0, seed: int = 0) -> ModelView:
    """Original vs crop vs colour mode vs resize vs one augmentation sample, as in training."""
    img = load_page(source, spec)
    cropped = crop_page(img, spec)
    prepared = prepare_image(img, spec)
    augmented = None
    if augment > 0:
        from core.learn import make_augmenter

        layer = make_augmenter(augment, seed)
        batch = prepared[None].astype("float32")
        augmented = np.clip(np.asarray(layer(batch, training=True)), 0, 255).astype("uint8")[0]
    return ModelView(np.asarray(img.convert("RGB")), np.asarray(cropped.convert("RGB")),
                     np.asarray(_to_color_mode(cropped, spec.color_mode)), prepared, augmented)


def conv_block_outputs(model) -> list[str]:
    """Names of the layers that end each conv block (the ReLU after each convolution), in order;
    models without such layers fall back to their Conv2D layers."""
    from keras import layers

    names = [layer.name for layer in model.layers
             if isinstance(layer, layers.Activation) and layer.get_config().get("activation") == "relu"
             and len(layer.output.shape) == 4]
    return names or [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]


@dataclass
class FeatureMaps:
    """The most active channels of one layer for one image."""

    layer: str
    shape: tuple[int, int, int]   # height, width, channels of the layer's output
    channels: list[int]           # channel numbers, most active first
    maps: np.ndarray              # len(channels) × height × width, each scaled to 0..1
    mean_activation: list[float]  # of each shown channel


def feature_maps(model, image: np.ndarray, *, top: int = 8, layers_: list[str] | None = None) -> list[FeatureMaps]:
    """Activations of each conv block for ``image`` (H × W × C uint8), keeping the ``top`` channels
    with the highest mean activation, each scaled to 0..1 for display."""
    import keras

    names = layers_ or conv_block_outputs(model)
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outputs = probe(image[None].astype("float32"), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    result = []
    for name, out in zip(names, outputs):
        out = np.asarray(out)[0]                     # H × W × channels
        means = out.mean(axis=(0, 1))
        order = [int(i) for i in np.argsort(-means, kind="stable")[:top]]
        maps = np.moveaxis(out[..., order], -1, 0)
        low = maps.min(axis=(1, 2), keepdims=True)
        span = maps.max(axis=(1, 2), keepdims=True) - low
        maps = np.where(span > 0, (maps - low) / np.where(span > 0, span, 1), 0.0)
        result.append(FeatureMaps(name, tuple(int(d) for d in out.shape), order, maps.astype("float32"),
                                  [float(means[i]) for i in order]))
    return result


def first_layer_filters(model) -> np.ndarray:
    """The first convolution's kernels as ``filters × kh × kw`` images (mean over input channels),
    each scaled to 0..1 (0.5 = weight zero when the kernel has both signs)."""
    from keras import layers

    conv = next((layer for layer in model.layers if isinstance(layer, layers.Conv2D)), None)
    if conv is None:
        raise ValueError(f"model {model.name!r} has no convolution layer")
    kernel = np.asarray(conv.get_weights()[0]).mean(axis=2)   # kh × kw × filters
    kernel = np.moveaxis(kernel, -1, 0)
    scale = np.abs(kernel).max(axis=(1, 2), keepdims=True)
    return (0.5 + 0.5 * kernel / np.where(scale > 0, scale, 1)).astype("float32")


def _kernel_and_stride(layer) -> tuple[tuple[int, int], tuple[int, int]] | None:
    from keras import layers

    if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D, layers.AveragePooling2D)):
        size = layer.kernel_size if isinstance(layer, layers.Conv2D) else layer.pool_size
        return (int(size[0]), int(size[1])), (int(layer.strides[0]), int(layer.strides[1]))
    return None


def shape_table(model) -> list[dict]:
    """How the input shrinks: each layer's output shape, how many input pixels apart neighbouring
    output cells are (jump) and how many input pixels one cell sees (receptive field), high × wide.

    After a layer with kernel k and stride s: r ← r + (k − 1) · j, then j ← j · s, per axis.
    Layers that are not convolutions or pooling leave both unchanged; past the last feature map
    (flatten, dense) they no longer apply and are left empty.
    """
    import keras

    rows, reach, flat = [], {}, False  # reach: layer name → (receptive field, jump) of its output
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        # Follow the graph, not the list: branches that merge again (max and average pooling of
        # the same map) must not count as if one were stacked on the other.
        parents = [reach[t._keras_history.operation.name] for t in keras.tree.flatten(layer.input)
                   if t._keras_history.operation.name in reach]
        field = [max((p[0][axis] for p in parents), default=1) for axis in (0, 1)]
        jump = list(parents[0][1]) if parents else [1, 1]
        ks = _kernel_and_stride(layer)
        if ks:
            for axis in (0, 1):
                field[axis] += (ks[0][axis] - 1) * jump[axis]
                jump[axis] *= ks[1][axis]
        reach[layer.name] = (field, jump)
        flat = flat or len(shape) == 1  # flatten/dense: no feature map from here on
        spatial = len(shape) == 3 and not flat
        rows.append({"layer": layer.name, "type": type(layer).__name__,
                     "output shape": " × ".join(str(d) for d in shape),
                     "values": int(np.prod([d for d in shape if d])) if shape else 0,
                     "receptive field height (px)": field[0] if spatial else None,
                     "receptive field width (px)": field[1] if spatial else None,
                     "jump (px)": f"{jump[0]} × {jump[1]}" if spatial else None})
    return rows
