"""Squaring a sheet by its straight lines: a photographed grid comes out square, a square one is left alone."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ecg.reader.grid import grid_darkness
from core.ecg.reader.orientation import MIN_CLARITY, TILE, tile_directions
from core.ecg.reader.lines import find_squaring, fit_squaring, line_segments
from core.ecg.reader.sheet import find_sheet

SIZE = (960, 680)           # w, h
STEP = 40                   # grid line spacing in px (a 5 mm major line at 8 px per mm)


def _grid_sheet() -> np.ndarray:
    """Pink paper with a grid every ``STEP`` px and a wavy black trace across it."""
    w, h = SIZE
    sheet = np.full((h, w, 3), (250, 236, 236), np.uint8)
    for x in range(STEP, w, STEP):
        cv2.line(sheet, (x, 0), (x, h - 1), (235, 150, 150), 2)
    for y in range(STEP, h, STEP):
        cv2.line(sheet, (0, y), (w - 1, y), (235, 150, 150), 2)
    xs = np.arange(40, w - 40)
    for base in (170, 340, 510):
        ys = base - 30 * np.exp(-(((xs % 160) - 80) / 6.0) ** 2) + 6 * np.sin(xs / 23)
        cv2.polylines(sheet, [np.c_[xs, ys].round().astype(np.int32)], False, (20, 20, 20), 2)
    return sheet


def _photographed(sheet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sheet seen by a tilted camera (one side nearer, slightly turned), and the homography used."""
    w, h = SIZE
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = np.float32([[40, 30], [w - 10, 0], [w - 30, h - 5], [20, h - 60]])
    matrix = cv2.getPerspectiveTransform(corners, moved)
    return cv2.warpPerspective(sheet, matrix, SIZE, borderValue=(90, 70, 50)), matrix


def _level_spread(matrix: np.ndarray) -> float:
    """How far (px) points of one flat-sheet grid line end up apart across the other axis: the worst
    over three horizontal and three vertical lines."""
    w, h = SIZE
    spread = 0.0
    for fixed in (0.2, 0.5, 0.8):
        along = np.linspace(0.1, 0.9, 9)
        for points, axis in ((np.c_[along * w, np.full(9, fixed * h)], 1), (np.c_[np.full(9, fixed * w), along * h], 0)):
            mapped = cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), matrix).reshape(-1, 2)
            spread = max(spread, float(np.ptp(mapped[:, axis])))
    return spread


def test_a_sheet_photographed_at_an_angle_is_squared():
    photo, camera = _photographed(_grid_sheet())
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    fit = fit_squaring(line_segments(grey, 30), grey.shape)
    assert fit.applied, fit.fallback
    assert fit.aligned_after > fit.aligned_before
    assert _level_spread(camera) > 20                  # the photo's grid lines run 20+ px off level
    assert _level_spread(fit.matrix @ camera) < 1.5    # after squaring, within a pixel or so


def test_a_square_sheet_is_left_as_it_is():
    fit = find_squaring(_grid_sheet())
    assert not fit.applied and "no clear correction" in fit.fallback
    assert find_sheet(_grid_sheet()).quality["squared"] == 0


def test_a_turned_sheet_is_levelled_and_its_turn_reported():
    w, h = SIZE
    turned = cv2.warpAffine(_grid_sheet(), cv2.getRotationMatrix2D((w / 2, h / 2), 2.0, 1.0), SIZE,
                            borderValue=(250, 236, 236))
    sheet = find_sheet(turned)
    assert sheet.quality["squared"] == 1
    assert abs(sheet.rotation_deg + 2.0) < 0.05       # lines ran 2° up to the right: -2° in image axes
    grey = cv2.cvtColor(sheet.rgb, cv2.COLOR_RGB2GRAY)
    again = fit_squaring(line_segments(grey, 30), grey.shape)
    assert not again.applied                          # nothing left to square


def test_a_page_without_straight_lines_is_not_squared():
    rng = np.random.default_rng(0)
    blobs = np.full((SIZE[1], SIZE[0], 3), 255, np.uint8)
    for x, y in rng.integers(50, 600, (40, 2)):
        cv2.circle(blobs, (int(x), int(y)), int(rng.integers(3, 12)), (0, 0, 0), -1)
    fit = find_squaring(blobs)
    assert not fit.applied and "too few straight lines" in fit.fallback


def _faint_grid_photo() -> tuple[np.ndarray, np.ndarray]:
    """A pale 1 mm / 5 mm grid with no trace, photographed at an angle and left a little soft:
    no line runs long and crisp enough for the segment detector."""
    w, h = SIZE
    sheet = np.full((h, w, 3), (250, 240, 238), np.uint8)
    for i, x in enumerate(range(0, w, 8)):
        cv2.line(sheet, (x, 0), (x, h - 1), (238, 214, 212) if i % 5 else (228, 190, 188), 1)
    for i, y in enumerate(range(0, h, 8)):
        cv2.line(sheet, (0, y), (w - 1, y), (238, 214, 212) if i % 5 else (228, 190, 188), 1)
    photo, camera = _photographed(sheet)
    return cv2.GaussianBlur(photo, (3, 3), 0.8), camera


def test_tiles_read_the_grid_lines_slant():
    w, h = SIZE
    turned = cv2.warpAffine(_grid_sheet(), cv2.getRotationMatrix2D((w / 2, h / 2), 1.5, 1.0),
                            SIZE, borderValue=(250, 236, 236))
    darkness = np.minimum(grid_darkness(turned, False), 0.5)
    directions = tile_directions(darkness)
    assert len(directions) == (w // TILE) * (h // TILE)
    # Turned 1.5° anticlockwise on screen: lines rise to the right, -1.5° in image axes (y down).
    assert np.median([d.horizontal_deg for d in directions]) == pytest.approx(-1.5, abs=0.1)
    assert np.median([d.vertical_deg for d in directions]) == pytest.approx(-1.5, abs=0.1)
    assert min(d.horizontal_clarity for d in directions) > MIN_CLARITY


def test_a_faint_photographed_grid_is_squared_by_its_tiles():
    photo, camera = _faint_grid_photo()
    fit = find_squaring(photo)
    assert fit.applied and fit.evidence == "grid tiles", fit.fallback
    assert _level_spread(camera) > 20
    assert _level_spread(fit.matrix @ camera) < 3


@settings(max_examples=20, deadline=None)
@given(turn=st.floats(-6.0, 6.0), spacing=st.integers(60, 140), dash=st.integers(8, 30), phase=st.integers(0, 29))
def test_a_page_of_dashed_rules_is_levelled_by_its_ink_rows(turn, spacing, dash, phase):
    """Only dashes (a thresholded scan's rules and grid): no long line for Hough, yet the ink's row
    profile gives the turn to a tenth of a degree, whatever the spacing and the dashes."""
    from core.ecg.reader.sheet import _profile_skew_deg, _rotated

    page = np.full((800, 1100, 3), 255, np.uint8)
    for y in range(80, 760, spacing):
        for x in range(30 + phase, 1070, dash + 12):
            cv2.line(page, (x, y), (x + dash, y), (0, 0, 0), 2)
    turned = cv2.cvtColor(_rotated(page, turn), cv2.COLOR_RGB2GRAY)
    assert _profile_skew_deg(turned) == pytest.approx(-turn, abs=0.1)
