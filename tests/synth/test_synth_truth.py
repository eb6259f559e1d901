"""Truth pages: the signals, masks, boxes and geometry they report match what is in the image."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from core.synth.layout import LAYOUT_COLUMNS
from core.synth.realism import finger, start_shot
from core.synth.truth import (TRUTH_EFFECTS, TRUTH_GRIDS, TRUTH_LAYOUTS, render_truth_page, truth_page_seed,
                              truth_plan, truth_set)
from core.synth.waveforms import LEADS

SMALL = (1106, 786)      # the Mendeley page size: a quarter of the pixels of the default, same drawing
RHYTHM = {"3x4": (), "3x4+1": ("II",), "3x4+3": ("V1", "II", "V5"), "6x2": (), "6x2+1": ("II",), "12x1": ()}


def _far_from_curve(truth, name: str) -> np.ndarray:
    """Distance (px) from each mask pixel of a lead to the curve its truth implies, beyond the pen's half width.

    On a clean page the flat page is the image, so the curve is ``LeadTruth``'s formula, a
    polyline through the samples (sampled ten times between samples for the nearest-point search).
    """
    lead = truth.leads[name]
    k = np.arange(0, len(lead.mv) - 1 + 1e-9, 0.1)
    x = lead.x0_px + k / lead.fs * truth.speed_mm_s * truth.px_per_mm
    y = lead.baseline_px - np.interp(k, np.arange(len(lead.mv)), lead.mv) * truth.gain_mm_mv * truth.px_per_mm
    rows, cols = np.nonzero(truth.lead_mask(name))
    centres = np.c_[cols + 0.5, rows + 0.5]          # pixel (c, r) spans [c, c + 1) x [r, r + 1)
    distance, _ = cKDTree(np.c_[x, y]).query(centres)
    return distance - truth.line_width_px / 2


@pytest.mark.parametrize("layout", TRUTH_LAYOUTS)
def test_clean_trace_mask_follows_the_truth_signal(layout):
    image, truth = render_truth_page(3, layout=layout, effect="clean", page_size=SMALL)
    assert image.size == SMALL and truth.trace_mask.shape == SMALL[::-1]
    for name, lead in truth.leads.items():
        far = _far_from_curve(truth, name)
        assert len(far) > len(lead.mv) / 8, name            # the lead has ink
        assert np.quantile(far, 0.99) <= 1.0 and (far > 1.5).mean() < 0.002, (name, np.quantile(far, [0.5, 0.99, 1]))
        assert lead.visible == 1.0, name


@pytest.mark.parametrize(("speed", "gain"), [(50.0, 10.0), (25.0, 5.0), (25.0, 20.0)])
def test_unusual_speed_and_gain_are_drawn_as_reported(speed, gain):
    _, truth = render_truth_page(8, layout="3x4+1", effect="clean", grid="pink", speed_mm_s=speed, gain_mm_mv=gain,
                                 page_size=SMALL)
    assert (truth.speed_mm_s, truth.gain_mm_mv) == (speed, gain)
    seconds = 250 / speed                                     # the trace area is 250 mm wide
    assert len(truth.leads["II (rhythm)"].mv) == int(seconds * 500)
    assert truth.leads["V4"].start_s == pytest.approx(seconds * 3 / 4)
    assert _off_curve_share(truth) < 0.002


def _off_curve_share(truth) -> float:
    """Share of all trace-mask pixels more than 1.5 px (beyond the pen) from their lead's curve."""
    return float(np.mean(np.concatenate([_far_from_curve(truth, name) for name in truth.leads]) > 1.5))


def test_a_wrong_gain_or_start_in_the_truth_would_be_caught():
    _, truth = render_truth_page(8, layout="3x4+1", effect="clean", grid="pink", page_size=SMALL)
    assert _off_curve_share(truth) == 0
    assert _off_curve_share(replace(truth, gain_mm_mv=truth.gain_mm_mv * 1.5)) > 0.02
    shifted = {name: replace(lead, x0_px=lead.x0_px + 2) for name, lead in truth.leads.items()}
    assert _off_curve_share(replace(truth, leads=shifted)) > 0.05


def _expected_leads(layout: str) -> set[str]:
    return set(LEADS) | {f"{lead} (rhythm)" for lead in RHYTHM[layout]}


