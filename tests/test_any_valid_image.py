"""Every valid image gets an answer (issue #19): images of every Pillow mode, sizes from a few pixels to a
page, aspect ratios up to 1:20, flat colours, gradients, noise and text, through loading, the grid crop,
the page reader, prediction, the ECG check, ``python -m core predict`` and the Predict page. Each gives
a result, or an ``ImageLoadError`` whose message is one of the loader's own — never a library's internal
message, a numpy warning or a traceback.

CI runs a fixed, derandomised sample (the whole-app entry points, a few seconds an image, fewer);
``HYPOTHESIS_PROFILE=long python -m pytest tests/test_any_valid_image.py`` runs many more examples.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import tempfile
import warnings
from pathlib import Path

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
# The whole-app entry points (a model, a page reading, a page script per image) take seconds an image.
WHOLE_APP = settings(max_examples=8 if settings.default.max_examples <= 40 else 150)

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


@settings(max_examples=12 if settings.default.max_examples <= 40 else 200)
@given(images())
def test_prediction_answers_every_image(shipped_bundle, data):
    from core.use import analyse_image

    image = loaded_or_refused(data)
    if image is not None:
        result = analyse_image(shipped_bundle, data, name="upload.png")
        assert abs(sum(result.diagnosis.probabilities.values()) - 1) < 1e-3
        assert result.diagnosis.status in ("CONFIDENT", "UNCERTAIN", "NOT AN ECG")


def _clean(text: str) -> None:
    """No trace of a traceback or of a library's internal wording in what a user reads."""
    for leak in ("Traceback", "NaN", "nan,", "Error:", "slice encountered", "numpy", "Exception"):
        assert leak not in text, text


@given(images())
def test_the_ecg_check_answers_every_image(data):
    from core.ecg.reader import read_page
    from core.use.ecg_check import OUTCOMES, check_outcome, ecg_evidence

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = loaded_or_refused(data)
        if image is not None:
            evidence = ecg_evidence(read_page(image), image)
            outcome = check_outcome(evidence)
            assert outcome.outcome in OUTCOMES and 0 <= outcome.score <= 1 and math.isfinite(outcome.score)
            assert outcome.reasons and all(isinstance(r, str) for r in outcome.reasons)
            for reason in outcome.reasons:
                _clean(reason)


def _cli_rows(argv: list[str]) -> tuple[int, list[dict], str]:
    """``python -m core ...`` in this process: exit code, JSON rows on stdout, stderr."""
    from core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()], err.getvalue()


@WHOLE_APP
@given(images(), st.booleans())
def test_the_predict_command_answers_every_image(data, cam):
    from core.paths import PROJECT_ROOT

    with tempfile.TemporaryDirectory(prefix="any-image-") as tmp:
        path = Path(tmp) / "upload.img"
        path.write_bytes(data)
        extra = ["--cam", str(Path(tmp) / "cams")] if cam else []
        code, rows, err = _cli_rows(["predict", "--model", str(PROJECT_ROOT / "models" / "mendeley-leadnet"),
                                     str(path), "--json", *extra])
        [row] = rows
        _clean(err)
        if "error" in row:
            assert code == 1 and any(own in row["error"] for own in OWN_MESSAGES), row["error"]
        else:
            assert code == 0 and row["status"] in ("CONFIDENT", "UNCERTAIN", "NOT AN ECG")
            assert abs(sum(row["probabilities"].values()) - 1) < 1e-2
            assert row["ecg_check"]["reasons"]
            assert not cam or Path(row["cam"]).is_file()
            for reason in [*row.get("reasons", []), *row["ecg_check"]["reasons"]]:
                _clean(reason)


@pytest.fixture(scope="module")
def predict_page(tmp_path_factory):
    """The Predict page with the shipped model, opened once: each example uploads another image."""
    from streamlit.testing.v1 import AppTest

    from core.paths import PROJECT_ROOT

    models = tmp_path_factory.mktemp("any-image-models")
    shutil.copytree(PROJECT_ROOT / "models" / "mendeley-leadnet", models / "mendeley-leadnet")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ECG_LAB_MODELS", str(models))
        at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=300)
        at.run()
        at.switch_page("pages/predict.py").run()
        assert not at.exception, [e.value for e in at.exception]
        yield at


@WHOLE_APP
@given(images())
def test_the_predict_page_answers_every_image(predict_page, data):
    at = predict_page
    at.file_uploader(key="predict_upload").upload("upload.png", data, "image/png")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    for text in errors:
        assert "Something went wrong" not in text, text
        _clean(text)
    refused = [e for e in errors if e.startswith("Could not read")]
    if refused:
        assert len(refused) == 1 and any(own in refused[0] for own in OWN_MESSAGES), refused
    else:
        assert any("Result for upload.png" in m.value for m in at.markdown)
