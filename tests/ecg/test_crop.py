"""The grid box: same fractions at any size, grid colour, lighting and capture; nothing found on a
photo without a sheet or grid."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from core.ecg import crop_to_grid, find_grid_box
from core.imageio import load_image
from core.paths import SHARED_MENDELEY_DIR
from core.synth.effects import capture, map_box

GRID = (0.05, 0.20, 0.95, 0.90)  # x0, y0, x1, y1 of the drawn grid
PINK = ((255, 200, 200), (230, 120, 120))  # minor, major lines


def _report_page(width: int, height: int, colours=PINK) -> Image.Image:
    """A white page: black header text blocks, a grid with a trace, a black footer line of text."""
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    x0, y0, x1, y1 = (round(f * s) for f, s in zip(GRID, (width, height, width, height)))
    step = max(2, round(width / 150))
    for i, x in enumerate(range(x0, x1 + 1, step)):
        draw.line([(x, y0), (x, y1)], fill=colours[i % 5 == 0], width=1)
    for i, y in enumerate(range(y0, y1 + 1, step)):
        draw.line([(x0, y), (x1, y)], fill=colours[i % 5 == 0], width=1)
    draw.rectangle([x0, y0, x1, y1], outline=colours[1], width=max(1, width // 500))
    xs = np.linspace(x0, x1, 400)
    trace = (y0 + y1) / 2 - 0.1 * height * np.sin(xs / width * 40) ** 9
    draw.line(list(zip(xs, trace)), fill="black", width=max(1, width // 400))
    for fx in (0.05, 0.3, 0.6):  # header and footer "text"
        draw.rectangle([fx * width, 0.05 * height, (fx + 0.2) * width, 0.09 * height], fill="black")
        draw.rectangle([fx * width, 0.94 * height, (fx + 0.1) * width, 0.96 * height], fill="black")
    return page


def _assert_box_near_grid(box, tolerance=0.02):
    assert box.found
    assert np.allclose([box.x0, box.y0, box.x1, box.y1], GRID, atol=tolerance), box


@pytest.mark.parametrize("size", [(1106, 786), (2213, 1572), (500, 700)])
def test_pink_grid_box_is_the_same_fraction_at_any_size(size):
    _assert_box_near_grid(find_grid_box(_report_page(*size)))


@pytest.mark.parametrize("colours", [
    ((200, 235, 200), (90, 170, 90)),     # green
    ((200, 215, 245), (100, 130, 220)),   # blue
    ((225, 225, 225), (175, 175, 175)),   # grey
])
def test_other_grid_colours(colours):
    _assert_box_near_grid(find_grid_box(_report_page(1100, 800, colours)))


def test_rotated_page_box_still_excludes_header_and_footer():
    rotated = _report_page(1100, 800).rotate(3, expand=False, fillcolor="white", resample=Image.BICUBIC)
    box = find_grid_box(rotated)
    # The tilted grid's bounding box reaches 3 % further; header ends at 9 %, footer starts at 94 %.
    assert box.found and 0.12 < box.y0 < 0.2 and 0.9 < box.y1 < 0.94


def _unevenly_lit(page: Image.Image, tint=(1.0, 0.97, 0.85), darkest=0.7) -> Image.Image:
    """Yellowed paper under a light that fades towards the top-left corner."""
    w, h = page.size
    yy, xx = np.mgrid[0:h, 0:w]
    light = darkest + (1 - darkest) * (0.6 * xx / w + 0.4 * yy / h)
    pixels = np.asarray(page, np.float32) * np.asarray(tint, np.float32) * light[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("colours", [PINK, ((200, 235, 200), (90, 170, 90))])
def test_tinted_unevenly_lit_paper(colours):
    # The paper itself looks coloured and grey here; without flat-fielding no box is found.
    _assert_box_near_grid(find_grid_box(_unevenly_lit(_report_page(1106, 786, colours))))


@pytest.mark.parametrize("seed", range(4))
def test_phone_photo_of_a_page_on_a_table(seed):
    # The synthetic photographer: smaller, tilted sheet in perspective on a desk, shading, blur.
    photo, shot = capture(_report_page(1106, 786), np.random.default_rng(seed), photo=True)
    box = find_grid_box(photo)
    assert box.found
    assert np.allclose([box.x0, box.y0, box.x1, box.y1], map_box(GRID, shot.homography), atol=0.02), box


def test_photo_without_grid_gives_whole_image():
    rng = np.random.default_rng(0)
    blobs = ndimage.gaussian_filter(rng.random((300, 400, 3)), sigma=(12, 12, 0))
    photo = Image.fromarray((255 * (blobs - blobs.min()) / np.ptp(blobs)).astype(np.uint8))
    assert not find_grid_box(photo).found
    assert crop_to_grid(photo).size == photo.size


def test_crop_keeps_grid_and_drops_header():
    page = _report_page(1106, 786)
    cropped = np.asarray(crop_to_grid(page, margin=0.0))
    assert abs(cropped.shape[1] - 0.9 * 1106) < 0.03 * 1106
    assert abs(cropped.shape[0] - 0.7 * 786) < 0.03 * 786
    # The only black left is the trace: no header/footer blocks (which are 4 % of the height).
    black_rows = (cropped.max(axis=2) < 60).any(axis=1).sum()
    assert black_rows < 0.3 * cropped.shape[0]


@pytest.mark.mendeley
def test_real_pages_box_is_the_pink_rectangle():
    if not SHARED_MENDELEY_DIR.is_dir():
        pytest.skip(f"{SHARED_MENDELEY_DIR} is absent")
    paths = sorted(SHARED_MENDELEY_DIR.rglob("*.jpg"))[::40]
    for path in paths:
        box = find_grid_box(load_image(path))
        # Header text ("ECG REPORT", ID) ends above 17 % and the footer date starts below 96.5 %.
        assert box.found and 0.025 < box.x0 < 0.04 and 0.975 < box.x1 < 0.99, (path.name, box)
        assert 0.17 < box.y0 < 0.19 and 0.955 < box.y1 < 0.975, (path.name, box)