@pytest.mark.parametrize("effect", TRUTH_EFFECTS)
def test_every_layout_renders_with_every_effect(effect):
    for i, layout in enumerate(TRUTH_LAYOUTS):
        image, truth = render_truth_page(100 + i, layout=layout, effect=effect, page_size=SMALL)
        assert (truth.layout, truth.effect) == (layout, effect)
        assert set(truth.leads) == _expected_leads(layout), layout
        per_segment = 10 / len(LAYOUT_COLUMNS[layout]) * 250 / truth.speed_mm_s / 10
        for name, lead in truth.leads.items():
            expected = 250 / truth.speed_mm_s if "rhythm" in name else per_segment
            assert len(lead.mv) == round(expected * 500) and lead.mv.dtype == np.float32, (layout, name)
            x0, y0, x1, y1 = lead.box
            assert 0 <= x0 <= x1 <= 1 and 0 <= y0 <= y1 <= 1
        assert truth.trace_mask.shape == (image.size[1], image.size[0])
        assert set(np.unique(truth.trace_ids)) - {0} <= set(range(1, len(truth.leads) + 1))
        assert ((truth.trace_ids > 0) == truth.trace_mask).all()
        assert truth.grid == "screen" if effect == "monitor" else truth.grid in TRUTH_GRIDS


def _contrast(image, mask: np.ndarray) -> float:
    """Median grey of the mask's pixels minus that of the pixels 3-6 px away from it (its background)."""
    grey = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY).astype(float)
    m = mask.astype(np.uint8)
    ring = cv2.dilate(m, np.ones((13, 13), np.uint8)).astype(bool) & ~cv2.dilate(m, np.ones((7, 7), np.uint8)).astype(bool)
    return float(np.median(grey[mask]) - np.median(grey[ring]))


def _dark_share(image, mask: np.ndarray) -> float:
    """Share of the mask's pixels at least 25 grey levels darker than the lightest pixel 4 px around
    them (their paper): robust to shadows and exposure, which move paper and ink together."""
    grey = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY).astype(np.int16)
    paper = cv2.dilate(grey, np.ones((9, 9), np.uint8))
    return float((grey < paper - 25)[mask].mean())


@pytest.mark.parametrize("effect", ["scan", "scan_bw", "photo", "curved", "folded", "marked", "moire"])
def test_warped_trace_mask_lies_on_dark_ink(effect):
    for seed in (1, 2):
        image, truth = render_truth_page(seed, layout="3x4+1", effect=effect, page_size=SMALL)
        assert truth.trace_mask.sum() > 1000
        # Measured on 12 pages per effect: 0.95-1.0 for the mask, at most 0.68 for it moved 6 px down.
        assert _dark_share(image, truth.trace_mask) > 0.9, (effect, seed)
        assert _dark_share(image, np.roll(truth.trace_mask, 6, axis=0)) < 0.75, (effect, seed)
        # The truth's points, carried through the same warps, land on the mask.
        assert np.median([lead.visible for lead in truth.leads.values()]) > 0.9, (effect, seed)


def test_monitor_traces_are_bright_on_dark():
    image, truth = render_truth_page(4, layout="12x1", effect="monitor", page_size=SMALL)
    assert np.median(np.asarray(image.convert("L"))) < 40
    assert _contrast(image, truth.trace_mask) > 100


def test_photo_homography_maps_the_flat_grid_box_onto_the_reported_one():
    _, truth = render_truth_page(5, layout="6x2", effect="photo", page_size=SMALL)
    assert not truth.nonprojective and not np.allclose(truth.homography, np.eye(3))
    w, h = truth.page_size
    corners = np.array([[0.0, 0.0], [1.0, 1.0]]) * (w, h)
    mapped = cv2.perspectiveTransform(corners[None], truth.homography)[0]
    # The whole page's corners reach beyond the grid box; the grid box lies between them.
    gx0, gy0, gx1, gy1 = truth.grid_box
    frame = truth.trace_mask.shape[::-1]
    assert gx1 > gx0 and gy1 > gy0
    centre = cv2.perspectiveTransform(np.array([[[w / 2, h / 2]]]), truth.homography)[0, 0] / frame
    assert gx0 < centre[0] < gx1 and gy0 < centre[1] < gy1
    assert mapped.shape == (2, 2)


def test_same_seed_same_page_other_seed_other_page():
    a_image, a = render_truth_page(11, effect="folded", page_size=SMALL)
    b_image, b = render_truth_page(11, effect="folded", page_size=SMALL)
    c_image, _ = render_truth_page(12, effect="folded", page_size=SMALL)
    assert a_image.tobytes() == b_image.tobytes() and a_image.tobytes() != c_image.tobytes()
    assert (a.trace_ids == b.trace_ids).all() and a.leads.keys() == b.leads.keys()
    assert all((a.leads[k].mv == b.leads[k].mv).all() and a.leads[k].box == b.leads[k].box for k in a.leads)


