"""Every bad file gives its own message; every odd-but-valid file loads as RGB."""
from __future__ import annotations

import io

import numpy as np
import pytest
from badfiles import ODD_SIZES, PAGE, make_bad_files
from PIL import Image

from core.data import scan
from core.imageio import ImageInfo, ImageLoadError, load_image, load_image_at_least, probe_image


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_bad_files(folder)


def _cases(kind: str):
    # Build the names once without a folder; make_bad_files is deterministic.
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        expected = make_bad_files(folder)
    return [name for name, message in expected.items() if (message is None) == (kind == "good")]


@pytest.mark.parametrize("name", _cases("bad"))
def test_bad_file_gives_its_specific_message(corpus, name):
    folder, expected = corpus
    with pytest.raises(ImageLoadError) as caught:
        load_image(folder / name)
    message = str(caught.value)
    assert expected[name] in message
    assert name in message and "\n" not in message


@pytest.mark.parametrize("name", _cases("bad"))
def test_probe_refuses_bad_files_without_decoding(corpus, name):
    folder, expected = corpus
    with pytest.raises(ImageLoadError, match="truncated|empty|not an image|too small|megapixel"):
        probe_image(folder / name)


@pytest.mark.parametrize("name", _cases("good"))
def test_odd_but_valid_file_loads_as_rgb(corpus, name):
    folder, _ = corpus
    img = load_image(folder / name)
    assert img.mode == "RGB"
    assert img.size == ODD_SIZES.get(name, PAGE)


def test_sixteen_bit_is_scaled_not_clipped(corpus):
    folder, _ = corpus
    grey = np.asarray(load_image(folder / "sixteen_bit.png"))[..., 0]
    # The source ramps 0..65535; clipping at 255 would leave nearly every pixel white.
    assert grey.min() == 0 and grey.max() == 255
    assert 100 < np.median(grey) < 155


def test_transparent_palette_composites_on_white(corpus):
    folder, _ = corpus
    # Palette index 0 is transparent and it is the darkest entry of the gradient.
    original = Image.open(folder / "palette_transparent.png")
    transparent = np.asarray(original) == 0
    rgb = np.asarray(load_image(folder / "palette_transparent.png"))
    assert transparent.any() and (rgb[transparent] == 255).all()


def test_source_may_be_path_bytes_or_upload(corpus):
    folder, _ = corpus
    path = folder / "grey.png"
    upload = io.BytesIO(path.read_bytes())
    upload.name = "from the browser/grey.png"
    upload.read()  # a page may already have read it; loading must rewind
    images = [load_image(path), load_image(path.read_bytes()), load_image(upload)]
    assert all(np.array_equal(np.asarray(images[0]), np.asarray(img)) for img in images[1:])
    with pytest.raises(ImageLoadError, match="'notes.jpg' is not an image"):
        broken = io.BytesIO((folder / "notes.jpg").read_bytes())
        broken.name = "notes.jpg"
        load_image(broken)


def test_max_side_shrinks_large_jpeg_keeping_aspect():
    big = Image.fromarray(np.full((1572, 2213, 3), 200, np.uint8))
    data = io.BytesIO()
    big.save(data, "JPEG")
    small = load_image(data.getvalue(), max_side=512)
    assert small.size[0] == 512 and abs(small.size[1] - 512 * 1572 / 2213) < 1


def _encoded(size: tuple[int, int], fmt: str) -> bytes:
    rng = np.random.default_rng(0)  # texture, so a wrong decode scale would change the pixels
    data = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), np.uint8)).save(data, fmt)
    return data.getvalue()


@pytest.mark.parametrize(("min_side", "expected"), [
    (380, (554, 393)),    # a quarter of a full-size scan still covers a 320-px-wide network input
    (600, (1107, 786)),   # a quarter would not: half
    (2000, (2213, 1572)),
    (200, (277, 197)),
])
def test_at_least_decodes_a_jpeg_at_the_coarsest_scale_that_covers_min_side(min_side, expected):
    assert load_image_at_least(_encoded((2213, 1572), "JPEG"), min_side).size == expected


def test_at_least_box_reduces_other_formats_by_a_whole_factor():
    png = _encoded((2213, 1572), "PNG")
    reduced = load_image_at_least(png, 700)
    assert reduced.size == (738, 524)  # 2213 // 700 = 3
    full = np.asarray(load_image(png), dtype=float)
    np.testing.assert_allclose(np.asarray(reduced, dtype=float)[10, 10],
                               full[30:33, 30:33].mean(axis=(0, 1)), atol=0.51)
    assert load_image_at_least(_encoded((300, 200), "PNG"), 200).size == (300, 200)
    with pytest.raises(ValueError, match="min_side"):
        load_image_at_least(png, 8)


def test_probe_reads_the_header(corpus):
    folder, _ = corpus
    assert probe_image(folder / "cmyk.jpg") == ImageInfo(PAGE[0], PAGE[1], "CMYK", "JPEG")


def test_scan_of_corpus_lists_each_bad_file_once(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    folder, expected = corpus
    dataset = tmp_path / "data"
    dataset.mkdir()
    (dataset / "upload").symlink_to(folder, target_is_directory=True)
    result = scan(dataset)
    skipped = {path.rsplit("/", 1)[-1]: reason for path, reason in zip(result.skipped["path"], result.skipped["reason"])}
    bad = {name: message for name, message in expected.items() if message is not None}
    assert len(result.skipped) == len(bad)
    # ".gif.png" counts as PNG by extension, so the animated GIF is indexed too.
    assert sorted(result.index["relpath"].str.split("/").str[-1]) == sorted(set(expected) - set(bad))
    for name, message in bad.items():
        assert message in skipped[name]
