"""Turn any page image into the array a network sees: crop, colour mode, resize.

Training, evaluation, prediction and the benchmark all go through :func:`prepare_image`, and a
model bundle stores the :class:`Preprocessing` it was trained with, so an image is always
prepared the same way for a model as it was during training.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
from PIL import Image, ImageChops, ImageOps

from core.ecg.crop import find_grid_box
from core.imageio import load_image_at_least

COLOR_MODES = ("ink", "grayscale", "rgb")
CROPS = ("grid", "none")
RESIZES = ("stretch", "pad")


@dataclass(frozen=True)
class Preprocessing:
    """How a page becomes a network input.

    ``color_mode="ink"`` keeps the darkest channel's complement: black traces stay black while a
    pink, red, green or blue grid turns almost white, so the network sees the waveforms rather than
    the paper. ``crop="grid"`` cuts the page to its ECG grid, dropping the printed header and
    footer (patient ID, date, heart rate) that a model could otherwise cheat with.
    """

    height: int = 192
    width: int = 320
    color_mode: str = "ink"
    crop: str = "grid"
    resize: str = "stretch"

    def __post_init__(self) -> None:
        if self.color_mode not in COLOR_MODES:
            raise ValueError(f"color_mode must be one of {COLOR_MODES}, got {self.color_mode!r}")
        if self.crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {self.crop!r}")
        if self.resize not in RESIZES:
            raise ValueError(f"resize must be one of {RESIZES}, got {self.resize!r}")
        if not (16 <= self.height <= 2048 and 16 <= self.width <= 2048):
            raise ValueError(f"image size must be 16–2048 px a side, got {self.height}×{self.width}")

    @property
    def channels(self) -> int:
        return 3 if self.color_mode == "rgb" else 1

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    def key(self) -> str:
        """A short stable name for caches of prepared arrays."""
        return f"{self.height}x{self.width}-{self.color_mode}-{self.crop}-{self.resize}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessing":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def crop_page(img: Image.Image, spec: Preprocessing) -> Image.Image:
    """The part of the page the model is shown (the ECG grid when ``spec.crop == "grid"``)."""
    if spec.crop == "none":
        return img
    box = find_grid_box(img)
    if not box.found:
        return img
    w, h = img.size
    return img.crop((round(box.x0 * w), round(box.y0 * h), round(box.x1 * w), round(box.y1 * h)))


def _to_color_mode(img: Image.Image, color_mode: str) -> Image.Image:
    if color_mode == "rgb":
        return img.convert("RGB")
    if color_mode == "grayscale":
        return img.convert("L")
    # The brightest channel, per pixel; PIL's lighter() is ~15x faster than numpy's max over axis 2.
    red, green, blue = img.convert("RGB").split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def prepare_image(img: Image.Image, spec: Preprocessing) -> np.ndarray:
    """Crop, convert and resize one RGB page to a ``uint8`` array of ``spec.input_shape``."""
    page = _to_color_mode(crop_page(img, spec), spec.color_mode)
    size = (spec.width, spec.height)
    if spec.resize == "pad":
        page = ImageOps.pad(page, size, method=Image.Resampling.BOX, color="white")
    else:
        # BOX averages every source pixel, so a 1-px trace fades rather than vanishing.
        page = page.resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    return np.asarray(page, dtype=np.uint8).reshape(spec.input_shape)


# The grid of a landscape report covers ~95 % of its width and ~56 % of its longest side in height.
_GRID_HEIGHT_PER_SIDE = 0.56


def network_min_side(spec: Preprocessing) -> int:
    """Longest side a page must be decoded at so that its grid crop still has at least the network
    input's pixels (10 % to spare); a coarser decode would be upsampled, a finer one is wasted."""
    return int(1.1 * max(spec.width, spec.height / _GRID_HEIGHT_PER_SIDE)) + 1


def load_page(source, spec: Preprocessing) -> Image.Image:
    """Decode a page (path, bytes or file object) at the resolution ``spec``'s network input needs."""
    return load_image_at_least(source, network_min_side(spec))


def load_and_prepare(source, spec: Preprocessing) -> np.ndarray:
    """Load an image file (path, bytes or file object) and prepare it for a network."""
    return prepare_image(load_page(source, spec), spec)
