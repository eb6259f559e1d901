"""The 12-lead signal CNN: one small 1-D encoder shared by every lead, plus a rhythm-strip branch.

Sharing the encoder across leads (a (1, k) Conv2D over the (lead, time) plane is a 1-D convolution
applied to each lead on its own) keeps the model small for a few hundred training pages and makes it
indifferent to whether the leads were recorded at the same moment (3x4 columns are not, 12x1 rows
are). Lead identity comes back after pooling: each lead's features keep their place in the flattened
vector. ``last_conv`` is (leads, time, filters), so a 1-D Grad-CAM per lead over time falls out of
it; ``rhythm_last_conv`` does the same for the 10 s strip.
"""
from __future__ import annotations

import keras
from keras import layers

from core.learn.models import LAST_CONV
from core.learn.signal_data import RHYTHM_N, SEGMENT_N
from core.synth.waveforms import LEADS

RHYTHM_LAST_CONV = "rhythm_last_conv"
SIGNAL_ARCH = "signalnet"


def _lead_block(x, filters: int, kernel: int, name: str, *, activation_name: str | None = None):
    """Conv (1 × kernel, stride 2 in time) → BN → ReLU on every lead with the same weights."""
    x = layers.Conv2D(filters, (1, kernel), strides=(1, 2), padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=activation_name or f"{name}_relu")(x)


def _rhythm_block(x, filters: int, kernel: int, name: str, *, activation_name: str | None = None):
    x = layers.Conv1D(filters, kernel, strides=2, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=activation_name or f"{name}_relu")(x)


def build_signalnet(n_classes: int, *, filters: tuple[int, ...] = (12, 16, 24, 32), kernel: int = 7,
                    dense: int = 64, dropout: float = 0.3, rhythm: bool = True) -> keras.Model:
    """The functional signal model: inputs ``leads`` (12, 1250, 2) and ``rhythm`` (5000, 2) (see
    ``core.learn.signal_data.SIGNAL_SPEC``), softmax over ``n_classes``."""
    leads_in = keras.Input((len(LEADS), SEGMENT_N, 2), name="leads")
    rhythm_in = keras.Input((RHYTHM_N, 2), name="rhythm")
    # 250 Hz is plenty for what is read at 25 mm/s (a 0.2 mm pen is 8 ms) and halves the cost.
    x = layers.AveragePooling2D((1, 2), name="lead_downsample")(leads_in)
    for i, f in enumerate(filters):
        last = i == len(filters) - 1
        x = _lead_block(x, f, kernel if i < 2 else 5, f"lead{i + 1}", activation_name=LAST_CONV if last else None)
    steps = x.shape[2]
    per_lead = layers.Concatenate(name="lead_pool")([
        layers.MaxPooling2D((1, steps), name="lead_max")(x), layers.AveragePooling2D((1, steps), name="lead_avg")(x)])
    features = [layers.Flatten(name="lead_features")(per_lead)]
    if rhythm:
        r = layers.AveragePooling1D(2, name="rhythm_downsample")(rhythm_in)
        for i, f in enumerate((*filters, filters[-1])):
            last = i == len(filters)
            r = _rhythm_block(r, f, kernel, f"rhythm{i + 1}", activation_name=RHYTHM_LAST_CONV if last else None)
        features += [layers.GlobalMaxPooling1D(name="rhythm_max")(r), layers.GlobalAveragePooling1D(name="rhythm_avg")(r)]
    x = layers.Concatenate(name="features")(features) if len(features) > 1 else features[0]
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(dense, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout2")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="predictions")(x)
    inputs = {"leads": leads_in, "rhythm": rhythm_in} if rhythm else {"leads": leads_in}
    return keras.Model(inputs, outputs, name=SIGNAL_ARCH)
