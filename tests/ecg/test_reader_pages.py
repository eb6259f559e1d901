"""The ECG page reader on pages with known truth (synthetic renders), on non-ECG images and on real pages."""
from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.classes import ABNORMAL, NORMAL
from core.ecg.reader import find_grid, find_sheet, lead_snr, read_page
from core.paths import SHARED_MENDELEY_DIR
from core.synth.layout import Style, render_page, se3_style
from core.synth.waveforms import LEADS, Ecg, synthesize_ecg

_MM_SPAN = 10.5 + 250 + 7          # core.synth.layout: pulse room + 10 s at 25 mm/s + right margin
_COLUMN = {lead: c for c, column in enumerate((("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"),
                                               ("V4", "V5", "V6"))) for lead in column}


def _consistent(ecg: Ecg) -> Ecg:
    """The generator's per-lead noise breaks Einthoven; derive III and the augmented leads from I and II."""
    s = ecg.signals.copy()
    i, ii = s[LEADS.index("I")], s[LEADS.index("II")]
    for name, value in (("III", ii - i), ("aVR", -(i + ii) / 2), ("aVL", i - ii / 2), ("aVF", ii - i / 2)):
        s[LEADS.index(name)] = value
    return dataclasses.replace(ecg, signals=s)


def _other_style() -> Style:
    return dataclasses.replace(se3_style(), name="block-blue", format="3x4", palette="blue", header="block",
                               grid_box=(0.03, 0.18, 0.97, 0.95), separators="ticks", label_above=True)


def _render(cls: str, seed: int, style: Style, size=(1106, 786)):
    rng = np.random.default_rng(seed)
    ecg = _consistent(synthesize_ecg(cls, rng))
    page, _ = render_page(ecg, style, rng, size=size)
    w = size[0]
    mm = (style.grid_box[2] - style.grid_box[0]) * w / _MM_SPAN
    return ecg, page, mm


@pytest.fixture(scope="module")
def se3_page():
    ecg, page, mm = _render(NORMAL, 7, se3_style())
    return ecg, page, mm, read_page(page)


@pytest.mark.parametrize("style", [se3_style(), _other_style()], ids=["se3", "blue"])
def test_grid_period_matches_the_rendered_millimetre(style):
    _, page, mm = _render(NORMAL, 3, style, size=(1500, 1066))
    sheet = find_sheet(np.asarray(page))
    grid = find_grid(sheet.rgb, sheet.dark_background)
    assert grid.found and grid.fallback is None
    assert grid.px_per_mm_x == pytest.approx(mm, rel=0.02)
    assert grid.px_per_mm_y == pytest.approx(mm, rel=0.02)


def test_rendered_page_reads_as_3x4_plus_rhythm_with_its_signals(se3_page):
    ecg, _, mm, reading = se3_page
    assert reading.readable, reading.reasons
    assert reading.layout == "3x4+1"
    assert reading.px_per_mm == pytest.approx(mm, rel=0.02)
    assert set(LEADS) <= set(reading.leads)
    snrs = []
    for name in LEADS:
        lead = reading.leads[name]
        i0 = int(round(lead.start_s * 500))
        assert lead.start_s == 2.5 * _COLUMN[name]
        assert len(lead.mv) == pytest.approx(1250, abs=15)
        assert lead.coverage > 0.85
        snr, _ = lead_snr(ecg.lead(name)[i0:i0 + len(lead.mv)], lead.mv)
        snrs.append(snr)
    assert np.median(snrs) > 11.0          # measured 14-16 dB on such pages
    rhythm = [n for n in reading.leads if n.endswith("-rhythm")]
    assert rhythm == ["II-rhythm"]         # named from the lead it matches, not assumed
    assert reading.qc["einthoven_ratio"] < 0.35
    assert reading.heart_rate_bpm == pytest.approx(ecg.heart_rate, abs=5)


def test_other_style_page_reads_as_3x4():
    ecg, page, mm = _render(ABNORMAL, 11, _other_style(), size=(2000, 1420))   # read at MAX_SIDE 1600
    reading = read_page(page)
    assert reading.layout == "3x4"
    assert reading.px_per_mm == pytest.approx(mm, rel=0.02)
    snr = [lead_snr(ecg.lead(n)[int(reading.leads[n].start_s * 500):][:len(reading.leads[n].mv)],
                    reading.leads[n].mv)[0] for n in LEADS]
    assert np.median(snr) > 9.0


@pytest.mark.parametrize("turn", [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270], ids=["90", "270"])
def test_a_sheet_photographed_a_quarter_turn_round_is_read_upright(se3_page, turn):
    ecg, page, _, upright = se3_page
    reading = read_page(page.transpose(turn))
    assert (reading.readable, reading.layout) == (True, "3x4+1")
    assert reading.stages["sheet"]["fallback"].endswith("the sheet was read turned "
                                                       f"{90 if turn == Image.Transpose.ROTATE_270 else 270}°")
    for name in ("II", "V2"):   # the same signal as on the upright page, not mirrored or reversed
        turned, straight = reading.leads[name].mv, upright.leads[name].mv
        n = min(len(turned), len(straight))
        ok = np.isfinite(turned[:n]) & np.isfinite(straight[:n])
        assert np.corrcoef(turned[:n][ok], straight[:n][ok])[0, 1] > 0.9


