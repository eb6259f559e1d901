"""The model catalogue: what the Train page and CLI offer, and where transfer weights must be.

Kept free of TensorFlow so pages can list models without the 5-second TensorFlow import.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import WeightsUnavailable


@dataclass(frozen=True)
class Architecture:
    """What the Train page and the CLI offer, and what each model needs."""

    key: str
    label: str
    description: str
    needs_rgb: bool = False
    transfer: bool = False
    weights_file: str = ""  # ImageNet "no top" weights file that Keras would download


ARCHITECTURES: dict[str, Architecture] = {
    a.key: a
    for a in (
        Architecture(
            "compact",
            "Compact lead-grid CNN (default)",
            "A 5×5 stride-2 convolution, four small conv blocks, then max- and average-pooling inside "
            "each lead panel of the 3×4 + rhythm layout, so the classifier knows which lead a feature "
            "came from and how often it occurs. Built for 2 CPU cores.",
        ),
        Architecture(
            "leadnet",
            "Lead-panel CNN (real pages)",
            "The lead-grid idea at twice the resolution per lead (e.g. 384×640 ink): a stride-2 stem, "
            "one conv encoder over the whole grid, then per lead row a time convolution that keeps "
            "beat-to-beat timing, and max + average pooling inside each of the 4×4 lead cells. An ink "
            "gate lets only features on a trace through, so Grad-CAM shows the waves that mattered.",
        ),
        Architecture(
            "leadnet_hr",
            "Lead-panel CNN, high resolution (real pages)",
            "The lead-panel CNN at about 1.4× its resolution per lead (e.g. 448×768 ink), with narrower "
            "early blocks to keep the cost down and one more conv at 1/16 so each feature sees about "
            "a beat and a half of its lead.",
        ),
        Architecture(
            "seed_cnn",
            "Original notebook CNN",
            "The reference CNN of the original notebooks: three conv/pool blocks, Flatten, Dense 256. "
            "About 22 M parameters, almost all in the first Dense layer.",
            needs_rgb=True,
        ),
        Architecture("vgg16", "VGG16 (transfer)", "ImageNet VGG16 base, as in the original notebook.",
                     needs_rgb=True, transfer=True,
                     weights_file="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        Architecture("resnet50", "ResNet50 (transfer)", "ImageNet ResNet50 base.",
                     needs_rgb=True, transfer=True,
                     weights_file="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        Architecture("mobilenetv2", "MobileNetV2 (transfer)", "ImageNet MobileNetV2 base (fast).",
                     needs_rgb=True, transfer=True,
                     weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"),
        Architecture("efficientnetb0", "EfficientNetB0 (transfer)", "ImageNet EfficientNetB0 base.",
                     needs_rgb=True, transfer=True, weights_file="efficientnetb0_notop.h5"),
    )
}


# Not in ARCHITECTURES: that catalogue is of image models (build_model, the tuner and the CLI take its
# keys); the Train page offers this one next to them and trains it with core.learn.signal_job.
SIGNAL_ARCHITECTURE = Architecture(
    "signalnet",
    "Signal CNN (digitised leads)",
    "One small 1-D convolution encoder shared by the twelve leads (2.5 s each, in mV) plus a branch for "
    "the 10 s rhythm strip; pooling per lead keeps the lead each feature came from. About 80 k parameters.",
)


def keras_weights_dir() -> Path:
    """Where Keras caches downloaded weights (``$KERAS_HOME/models`` or ``~/.keras/models``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def expected_weights_path(arch: str, input_rows: int = 224) -> Path:
    """The file Keras would have downloaded for ``arch``; placing it there enables transfer learning."""
    spec = ARCHITECTURES[arch]
    rows = input_rows if input_rows in (96, 128, 160, 192, 224) else 224
    return keras_weights_dir() / spec.weights_file.format(rows=rows)


def find_imagenet_weights(arch: str, input_rows: int = 224, weights_path: str | Path | None = None) -> Path:
    """Return a local ImageNet weights file for ``arch`` or raise :class:`WeightsUnavailable`
    naming exactly which file to place where."""
    candidate = Path(weights_path) if weights_path else expected_weights_path(arch, input_rows)
    if candidate.is_file():
        return candidate
    raise WeightsUnavailable(
        f"No ImageNet weights for {ARCHITECTURES[arch].label} on this machine, and they cannot be "
        f"downloaded here. Place the file '{candidate.name}' in '{candidate.parent}' (or name a "
        "weights file), or train the compact CNN from scratch instead."
    )
