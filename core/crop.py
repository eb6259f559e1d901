"""Find the ECG grid on a report page and crop away the header and footer around it.

Report pages print a patient ID, a date and the heart rate above and below the grid; a model
trained on whole pages can learn those instead of the waveforms. Everything here is measured in
fractions of the image on a small working copy, so the same page scanned at any resolution, another
printer's layout or a phone photo gives the same box.

How: grid lines are thin and either coloured (pink, red, orange, green, blue) or light grey, while
text and traces are dark. We mark thin grid-like pixels, project them on rows and columns, and take
the longest run of rows (columns) that contain grid pixels. Pages without enough thin grid pixels
(photos, drawings) come back with ``found=False`` and the whole image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

WORK_SIDE = 400            # longest side of the working copy, in pixels
_CHROMA_MIN = 20           # max-min over RGB: pink grid on this template is 25-50, JPEG noise < 10
_INK_DARKNESS = 90         # darker than paper by this much is text or trace, never grid
_GREY_DARKNESS = 12        # lighter grey than this is paper texture or JPEG noise
_MIN_LINE_PIXELS = 1       # a row or column needs at least this many grid pixels to count as inside
_LINE_SHARE = 0.1          # ...and a tenth of what a typical grid row (column) has, to ignore specks
_GAP_FRACTION = 0.03       # bridge gaps (a lead label over the grid) up to this share of the side
_MIN_BOX_FRACTION = 0.25   # a box narrower or shorter than this is not an ECG grid
_MIN_THIN_SHARE = 0.5      # share of grid-like pixels that must be thin (lines, not blobs)


@dataclass(frozen=True)
class GridBox:
    """Grid rectangle in fractions of the image width/height; ``found`` is False for the fallback."""

    x0: float
    y0: float
    x1: float
    y1: float
    found: bool

    def pixels(self, width: int, height: int, *, margin: float = 0.0) -> tuple[int, int, int, int]:
        """The box as a PIL crop tuple for an image of this size, grown by ``margin`` on each side."""
        return (
            max(0, round((self.x0 - margin) * width)),
            max(0, round((self.y0 - margin) * height)),
            min(width, round((self.x1 + margin) * width)),
            min(height, round((self.y1 + margin) * height)),
        )


WHOLE_IMAGE = GridBox(0.0, 0.0, 1.0, 1.0, found=False)


def _working_copy(img: Image.Image) -> np.ndarray:
    """RGB uint8 array of the image shrunk so its longest side is at most WORK_SIDE."""
    small = img.convert("RGB")
    scale = WORK_SIDE / max(small.size)
    if scale < 1:
        size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
        # BOX averages thin lines into lighter lines instead of dropping them between samples.
        small = small.resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    return np.asarray(small)


def _grid_masks(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of coloured grid pixels and of light-grey grid pixels."""
    # Element-wise over channel planes: numpy reductions along a length-3 axis are ~10x slower.
    red, green, blue = (rgb[..., channel].astype(np.int16) for channel in range(3))
    high = np.maximum(np.maximum(red, green), blue)
    low = np.minimum(np.minimum(red, green), blue)
    luminance = (red + green + blue) // 3
    paper = np.percentile(luminance, 90)
    darkness = paper - luminance
    ink = darkness > _INK_DARKNESS
    # Anti-aliased edges of text are grey too; grid pixels never touch the ink.
    near_ink = ndimage.binary_dilation(ink, iterations=2)
    colour = (high - low >= _CHROMA_MIN) & (high >= 100) & ~near_ink
    grey = (darkness >= _GREY_DARKNESS) & ~ink & ~near_ink & ~colour
    return colour, grey


def _thin_share(mask: np.ndarray) -> float:
    """Share of mask pixels that a 3x3 opening removes: ~1 for lines, ~0 for filled regions."""
    total = mask.sum()
    if total == 0:
        return 0.0
    opened = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))
    return float((mask & ~opened).sum() / total)


def _dense(counts: np.ndarray) -> np.ndarray:
    """Rows (columns) holding enough grid pixels; "enough" scales with how dense this grid is."""
    typical = np.percentile(counts[counts > 0], 90) if counts.any() else 0
    return counts >= max(_MIN_LINE_PIXELS, _LINE_SHARE * typical)


def _longest_run(active: np.ndarray, max_gap: int) -> tuple[int, int] | None:
    """Start and end (exclusive) of the longest run of True, bridging gaps up to ``max_gap``."""
    closed = ndimage.binary_closing(active, structure=np.ones(max_gap + 1, bool)) | active
    labels, count = ndimage.label(closed)
    if count == 0:
        return None
    lengths = np.bincount(labels.ravel())[1:]
    index = np.flatnonzero(labels == int(lengths.argmax()) + 1)
    # Closing can grow a run past the last True cell; trim back to real grid rows/columns.
    inside = index[active[index]]
    return int(inside[0]), int(inside[-1]) + 1


def _box_from_mask(mask: np.ndarray) -> GridBox | None:
    """The dense-grid rectangle of a mask, or None when it is too small to be a grid."""
    height, width = mask.shape
    rows = _longest_run(_dense(mask.sum(axis=1)), max(1, round(_GAP_FRACTION * height)))
    cols = _longest_run(_dense(mask.sum(axis=0)), max(1, round(_GAP_FRACTION * width)))
    if rows is None or cols is None:
        return None
    box = GridBox(cols[0] / width, rows[0] / height, cols[1] / width, rows[1] / height, found=True)
    if box.x1 - box.x0 < _MIN_BOX_FRACTION or box.y1 - box.y0 < _MIN_BOX_FRACTION:
        return None
    return box


def find_grid_box(img: Image.Image) -> GridBox:
    """Locate the ECG grid; returns ``WHOLE_IMAGE`` (``found=False``) when nothing grid-like is seen."""
    colour, grey = _grid_masks(_working_copy(img))
    for mask in (colour, grey):
        if _thin_share(mask) < _MIN_THIN_SHARE:
            continue
        box = _box_from_mask(mask)
        if box is not None:
            return box
    return WHOLE_IMAGE


def crop_to_grid(img: Image.Image, *, margin: float = 0.0) -> Image.Image:
    """Crop to the grid box grown by ``margin`` (fraction of each side); the image itself if none found.

    The default is no margin: on the Mendeley template a 1 % margin already takes in the lower edge
    of the "Report Confirmed by" line and the top of the footer date.
    """
    box = find_grid_box(img)
    if not box.found:
        return img
    return img.crop(box.pixels(img.width, img.height, margin=margin))
