"""Model builders. Every model is a functional Keras model with a named ``last_conv`` target for
Grad-CAM (tf-keras-vis cannot rewrite Keras 3 ``Sequential`` models).

Models take raw ``uint8`` pixels (0–255); scaling lives inside the model so that training,
prediction and exported models can never disagree about it.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers

from core.learn.architectures import ARCHITECTURES

LAST_CONV = "last_conv"
LEAD_ROWS, LEAD_COLS = 4, 4  # 3×4 leads plus the rhythm strip on a standard page


def _conv_block(x, filters: int, *, name: str, pool: bool = True, activation_name: str | None = None,
                kernel: int = 3, strides: int = 1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    # momentum 0.9, not Keras' 0.99: a live demo takes a few hundred steps, too few for the
    # slower moving averages to settle, and inference would then use wrong statistics.
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=activation_name or f"{name}_relu")(x)
    return layers.MaxPooling2D(2, name=f"{name}_pool")(x) if pool else x


# Ink gate: ink-mode paper and what is left of a coloured grid stay below 0.3 (measured on the
# Mendeley template and the synthetic paper colours); a trace or label pixel is near 1.
_GATE_FROM, _GATE_TO = 0.3, 0.55


def _ink_gate(inputs, features, *, name: str = LAST_CONV):
    """``features`` with every cell that holds no trace ink set to zero.

    The classifier, and so Grad-CAM, can then only use evidence that lies on a trace: without the
    gate the lead-panel CNNs put most of their saliency in the blank bands between lead rows
    (features there see the waves above them), which is right about the lead and wrong about the
    place. Built from plain layers (no Lambda), so safe-mode loading keeps working.
    """
    height, width, channels = inputs.shape[1:]
    brightest = inputs
    if channels > 1:  # as the "ink" colour mode: the brightest channel, so a coloured grid is paper
        brightest = layers.Reshape((height, width, channels, 1), name="ink_gate_channels")(inputs)
        brightest = layers.MaxPooling3D((1, 1, channels), name="ink_gate_brightest")(brightest)
        brightest = layers.Reshape((height, width, 1), name="ink_gate_grey")(brightest)
    ink = layers.Rescaling(-1.0 / 255, offset=1.0, name="ink_gate_ink")(brightest)
    cells = layers.MaxPooling2D((height // features.shape[1], width // features.shape[2]),
                                name="ink_gate_cells")(ink)
    scale = 1.0 / (_GATE_TO - _GATE_FROM)
    gate = layers.Rescaling(scale, offset=-_GATE_FROM * scale, name="ink_gate_ramp")(cells)
    gate = layers.ReLU(max_value=1.0, name="ink_gate")(gate)
    return layers.Multiply(name=name)([features, gate])


def build_compact(input_shape: tuple[int, int, int], n_classes: int, *, width: float = 1.0,
                  dropout: float = 0.3) -> keras.Model:
    """The default lead-grid CNN.

    Convolutions share their weights across the whole page, so every lead panel is read by the
    same encoder; pooling inside each cell of the 4×4 lead grid (instead of over the whole page)
    keeps *where* a feature was found — ST elevation in V2 means something else than in aVR.
    Max-pooling says whether a shape occurs in a lead; average pooling adds how often, which is
    what rate and rhythm (brady-, tachycardia, dropped beats) are about.

    Block 1 is a 5×5 convolution with stride 2 rather than a convolution and a pooling: it still
    sees every pixel of a thin trace, but its batch norm runs on a quarter of the pixels, which
    halves the epoch time on 2 cores at the same Live-demo accuracy (measured; a 3×3 stride-2 stem
    lost 6 points).
    """
    height, width_px, _ = input_shape
    if height % (16 * LEAD_ROWS) or width_px % (16 * LEAD_COLS):
        raise ValueError(
            f"the compact CNN needs a height divisible by {16 * LEAD_ROWS} and a width divisible by "
            f"{16 * LEAD_COLS}; got {height}×{width_px}"
        )
    filters = [max(4, round(f * width)) for f in (8, 16, 32, 48, 64)]
    inputs = keras.Input(shape=input_shape, name="image")
    # Invert so ink is 1 and paper 0: the network's zero padding then matches blank paper.
    x = layers.Rescaling(-1.0 / 255, offset=1.0, name="ink_scale")(inputs)
    x = _conv_block(x, filters[0], name="block1", pool=False, kernel=5, strides=2)
    for i, f in enumerate(filters[1:-1], start=2):
        x = _conv_block(x, f, name=f"block{i}")
    x = _conv_block(x, filters[-1], name="block5", pool=False, activation_name=LAST_CONV)
    cell = (x.shape[1] // LEAD_ROWS, x.shape[2] // LEAD_COLS)
    per_cell = [layers.MaxPooling2D(cell, name="lead_grid_pool")(x),
                layers.AveragePooling2D(cell, name="lead_grid_avg_pool")(x)]
    x = layers.Concatenate(name="lead_cells")(per_cell)
    x = layers.Flatten(name="lead_features")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="compact_lead_grid_cnn")


def build_leadnet(input_shape: tuple[int, int, int], n_classes: int, *, width: float = 1.0,
                  dropout: float = 0.3) -> keras.Model:
    """The lead-panel CNN for real pages: the compact CNN's idea at twice the resolution per lead.

    One fully convolutional encoder reads the whole cropped grid (so ``last_conv`` is a page-level
    map and Grad-CAM maps straight back onto the page); a stride-2 stem keeps the cost of a
    384×640 input near that of the compact CNN at 192×320. After the encoder every lead row is
    pooled over its height but keeps 2 time bins per lead column, a (1×5) convolution compares
    neighbouring bins (beat-to-beat timing on the rhythm strip), and max- and average-pooling
    inside each of the 4×4 lead cells give one embedding per lead whose position is the lead's
    identity. Before that pooling an ink gate (:func:`_ink_gate`) zeroes the features of cells
    that hold no trace, so the evidence, and Grad-CAM with it, lies on the waveforms. Everything is
    measured relative to the input size, never in absolute pixels.
    """
    return _lead_panel_cnn(input_shape, n_classes, (16, 32, 48, 64), width=width, dropout=dropout,
                           extra_block=False, name="lead_panel_cnn")


def build_leadnet_hr(input_shape: tuple[int, int, int], n_classes: int, *, width: float = 1.0,
                     dropout: float = 0.3) -> keras.Model:
    """The lead-panel CNN at about 1.4× the resolution per lead (e.g. 448×768 ink: a lead cell is
    ~112×192 input pixels, ~70 % of a half-size scan's native panel), one conv deeper.

    Same layout as :func:`build_leadnet` but with narrower early blocks (the large maps are what
    costs on a CPU) and a second 3×3 conv at 1/16, so each ``last_conv`` feature sees about a beat
    and a half of its lead instead of one.
    """
    return _lead_panel_cnn(input_shape, n_classes, (16, 24, 40, 64), width=width, dropout=dropout,
                           extra_block=True, name="lead_panel_cnn_hr")


def _lead_panel_cnn(input_shape: tuple[int, int, int], n_classes: int, filters: tuple[int, ...], *,
                    width: float, dropout: float, extra_block: bool, name: str) -> keras.Model:
    height, width_px, _ = input_shape
    if height % (16 * LEAD_ROWS) or width_px % (32 * LEAD_COLS):
        raise ValueError(
            f"the lead-panel CNN needs a height divisible by {16 * LEAD_ROWS} and a width divisible "
            f"by {32 * LEAD_COLS}; got {height}×{width_px}"
        )
    f_stem, f2, f3, f4 = (max(4, round(f * width)) for f in filters)
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(-1.0 / 255, offset=1.0, name="ink_scale")(inputs)
    # stem: 5×5 stride 2 sees a trace at full input resolution at a quarter of the cost
    x = layers.Conv2D(f_stem, 5, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    x = _conv_block(x, f2, name="block2")
    x = _conv_block(x, f3, name="block3")
    x = _conv_block(x, f4, name="block4", pool=False)
    if extra_block:
        x = _conv_block(x, f4, name="block5", pool=False)
    x = _ink_gate(inputs, x)
    cell_h, cell_w = x.shape[1] // LEAD_ROWS, x.shape[2] // LEAD_COLS
    # one row per lead row, two time bins per lead column
    x = layers.MaxPooling2D((cell_h, cell_w // 2), name="lead_row_pool")(x)
    x = layers.Conv2D(f4, (1, 5), padding="same", use_bias=False, name="time_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name="time_bn")(x)
    x = layers.Activation("relu", name="time_relu")(x)
    per_lead = [layers.MaxPooling2D((1, 2), name="lead_max_pool")(x),
                layers.AveragePooling2D((1, 2), name="lead_avg_pool")(x)]
    x = layers.Concatenate(name="lead_embeddings")(per_lead)
    x = layers.Flatten(name="lead_features")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def build_seed_cnn(input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    """The original notebooks' CNN, layer for layer (the /255 is inside the model here)."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(128, 3, activation="relu", name=LAST_CONV)(x)
    x = layers.MaxPooling2D(2, name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(256, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="seed_cnn")


def _imagenet_input(arch: str, x):
    """Each ImageNet base expects its own pixel scaling; built from plain layers (no Lambda,
    which safe-mode loading refuses)."""
    if x.shape[-1] == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    if arch == "mobilenetv2":
        return layers.Rescaling(1.0 / 127.5, offset=-1.0, name="imagenet_scale")(x)
    if arch == "efficientnetb0":
        return x  # EfficientNet rescales and normalises inside the base
    # VGG16/ResNet50 ("caffe"): RGB→BGR and subtract the ImageNet channel means. A fixed 1×1
    # convolution does both exactly.
    conv = layers.Conv2D(3, 1, name="imagenet_caffe", trainable=False)
    y = conv(x)
    rgb_to_bgr = np.eye(3, dtype="float32")[::-1].reshape(1, 1, 3, 3)
    conv.set_weights([rgb_to_bgr, -np.array([103.939, 116.779, 123.68], dtype="float32")])
    return y


_BASES = {
    "vgg16": ("VGG16", "block5_conv3"),
    "resnet50": ("ResNet50", "conv5_block3_out"),
    "mobilenetv2": ("MobileNetV2", "out_relu"),
    "efficientnetb0": ("EfficientNetB0", "top_activation"),
}


def build_transfer_base(arch: str, input_shape: tuple[int, int, int], *, weights: str | Path | None):
    """Inputs and the base's last feature map as one flat functional graph (so Grad-CAM can reach
    the conv layers), with ``weights`` a local weights file or ``None`` for random initialisation."""
    app_name, last_conv = _BASES[arch]
    base_fn = getattr(keras.applications, app_name)
    inputs = keras.Input(shape=input_shape, name="image")
    base = base_fn(include_top=False, weights=None, input_tensor=_imagenet_input(arch, inputs))
    if weights is not None:
        # The weights file matches the plain base; load it there and copy layer by layer, because
        # the flat graph above also holds our scaling layers.
        plain = base_fn(include_top=False, weights=None, input_shape=(*input_shape[:2], 3))
        plain.load_weights(str(weights))
        for layer in plain.layers:
            if layer.weights:
                base.get_layer(layer.name).set_weights(layer.get_weights())
    return inputs, base.get_layer(last_conv).output, base


def build_head(features, n_classes: int, *, dropout: float = 0.3):
    """The classifier on top of a transfer base: global average pooling, dropout, softmax."""
    x = layers.GlobalAveragePooling2D(name="head_pool")(features)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    return layers.Dense(n_classes, activation="softmax", name="predictions")(x)


def build_transfer(arch: str, input_shape, n_classes: int, *, weights=None) -> keras.Model:
    """A transfer model whose base's last activation is renamed target for Grad-CAM in metadata."""
    inputs, features, _ = build_transfer_base(arch, input_shape, weights=weights)
    return keras.Model(inputs, build_head(features, n_classes), name=f"{arch}_transfer")


def gradcam_layer(model: keras.Model) -> str:
    """Name of the conv layer whose activations Grad-CAM should weight."""
    names = {layer.name for layer in model.layers}
    if LAST_CONV in names:
        return LAST_CONV
    for _, last_conv in _BASES.values():
        if last_conv in names:
            return last_conv
    conv_like = [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]
    if not conv_like:
        raise ValueError(f"model {model.name!r} has no convolutional feature map for Grad-CAM")
    return conv_like[-1]


def build_model(arch: str, input_shape: tuple[int, int, int], n_classes: int, *, width: float = 1.0,
                weights: str | Path | None = None) -> keras.Model:
    """Build any of :data:`ARCHITECTURES` for ``input_shape`` (H, W, C) and ``n_classes``."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    if arch == "compact":
        return build_compact(input_shape, n_classes, width=width)
    if arch == "leadnet":
        return build_leadnet(input_shape, n_classes, width=width)
    if arch == "leadnet_hr":
        return build_leadnet_hr(input_shape, n_classes, width=width)
    if arch == "seed_cnn":
        return build_seed_cnn(input_shape, n_classes)
    return build_transfer(arch, input_shape, n_classes, weights=weights)


def count_flops(model: keras.Model) -> int:
    """Multiply–adds ×2 of one forward pass, counted from conv and dense layer shapes."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += count_flops(layer)
            continue
        out = layer.output.shape
        if isinstance(layer, layers.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            total += 2 * kh * kw * out[1] * out[2] * out[3]
        elif isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            c_in = layer.input.shape[-1] // layer.groups
            total += 2 * kh * kw * c_in * out[1] * out[2] * out[3]
        elif isinstance(layer, layers.Conv1D):
            total += 2 * layer.kernel_size[0] * layer.input.shape[-1] * out[1] * out[2]
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.input.shape[-1] * out[-1]
    return int(total)


def summary_table(model: keras.Model) -> list[dict]:
    """Layers as rows students can read: name, type, output shape, parameters."""
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "output shape": " × ".join(str(d) for d in shape),
            "parameters": int(layer.count_params()),
        })
    return rows
