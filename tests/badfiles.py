"""A corpus of broken and odd image files, for any test that must survive what users upload.

``make_bad_files(folder)`` writes the files and returns, for each file name, the substring its
``ImageLoadError`` message must contain, or ``None`` for odd-but-valid files that must load.
``ODD_SIZES`` gives the RGB size those files must load at (after EXIF rotation).
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

PAGE = (64, 48)   # width, height of the small valid pictures
ODD_SIZES = {"exif_rotated.jpg": (PAGE[1], PAGE[0])}  # orientation 6 turns the page upright: w and h swap


def _picture(mode: str = "RGB") -> Image.Image:
    gradient = np.linspace(0, 255, PAGE[0] * PAGE[1] * 3).reshape(PAGE[1], PAGE[0], 3).astype(np.uint8)
    return Image.fromarray(gradient, "RGB").convert(mode)


def _encoded(img: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose header claims a huge size (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    return _encoded(_picture(), "JPEG", exif=exif.tobytes())


def _animated_gif() -> bytes:
    frames = [_picture("P"), _picture("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).convert("P")]
    return _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _palette_with_transparency() -> bytes:
    img = _picture("P")
    return _encoded(img, "PNG", transparency=0)


def _sixteen_bit() -> bytes:
    values = np.linspace(0, 65535, PAGE[0] * PAGE[1]).reshape(PAGE[1], PAGE[0]).astype(np.uint16)
    return _encoded(Image.fromarray(values), "PNG")  # uint16 arrays become mode I;16


def make_bad_files(folder: str | Path) -> dict[str, str | None]:
    """Write the corpus into ``folder``; return {file name: expected message substring or None}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    jpeg, png = _encoded(_picture(), "JPEG"), _encoded(_picture(), "PNG")
    files: dict[str, tuple[bytes, str | None]] = {
        "empty.jpg": (b"", "is empty (0 bytes)"),
        "truncated_header.jpg": (jpeg[: len(jpeg) // 2], "is truncated or corrupt"),
        "truncated_header.png": (png[: len(png) // 2], "is truncated or corrupt"),
        "truncated_pixels.jpg": (jpeg[:-64], "is truncated or corrupt"),  # header intact, scan data cut
        "first_bytes_only.jpg": (jpeg[:20], "is truncated or corrupt"),    # too little for PIL to name it
        "first_bytes_only.png": (png[:12], "is truncated or corrupt"),
        "notes.jpg": (b"Patient list\nID 1234, 65 bpm\n", "it looks like text"),
        "saved_page.jpg": (b"<!DOCTYPE html><html><body>Sign in</body></html>", "it looks like an HTML web page"),
        "drawing.png": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "it looks like an SVG drawing"),
        "report.jpg": (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "it looks like a PDF"),
        "vector.jpg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "it looks like an SVG drawing"),
        "one_pixel.png": (_encoded(Image.new("RGB", (1, 1)), "PNG"), "is too small (1×1 px)"),
        "bomb.png": (_png_claiming(30_000, 30_000), "above the 60-megapixel limit"),  # PIL itself refuses
        "huge.png": (_png_claiming(10_000, 7_000), "is 10000×7000 px, above the 60-megapixel limit"),
        "square_20000.png": (_png_claiming(20_000, 20_000), "above the 60-megapixel limit"),  # 400 MP: a bomb to PIL
        "cmyk.jpg": (_encoded(_picture("CMYK"), "JPEG"), None),
        "sixteen_bit.png": (_sixteen_bit(), None),
        "palette_transparent.png": (_palette_with_transparency(), None),
        "grey.png": (_encoded(_picture("L"), "PNG"), None),
        "exif_rotated.jpg": (_exif_rotated(), None),
        "animated.gif.png": (_animated_gif(), None),  # .gif is no dataset type; the content still loads
        "caf\udce9_latin1.PNG": (png, None),  # byte 0xE9 alone: a Latin-1 name, not valid UTF-8
        "l" + "o" * 200 + "ng.png": (png, None),
        "x" * 251 + ".jpg": (jpeg, None),  # 255 bytes: the longest name Linux allows
        "<script>alert(1)<script>.jpg": (jpeg, None),  # no "/" possible in a file name
        "**bold** [x](y).JPG": (jpeg, None),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: expected for name, (_, expected) in files.items()}