def test_a_photo_is_not_turned_round_into_an_ecg():
    from sklearn.datasets import load_sample_image

    reading = read_page(load_sample_image("china.jpg"))    # turned a quarter, its roofs read as "3x4+1" rows
    assert not reading.readable and reading.layout.endswith("rows")
    assert "turned" not in (reading.stages["sheet"]["fallback"] or "")


def test_an_image_too_coarse_for_traces_is_not_read():
    """Hypothesis found it: 90x90 px of 1-bit noise, taken as a 265 mm page (0.34 px per mm) and
    upscaled to the working scale, passed as 18 rows of beats with consistent rates."""
    noise = np.random.default_rng(3).random((90, 90)) > 0.5
    reading = read_page(Image.fromarray(noise).convert("RGB"))
    assert not reading.readable
    assert reading.reasons[0].startswith("the image is too coarse for traces: 0.3")     # 0.34-0.35 px per mm


def test_reading_summary_is_json_ready(se3_page):
    summary = read_page(se3_page[1]).to_json()
    text = json.dumps(summary, allow_nan=False)
    assert {"readable", "reasons", "layout", "px_per_mm", "heart_rate_bpm", "leads", "qc", "stages"} <= set(summary)
    assert summary["leads"]["aVR"]["start_s"] == 2.5 and summary["leads"]["aVR"]["fs"] == 500
    assert "einthoven_ratio" in summary["qc"] and "goldberger_ratio" in summary["qc"]
    assert "NaN" not in text


def _text_page() -> Image.Image:
    page = Image.new("RGB", (1100, 800), "white")
    draw = ImageDraw.Draw(page)
    for k in range(30):
        draw.text((40, 20 + 25 * k), "Lorem ipsum dolor sit amet, consectetur adipiscing elit " * 2, fill=0)
    return page


def _chart_with_grid() -> Image.Image:
    rng = np.random.default_rng(0)
    page = Image.new("RGB", (1100, 800), "white")
    draw = ImageDraw.Draw(page)
    for x in range(0, 1100, 20):
        draw.line([(x, 0), (x, 800)], fill=(200, 200, 230))
    for y in range(0, 800, 20):
        draw.line([(0, y), (1100, y)], fill=(200, 200, 230))
    price = 400 + np.cumsum(rng.normal(0, 4, 1100))
    draw.line(list(zip(range(1100), price.tolist())), fill=(0, 0, 0), width=2)
    return page


@pytest.mark.parametrize("image", [
    Image.new("RGB", (900, 600), "white"),
    Image.new("RGB", (900, 600), (30, 30, 30)),
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (600, 900, 3), dtype=np.uint8)),
    Image.new("RGB", (40, 30), "white"),
    _text_page(),
    _chart_with_grid(),
], ids=["white", "dark", "noise", "tiny", "text", "chart"])
def test_non_ecg_images_are_unreadable_with_reasons_and_no_warnings(image):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reading = read_page(image)
    assert reading.readable is False
    assert reading.reasons and all(isinstance(r, str) and r for r in reading.reasons)
    json.dumps(reading.to_json(), allow_nan=False)


@pytest.mark.mendeley
@pytest.mark.skipif(not SHARED_MENDELEY_DIR.is_dir(), reason=f"{SHARED_MENDELEY_DIR} is absent")
def test_mendeley_pages_read_as_consistent_3x4_plus_rhythm():
    files = sorted(Path(SHARED_MENDELEY_DIR).glob("Normal*/*.jpg"))[:4] + sorted(
        Path(SHARED_MENDELEY_DIR).glob("*abnormal*/*.jpg"))[:2]
    assert files
    for file in files:
        reading = read_page(file)
        assert reading.readable, (file.name, reading.reasons)
        assert reading.layout == "3x4+1"
        assert reading.px_per_mm == pytest.approx(3.97, rel=0.03)      # 1106 px pages: 1 mm = 3.97 px
        assert reading.qc["einthoven_ratio"] < 0.5
        assert 30 < reading.heart_rate_bpm < 200


def _image_px_per_mm(truth) -> float:
    """The truth page's millimetre in final-image px at the image centre (through the capture's homography)."""
    h, w = truth.trace_mask.shape
    inverse = np.linalg.inv(truth.homography)
    centre = inverse @ np.array([w / 2, h / 2, 1.0])
    centre = centre[:2] / centre[2]

    def mapped(point):
        q = truth.homography @ np.array([point[0], point[1], 1.0])
        return q[:2] / q[2]

    step = 10 * truth.px_per_mm
    return float(np.mean([np.linalg.norm(mapped(centre + d) - mapped(centre)) / 10
                          for d in (np.array([step, 0.0]), np.array([0.0, step]))]))


