"""Every valid image gets an answer (issue #19): images of every Pillow mode, sizes from a few pixels to a
page, aspect ratios up to 1:20, flat colours, gradients, noise and text, through loading, the grid crop,
the page reader and prediction. Each gives a result, or an ``ImageLoadError`` whose message is one of
the loader's own — never a library's internal message, a numpy warning or a traceback.

CI runs a fixed, derandomised sample; ``HYPOTHESIS_PROFILE=long python -m pytest tests/test_any_valid_image.py``
runs many more examples.
"""
from __future__ import annotations

import io
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from core.imageio import ImageLoadError, load_image

settings.register_profile("ci", max_examples=40, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16", "I", "F")
# Where each mode can be stored: PNG holds most; CMYK goes to JPEG (as a print shop's would), 32-bit I and F to TIFF.
# No file format stores Pillow's "PA": its file form is a palette PNG with a transparent entry.
FORMATS = {"CMYK": "JPEG", "F": "TIFF", "I": "TIFF"}
OWN_MESSAGES = ("is not an image", "is empty", "could not be read", "is cut off", "limit", "too small",
                "save or export it")


@st.composite
def images(draw) -> bytes:
    """The bytes of an image file of any mode, size, aspect and content."""
    mode = draw(st.sampled_from(MODES))
    short = draw(st.integers(1, 300))
    aspect = draw(st.floats(1.0, 20.0))
    long_side = min(int(short * aspect), 1600)
    width, height = (long_side, short) if draw(st.booleans()) else (short, long_side)
    content = draw(st.sampled_from(("flat", "gradient", "noise", "text")))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if content == "flat":
        rgb = np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (height, width, 3))
    elif content == "gradient":
        ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
        rgb = np.broadcast_to(ramp * rng.uniform(0, 1, 3), (height, width, 3)).astype(np.uint8)
    elif content == "noise":
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        picture = Image.new("RGB", (width, height), "white")
        ImageDraw.Draw(picture).text((2, 2), "Minutes of the meeting, 12 May", fill="black")
        rgb = np.asarray(picture)
    picture = Image.fromarray(np.ascontiguousarray(rgb)).convert("RGBA" if mode in ("LA", "PA") else "RGB")
    extra = {}
    if mode == "I;16":
        picture = picture.convert("L").convert("I;16")
    elif mode == "PA":
        picture, extra = picture.convert("P"), {"transparency": 0}
    else:
        picture = picture.convert("RGB").convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, format=FORMATS.get(mode, "PNG"), **extra)
    return buffer.getvalue()


def loaded_or_refused(data: bytes) -> Image.Image | None:
    """The RGB image, or None when the loader refused it with one of its own messages."""
    try:
        image = load_image(data)
    except ImageLoadError as exc:
        assert any(own in str(exc) for own in OWN_MESSAGES), str(exc)
        return None
    assert image.mode == "RGB" and min(image.size) >= 1
    return image


@given(images())
def test_the_loader_and_the_grid_crop_answer_every_image(data):
    from core.ecg import find_grid_box

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = loaded_or_refused(data)
        if image is not None:
            box = find_grid_box(image)
            assert 0 <= box.x0 < box.x1 <= 1 and 0 <= box.y0 < box.y1 <= 1


@given(images())
def test_the_page_reader_answers_every_image(data):
    from core.ecg.reader import read_page

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = loaded_or_refused(data)
        if image is not None:
            reading = read_page(image)
            assert reading.readable is False and reading.reasons    # none of these is an ECG
            assert all(isinstance(r, str) and "NaN" not in r for r in reading.reasons)


@pytest.fixture(scope="module")
def shipped_bundle():
    from core.bundles import load_bundle
    from core.paths import PROJECT_ROOT

    return load_bundle(PROJECT_ROOT / "models" / "mendeley-leadnet")     # the Predict page's default


@settings(max_examples=12)
@given(images())
def test_prediction_answers_every_image(shipped_bundle, data):
    from core.use import analyse_image

    image = loaded_or_refused(data)
    if image is not None:
        result = analyse_image(shipped_bundle, data, name="upload.png")
        assert abs(sum(result.diagnosis.probabilities.values()) - 1) < 1e-3
        assert result.diagnosis.status in ("CONFIDENT", "UNCERTAIN", "NOT AN ECG")
