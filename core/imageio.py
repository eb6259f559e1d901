"""Open any image a user brings and return plain RGB, or fail with a message they can act on.

Users upload scans, phone photos, screenshots and whatever a browser saved under ``.jpg``.
Every failure is an ``ImageLoadError`` whose text names the file and says what to do, so pages
and the CLI can show it as is. Sizes are checked from the header before any pixel is decoded.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
MAX_PIXELS = 60_000_000     # an A4 page at 600 dpi is 35 MP; more is a mistake or a bomb
MIN_SIDE = 32               # below this no ECG lead is readable

ImageSource = Union[str, os.PathLike, bytes, bytearray, BinaryIO]

_LIMIT = f"{MAX_PIXELS / 1e6:g}-megapixel"
_SAVE_AS = "save or export it as PNG or JPEG and try again"


class ImageLoadError(ValueError):
    """An image that cannot be used; ``str(error)`` is a one-line message for the user."""


@dataclass(frozen=True)
class ImageInfo:
    """What the file header says: size in pixels, PIL mode and format (``"JPEG"``, ``"PNG"``...)."""

    width: int
    height: int
    mode: str
    format: str


def _read(source: ImageSource) -> tuple[bytes, str]:
    """All bytes of the source and its file name ("" for bare bytes: the caller shows its own)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), ""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return path.read_bytes(), path.name
        except OSError as error:
            raise ImageLoadError(f"'{path.name}' cannot be read ({error.strerror or error}).") from error
    name = Path(str(getattr(source, "name", "") or "")).name
    if source.seekable():
        source.seek(0)
    return source.read(), name


def _subject(name: str) -> str:
    """How a message names the file: quoted, or "This file" when only its bytes are known."""
    return f"'{name}'" if name else "This file"


_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")


def _looks_like(head: bytes) -> str | None:
    """Name the kind of non-image file from its first bytes, or None when it is unrecognisable."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"%pdf"):
        return "a PDF"
    if text.startswith(b"pk\x03\x04"):
        return "a ZIP archive"
    if head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1"}:
        return "an iPhone HEIC photo"
    if b"<svg" in text[:1024]:
        return "an SVG drawing"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in text[:1024]:
        return "an HTML web page"
    try:
        head[:1024].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text"


def _open(data: bytes, name: str) -> Image.Image:
    """Open (header only) with every size and content check; raises ImageLoadError."""
    if not data:
        raise ImageLoadError(f"{_subject(name)} is empty (0 bytes); the upload or copy did not finish.")
    try:
        with warnings.catch_warnings():
            # PIL only warns between its 89 MP and 179 MP limits; a warning here means a bomb.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageLoadError(
            f"{_subject(name)} is above the {_LIMIT} limit ({error}); scale it down and try again."
        ) from error
    except UnidentifiedImageError as error:
        if data.startswith(_IMAGE_SIGNATURES):      # an image's first bytes, the rest cut off or damaged
            raise _truncated(name) from error
        kind = _looks_like(data[:2048])
        what = f"it looks like {kind}" if kind else "its content is not a format we can read"
        raise ImageLoadError(f"{_subject(name)} is not an image ({what}); {_SAVE_AS}.") from error
    except Exception as error:  # a header cut short: OSError, SyntaxError, struct.error, EOFError...
        raise _truncated(name) from error
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise ImageLoadError(
            f"{_subject(name)} is {width}×{height} px, above the {_LIMIT} limit; "
            "scale it down and try again."
        )
    if min(width, height) < MIN_SIDE:
        raise ImageLoadError(
            f"{_subject(name)} is too small ({width}×{height} px) to be an ECG page; "
            f"use an image at least {MIN_SIDE} px on each side."
        )
    return img


def _truncated(name: str) -> ImageLoadError:
    """The decoder's own words ("31 bytes not processed") stay in the exception chain, for logs."""
    return ImageLoadError(f"{_subject(name)} is truncated or corrupt (its data ends early or is damaged); "
                          "download or copy it again.")


def _jpeg_is_complete(data: bytes) -> bool:
    # Entropy-coded JPEG data never contains FF D9, so a file cut short has no end marker in its tail.
    return b"\xff\xd9" in data[-1024:]


def probe_image(source: ImageSource) -> ImageInfo:
    """Read the header and run PIL's cheap integrity check; raises ImageLoadError on any problem."""
    data, name = _read(source)
    img = _open(data, name)
    info = ImageInfo(img.width, img.height, img.mode, img.format or "")
    if info.format == "JPEG" and not _jpeg_is_complete(data):
        raise _truncated(name)
    try:
        img.verify()
    except Exception as error:  # PIL raises SyntaxError, OSError, struct.error... for broken files
        raise _truncated(name) from error
    return info


def _to_8bit_grey(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit grey to 8-bit, scaling the full 16-bit range instead of clipping at 255."""
    values = np.asarray(img, dtype=np.float64)
    if values.max(initial=0) > 255:
        values = values / 257.0
    return Image.fromarray(np.clip(values, 0, 255).round().astype(np.uint8), mode="L")


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to RGB; transparent areas become white paper, not black."""
    if img.mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        return _to_8bit_grey(img).convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return img.convert("RGB")


def load_image(source: ImageSource, *, max_side: int | None = None) -> Image.Image:
    """Decode an image to RGB, upright per EXIF, with its longest side at most ``max_side``.

    ``source`` is a path, the file's bytes, or a binary file object (a Streamlit upload).
    JPEGs are decoded at a reduced scale when ``max_side`` allows, which is several times faster.
    Raises ImageLoadError with a user-facing message for anything unusable.
    """
    if max_side is not None and max_side < MIN_SIDE:
        raise ValueError(f"max_side must be at least MIN_SIDE={MIN_SIDE}. Got {max_side!r} instead.")
    rgb = _decode(source, draft_side=max_side)
    if max_side is not None:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return rgb


def load_image_at_least(source: ImageSource, min_side: int) -> Image.Image:
    """Decode an image to RGB, upright per EXIF, at the coarsest cheap scale whose longest side is
    still at least ``min_side``: a JPEG at 1/2, 1/4 or 1/8 of its size straight from the DCT
    (libjpeg's scaled decode, a proper low-pass), anything else box-reduced by an integer factor.

    For callers that resize to their own size afterwards (the network input): it skips the
    resampling :func:`load_image` does, and on a full-size scan decodes a quarter of the pixels.
    """
    if min_side < MIN_SIDE:
        raise ValueError(f"min_side must be at least MIN_SIDE={MIN_SIDE}. Got {min_side!r} instead.")
    rgb = _decode(source, draft_side=min_side)
    factor = max(rgb.size) // min_side
    return rgb.reduce(factor) if factor >= 2 else rgb


def _decode(source: ImageSource, *, draft_side: int | None) -> Image.Image:
    """RGB pixels of the first frame, upright per EXIF; a JPEG at the coarsest DCT scale that keeps
    its longest side at least ``draft_side``."""
    data, name = _read(source)
    img = _open(data, name)
    if draft_side is not None and img.format == "JPEG":
        scale = draft_side / max(img.size)
        if scale < 1:
            img.draft("RGB", (int(img.width * scale) + 1, int(img.height * scale) + 1))
    try:
        img.seek(0)  # first frame of an animation
        img.load()
        img = ImageOps.exif_transpose(img)
    except Exception as error:  # OSError "image file is truncated", SyntaxError, zlib errors...
        raise _truncated(name) from error
    return _to_rgb(img)