def test_a_photo_whose_blurred_grid_favours_a_harmonic_is_measured_at_its_millimetre():
    """Held-out truth page 20 (a 3x4+3 photo): its grid alone measures 2x the millimetre; the
    trace rows' length (250 mm) rules that harmonic out."""
    from core.synth.truth import render_truth_page, truth_page_seed

    image, truth = render_truth_page(truth_page_seed(0, 20), layout="3x4+3", effect="photo")
    reading = read_page(image)
    assert reading.px_per_mm == pytest.approx(_image_px_per_mm(truth), rel=0.05)
    assert "rows' length" in (reading.stages["grid"]["fallback"] or "")


def test_a_page_without_a_grid_takes_its_scale_from_the_rows_not_from_the_beats():
    """Held-out truth page 10 (a 12x1 scan printed without a grid): twelve simultaneous leads make the
    column profile beat like a grid along x only (contrast 80x the y axis); the rows give the scale."""
    from core.synth.truth import render_truth_page, truth_page_seed

    image, truth = render_truth_page(truth_page_seed(0, 10), layout="12x1", effect="scan")
    assert truth.grid == "none"
    reading = read_page(image)
    assert reading.px_per_mm == pytest.approx(_image_px_per_mm(truth), rel=0.05)   # was 16 % short
    assert "scale from the rows' length" in reading.stages["grid"]["fallback"]
    assert len(reading.leads["II"].mv) == pytest.approx(5000, rel=0.05)            # 10 s, not 12.7


def test_pulses_of_tightly_stacked_12x1_rows_are_found_and_cut_off():
    """On a 12x1 page (rows 13 mm apart) a 10 mm pulse reaches past the band between rows; each
    row's pulse must still be found, or the row's time axis starts on the pulse."""
    from core.synth.truth import render_truth_page, truth_page_seed

    image, truth = render_truth_page(truth_page_seed(0, 4), layout="12x1", effect="clean")
    reading = read_page(image)
    assert reading.layout == "12x1"
    assert reading.stages["layout"]["quality"]["pulses"] >= 11
    snr = [lead_snr(truth.leads[n].mv, reading.leads[n].mv)[0] for n in ("II", "aVR", "aVF")]
    assert np.median(snr) > 6.0


def test_a_grid_a_quarter_off_the_rows_gives_way_to_the_rows():
    """Held-out truth page 78 (a curved 3x4 print): the search near the rows' scale settles on a
    period 1.23x theirs, further off than any printer's rows run long (a GE sheet's 17 %)."""
    from core.synth.truth import render_truth_page, truth_page_seed

    image, truth = render_truth_page(truth_page_seed(0, 78), layout="3x4", effect="curved")
    reading = read_page(image)
    assert reading.px_per_mm == pytest.approx(_image_px_per_mm(truth), rel=0.05)
    assert "scale from the rows' length" in reading.stages["grid"]["fallback"]
    assert reading.layout == "3x4"


def test_two_strong_periods_that_disagree_are_no_grid():
    """Tuning truth page 0 of seed 6 (a plain 3x4 print without grid): its beats and rows make
    strong periods along both axes, 1.09x the rows' scale one way and otherwise the other. Two
    periods that disagree are no printed millimetre, so the rows' length sets the scale."""
    from core.synth.truth import render_truth_page, truth_page_seed

    image, truth = render_truth_page(truth_page_seed(6, 0), layout="3x4", effect="clean")
    reading = read_page(image)
    assert reading.stages["grid"]["quality"]["axes_seen"] == 1.0
    assert "scale from the rows' length" in reading.stages["grid"]["fallback"]
    assert "read at both scales and this one read better" in reading.stages["grid"]["fallback"]
    assert reading.px_per_mm == pytest.approx(_image_px_per_mm(truth), rel=0.02)
    ii = reading.leads["II"]
    assert lead_snr(truth.leads["II"].mv, ii.mv)[0] > 10.0


def test_a_scan_with_dashed_rules_and_no_long_line_is_levelled_by_its_ink_profile():
    """Tuning truth page 14 of seed 5 (a black-and-white 3x4+3 scan turned 2.1 deg): its grid was
    thresholded away and its rules are dashed, so Hough finds no long line to level it by; the ink's
    row profile does, and the rule under the traces is no seventh row."""
    from core.synth.truth import render_truth_page, truth_page_seed

    image, truth = render_truth_page(truth_page_seed(5, 14), layout="3x4+3", effect="scan_bw")
    reading = read_page(image)
    h = truth.homography
    turn = np.degrees(np.arctan2(h[1, 0], h[0, 0]))
    assert reading.stages["sheet"]["quality"]["skew_lines"] < 3
    assert reading.stages["sheet"]["quality"]["levelled_by_ink_rows"] == 1.0
    assert reading.stages["sheet"]["quality"]["rotation_deg"] == pytest.approx(turn, abs=0.2)
    assert reading.layout == "3x4+3"
    assert reading.px_per_mm == pytest.approx(_image_px_per_mm(truth), rel=0.03)