def test_truth_set_cycles_every_layout_and_effect():
    pairs = [truth_plan(i) for i in range(len(TRUTH_LAYOUTS) * len(TRUTH_EFFECTS))]
    assert len(set(pairs)) == len(pairs)
    first = list(truth_set(2, seed=5, page_size=SMALL))
    again, truth = render_truth_page(truth_page_seed(5, 1), layout=pairs[1][0], effect=pairs[1][1], page_size=SMALL)
    assert [t.layout for _, t in first] == [pairs[0][0], pairs[1][0]]
    assert first[1][0].tobytes() == again.tobytes() and first[1][1].seed == truth.seed


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="layout"):
        render_truth_page(0, layout="4x3")
    with pytest.raises(ValueError, match="effect"):
        render_truth_page(0, effect="polaroid")


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), layout=st.sampled_from(TRUTH_LAYOUTS), grid=st.sampled_from(TRUTH_GRIDS))
def test_any_clean_page_is_drawn_as_its_truth_says(seed, layout, grid):
    _, truth = render_truth_page(seed, layout=layout, effect="clean", grid=grid, page_size=SMALL)
    assert _off_curve_share(truth) < 0.002


def _ecg_plot_page(*args, **kwargs):
    """A page from the independent ecg-plot renderer; the test is skipped when it is not installed."""
    pytest.importorskip("ecg_plot")
    pytest.importorskip("matplotlib")
    from core.synth.ecg_plot_pages import render_ecg_plot_page
    return render_ecg_plot_page(*args, **kwargs)


def test_ecg_plot_page_is_drawn_as_its_truth_says():
    image, truth = _ecg_plot_page(1, layout="6x2", dpi=120)
    assert set(truth.leads) == set(LEADS)
    assert truth.leads["V1"].start_s == 0.0 and len(truth.leads["V1"].mv) == 2500   # both columns show 0-5 s
    assert truth.trace_mask.shape == image.size[::-1] and truth.trace_mask.sum() > 5000
    assert _off_curve_share(truth) < 0.005


def test_ecg_plot_page_scanned_keeps_its_mask_on_the_ink():
    image, truth = _ecg_plot_page(2, layout="3x4+1", effect="scan")
    assert truth.effect == "scan" and set(truth.leads) == set(LEADS) | {"II (rhythm)"}
    assert truth.leads["V4"].start_s == 7.5 and len(truth.leads["V4"].mv) == 1250
    assert _dark_share(image, truth.trace_mask) > 0.9
    assert _dark_share(image, np.roll(truth.trace_mask, 6, axis=0)) < 0.75
    assert np.median([lead.visible for lead in truth.leads.values()]) > 0.9


@pytest.mark.parametrize("gain", [10.0, 5.0])
def test_pulse_boxes_are_one_millivolt_tall_and_hold_the_pulse_ink(gain):
    image, truth = render_truth_page(6, layout="6x2+1", effect="clean", grid="none", gain_mm_mv=gain, page_size=SMALL)
    assert len(truth.pulse_boxes) == 7                         # one a row
    grey = np.asarray(image.convert("L"))
    h, w = grey.shape
    for x0, y0, x1, y1 in truth.pulse_boxes:
        assert (y1 - y0) * h == pytest.approx(gain * truth.px_per_mm, abs=0.01)
        rows, cols = slice(int(y0 * h), int(np.ceil(y1 * h)) + 1), slice(int(x0 * w), int(np.ceil(x1 * w)) + 1)
        assert (grey[rows, cols] < 128).sum() >= 2 * gain * truth.px_per_mm    # its two uprights
        assert not truth.trace_mask[rows, cols].any()          # ink, but not trace ink: no signal there


def test_a_thumb_on_a_sheet_edge_outside_the_frame_leaves_the_image_alone():
    image = np.full((60, 80, 3), 255, np.uint8)
    shot = start_shot(image, np.zeros((60, 80), np.float32), np.zeros((60, 80), np.uint8))
    far_away = replace(shot, forward=(lambda points: points + 10_000,))
    for seed in range(8):
        assert finger(far_away, np.random.default_rng(seed)).image is image
    assert any((finger(shot, np.random.default_rng(seed)).image != image).any() for seed in range(8))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), effect=st.sampled_from(TRUTH_EFFECTS))
def test_any_page_renders_with_a_consistent_truth(seed, effect):
    image, truth = render_truth_page(seed, effect=effect, page_size=SMALL)
    assert set(truth.leads) == _expected_leads(truth.layout)
    assert ((truth.trace_ids > 0) == truth.trace_mask).all() and truth.trace_mask.shape == image.size[::-1]
    assert all(0 <= v <= 1 for lead in truth.leads.values() for v in lead.box)
    assert all(0 <= lead.visible <= 1 for lead in truth.leads.values())


def test_truth_pages_obey_einthoven_and_goldberger_exactly():
    """III and the augmented leads are derived from I and II, as a cart computes them."""
    from core.synth.truth import render_truth_page

    _, truth = render_truth_page(5, layout="3x4+1", effect="clean")
    lead = {name: t.mv.astype(float) for name, t in truth.leads.items() if name == t.lead}
    np.testing.assert_allclose(lead["I"] + lead["III"], lead["II"], atol=1e-5)
    np.testing.assert_allclose(lead["aVR"] + lead["aVL"] + lead["aVF"], 0, atol=1e-5)
