"""The layout stage's decisions: rows merged and filled, 6x2 against 3x4+3, and whole synthetic pages."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.ecg.reader.layout import LEADS, _3X4, Row, _drop_text_rows, fill_missed_rows, find_layout, merge_close_rows

PX = 5.0                    # working px per mm
ROW_MM = 250.0              # 10 s at 25 mm/s
SPACING_MM = 25.0


def _lead_signal(lead: str, t: np.ndarray) -> np.ndarray:
    """A distinct beating waveform per lead (mm of pen height): its own rate, sign and shape."""
    k = LEADS.index(lead)
    rng = np.random.default_rng(k)
    beat = 0.75 + 0.04 * k
    phase = ((t + 0.1 * k) % beat) / beat
    qrs = np.exp(-((phase - 0.3) / 0.015) ** 2) * (8 if k % 2 else -6)
    wave = np.exp(-((phase - 0.6) / 0.06) ** 2) * rng.uniform(-2, 2)
    return qrs + wave + 0.8 * np.sin(2 * np.pi * (0.3 + 0.05 * k) * t)


def _draw(rows: list[list[tuple[str, float, float]]]) -> np.ndarray:
    """A trace mask: per row, (lead, start s, end s) stretches drawn left to right without a break."""
    w = int((ROW_MM + 20) * PX)
    h = int((len(rows) + 1) * SPACING_MM * PX)
    mask = np.zeros((h, w), np.uint8)
    for i, stretches in enumerate(rows):
        y0 = (i + 1) * SPACING_MM * PX
        points = []
        for lead, a, b in stretches:
            t = np.arange(a, b, 1 / (25 * PX))
            x = 10 * PX + t * 25 * PX
            points.append(np.stack([x, y0 - _lead_signal(lead, t) * PX], axis=1))
        cv2.polylines(mask, [np.concatenate(points).round().astype(np.int32)], False, 1, 2)
    return mask.astype(bool)


def _page_3x4_plus_3() -> np.ndarray:
    block = [[(lead, 2.5 * c, 2.5 * (c + 1)) for c, lead in enumerate(row)] for row in _3X4]
    return _draw(block + [[(lead, 0.0, 10.0)] for lead in ("V1", "II", "V5")])


def _page_6x2() -> np.ndarray:
    return _draw([[(LEADS[i], 0.0, 5.0), (LEADS[i + 6], 5.0, 10.0)] for i in range(6)])


def test_six_rows_whose_strips_repeat_the_block_are_3x4_plus_3():
    layout = find_layout(_page_3x4_plus_3(), PX)
    assert layout.name == "3x4+3"
    assert min(layout.quality[f"rhythm_match{k}"] for k in ("", "_V1", "_V5")) > 0.9


def test_six_unbroken_rows_whose_strips_are_other_leads_are_6x2():
    layout = find_layout(_page_6x2(), PX)
    assert layout.name == "6x2"
    assert layout.quality["rhythm_match"] < 0.6
    assert "rhythm_mismatch" in layout.fallback


def test_a_6x2_page_whose_fifth_row_looks_like_lead_ii_by_chance_stays_6x2():
    """aVL can pass for II on a photo (r 0.70 on one); the V1 and V5 strips of a 3x4+3 page must
    then repeat their columns too, and a 6x2 page's V4 and V6 do not."""
    rows = [[(LEADS[i], 0.0, 5.0), (LEADS[i + 6], 5.0, 10.0)] for i in range(6)]
    rows[4][0] = ("II", 0.0, 5.0)
    layout = find_layout(_draw(rows), PX)
    assert layout.quality["rhythm_match"] > 0.9
    assert layout.name == "6x2"
    assert layout.quality["rhythm_match_V1"] < 0.25 or layout.quality["rhythm_match_V5"] < 0.25


def test_seven_unbroken_rows_with_a_strip_are_6x2_plus_1():
    rows = [[(LEADS[i], 0.0, 5.0), (LEADS[i + 6], 5.0, 10.0)] for i in range(6)] + [[("II", 0.0, 10.0)]]
    assert find_layout(_draw(rows), PX).name == "6x2+1"


def test_a_screen_keeps_its_rows_as_channels_unless_it_repeats_lead_ii():
    assert find_layout(_page_6x2(), PX, paper=False).name == "6 rows"
    assert find_layout(_page_3x4_plus_3(), PX, paper=False).name == "3x4+3"


def test_a_screen_whose_rows_each_start_with_a_pulse_shows_a_printed_layout():
    """A monitor draws no calibration pulse per channel; a viewer showing a printed 6x2 page does."""
    layout = find_layout(_with_pulses(_page_6x2(), 6, 1.0), PX, paper=False)
    assert layout.quality["pulses"] == 6
    assert layout.name == "6x2"


def test_twelve_rows_with_one_flat_lead_are_12x1():
    rows = [[(lead, 0.0, 10.0)] for lead in LEADS]
    mask = _draw(rows)
    y = int(5 * SPACING_MM * PX)                      # aVL drawn flat and faint: nothing to find
    mask[y - int(SPACING_MM * PX / 2):y + int(SPACING_MM * PX / 2)] = False
    layout = find_layout(mask, PX)
    assert layout.name == "12x1"
    assert "missing" in layout.fallback


def test_close_row_levels_merge_into_the_stronger():
    rows = [(100, 0.8), (200, 0.8), (300, 0.5), (330, 0.9), (400, 0.8), (500, 0.8)]
    assert merge_close_rows(rows) == [100, 200, 330, 400, 500]
    assert merge_close_rows(rows[:3]) == [100, 200, 300]          # too few rows for a usual spacing


@pytest.mark.parametrize("ys, added", [
    ([0, 100, 200, 300, 400, 500, 600, 800, 900, 1000, 1100], [700]),    # 12x1 without one lead
    ([0, 100, 200, 300, 500, 600, 700, 900, 1000, 1100], [400, 800]),    # 12x1 without two
    ([0, 100, 200, 400], []),                                            # 3x4+1: a strip set apart
    ([0, 100, 200, 300, 400, 500, 700], []),                             # the last gap: a strip set apart
    ([0, 100, 200, 400, 500, 650, 800, 900], []),                        # uneven: no stack to trust
    ([0, 100, 200, 300, 400, 500, 600, 700], []),                        # nothing missing
])
def test_a_hole_of_twice_the_spacing_in_a_long_even_stack_is_filled(ys, added):
    out, n = fill_missed_rows(ys)
    assert n == len(added)
    assert out == sorted(ys + added)


@pytest.mark.parametrize("layout, seed", [("3x4", 1), ("3x4+1", 1), ("3x4+3", 1), ("6x2", 3), ("6x2+1", 3),
                                          ("12x1", 3)])
def test_clean_synthetic_pages_are_read_with_their_layout(layout, seed):
    from core.ecg.reader import read_page
    from core.synth.truth import render_truth_page

    image, truth = render_truth_page(seed, layout=layout, effect="clean")
    assert read_page(image).layout == truth.layout


def _with_pulses(mask: np.ndarray, n_rows: int, gap_mm: float) -> np.ndarray:
    """The mask with every row's trace moved ``gap_mm`` right and a 10 mm pulse (5 mm wide, ending
    1 mm before the trace used to start) in front of it."""
    out = np.zeros_like(mask)
    shift = int(round(gap_mm * PX))
    out[:, shift:] = mask[:, :mask.shape[1] - shift]
    out[:, :int(10 * PX) + shift] = False
    for i in range(n_rows):
        y0 = int((i + 1) * SPACING_MM * PX)
        start, end = int(4 * PX), int(9 * PX)
        pulse = np.array([[start - 5, y0], [start, y0], [start, y0 - 50], [end, y0 - 50], [end, y0], [end + 5, y0]],
                         np.int32)
        drawn = out.astype(np.uint8)
        cv2.polylines(drawn, [pulse], False, 1, 2)
        out = drawn.astype(bool)
    return out


def test_a_gap_between_pulse_and_trace_does_not_stretch_the_columns():
    """The trace ends 250 mm after it starts: a gap after the pulse must not start the first column
    early (and so every column late): each column starts where its lead's ink does, within 3 px (0.6 mm)."""
    block = [[(lead, 2.5 * c, 2.5 * (c + 1)) for c, lead in enumerate(row)] for row in _3X4]
    gap_mm = 2.0
    layout = find_layout(_with_pulses(_draw(block), 3, gap_mm), PX)
    assert layout.name == "3x4"
    trace_x0 = (10 + gap_mm) * PX
    column = {lead: c for row in _3X4 for c, lead in enumerate(row)}
    for segment in layout.segments:
        assert abs(segment.x0 - (trace_x0 + column[segment.lead] * 62.5 * PX)) <= 3, (segment.lead, segment.x0)


def _with_tall_wave(mask: np.ndarray, n_rows: int, at_mm: float) -> np.ndarray:
    """Every row with a 3 mm wide wave 12 mm tall starting ``at_mm`` into the trace: its top leaves
    the baseline band, so the band shows a 2-3 mm gap there, as a wide QRS does."""
    out = mask.astype(np.uint8)
    a, b = int((10 + at_mm) * PX), int((13 + at_mm) * PX)
    for i in range(n_rows):
        y0 = int((i + 1) * SPACING_MM * PX)
        out[y0 - int(8 * PX):y0 + int(8 * PX), a:b + 1] = 0
        wave = np.array([[a, y0], [a, y0 - int(12 * PX)], [b, y0 - int(12 * PX)], [b, y0]], np.int32)
        cv2.polylines(out, [wave], False, 1, 2)
    return out.astype(bool)


def test_a_tall_wave_near_mid_row_does_not_move_the_6x2_column_break():
    """Both columns last 5 s: the right one starts mid-row at 5 s, even when a wide QRS 7 mm after
    the middle leaves a gap in the baseline band (taken for the break, it started the right-hand
    leads 0.3 s late)."""
    page = _with_pulses(_page_6x2(), 6, 1.0)                   # the trace now starts at 11 mm
    layout = find_layout(_with_tall_wave(page, 6, 1.0 + 132.0), PX)
    assert layout.name == "6x2"
    right = [s for s in layout.segments if s.lead.startswith("V")]
    assert len(right) == 6
    for segment in right:
        assert abs(segment.x0 - (11 + 125) * PX) <= 2, (segment.lead, segment.x0)
        assert segment.start_s == pytest.approx(5.0, abs=0.01)


def test_a_printed_break_mid_row_starts_the_right_column_later_on_the_clock():
    """A printer's 3 mm break over the middle: the right column's ink starts after it, and its
    time is counted from the row's start (5 s + 3 mm at 25 mm/s), not reset to 5 s."""
    mask = _with_pulses(_page_6x2(), 6, 1.0)
    mask[:, int((11 + 125) * PX):int((11 + 128) * PX)] = False
    layout = find_layout(mask, PX)
    assert layout.name == "6x2"
    for segment in (s for s in layout.segments if s.lead.startswith("V")):
        assert segment.start_s == pytest.approx(5.0 + 3 / 25, abs=0.02), (segment.lead, segment.start_s)


def test_a_3x4_plus_3_page_whose_block_breaks_mid_row_is_not_6x2():
    """A 3x4 block changes leads mid-row, and a printer may leave a gap there: only the bottom
    rows tell 6x2 (broken) from 3x4+3 (unbroken strips)."""
    mask = _page_3x4_plus_3()
    for i in range(3):
        y0 = int((i + 1) * SPACING_MM * PX)
        mask[y0 - int(10 * PX):y0 + int(10 * PX), int((10 + 124) * PX):int((10 + 127) * PX)] = False
    assert find_layout(mask, PX).name == "3x4+3"


def _tall_wave_row(y0: int, width_mm: float = ROW_MM) -> np.ndarray:
    """A trace along ``y0`` that climbs 8 mm for 4 mm every 20 mm (a tall T wave at 75 bpm):
    its longest stretch within 3 mm of the baseline is 16 mm."""
    points = []
    for start in np.arange(0.0, width_mm, 20.0):
        points += [(start, 0), (start + 14, 0), (start + 14.5, 8), (start + 18.5, 8), (start + 19, 0)]
    xy = np.array([(10 + x, y0 / PX - y) for x, y in points]) * PX
    return xy.round().astype(np.int32)


def test_rows_whose_t_waves_leave_the_baseline_band_every_beat_are_still_rows():
    """One unbroken stroke 250 mm long is a trace row even when no 40 mm of it stays within
    3 mm of its baseline (text breaks into words and letters instead)."""
    mask = np.zeros((int(4 * SPACING_MM * PX), int((ROW_MM + 20) * PX)), np.uint8)
    for i in range(3):
        cv2.polylines(mask, [_tall_wave_row(int((i + 1) * SPACING_MM * PX))], False, 1, 2)
    layout = find_layout(mask.astype(bool), PX)
    assert layout.quality["rows"] == 3 and layout.name == "3x4"


def _rows_with_pulse_heights(heights_px: list[int | None]) -> list[Row]:
    """Rows 100 px apart, each with a pulse box of the given height at its start (None: no pulse)."""
    return [Row(100 * (i + 1), 100 * i + 50, 100 * i + 150, 40, 1290,
                () if h is None else ((0, 100 * (i + 1) - h, 35, 100 * (i + 1)),))
            for i, h in enumerate(heights_px)]


def test_rows_above_the_first_pulse_are_header_text_when_the_pulses_share_a_height():
    rows = _rows_with_pulse_heights([None, None, 50, 50, 51, 49, None])
    kept, _ = _drop_text_rows(np.zeros((800, 1300), bool), rows, [[]] * len(rows), PX)
    assert [r.y for r in kept] == [300, 400, 500, 600, 700]


def test_lead_letters_of_differing_heights_are_no_pulses_to_drop_rows_by():
    """A photo's "II", "aVR", "aVL", "aVF" touching the trace: 6.2, 9.4, 4.2 and 4.6 mm at 5 px/mm."""
    rows = _rows_with_pulse_heights([None, None, 31, 47, 21, 23, None])
    kept, _ = _drop_text_rows(np.zeros((800, 1300), bool), rows, [[]] * len(rows), PX)
    assert len(kept) == 7


def test_a_row_whose_flat_start_was_cut_as_a_rule_starts_after_its_pulse():
    """A slow heart on a clean print: 35 mm of flat baseline after the pulse are cut with the rules
    (one pixel row for 30 mm), so the row's ink starts at its first QRS; its time still starts at
    the pulse, and the columns keep their 62.5 mm."""
    block = [[(lead, 2.5 * c, 2.5 * (c + 1)) for c, lead in enumerate(row)] for row in _3X4]
    mask = _with_pulses(_draw(block), 3, 0.0)
    trace_x0 = 10 * PX
    mask[:, int(trace_x0) + 2:int(trace_x0 + 35 * PX)] = False
    layout = find_layout(mask, PX)
    assert layout.name == "3x4"
    column = {lead: c for row in _3X4 for c, lead in enumerate(row)}
    for segment in layout.segments:
        assert abs(segment.x0 - (trace_x0 + column[segment.lead] * 62.5 * PX)) <= 3, (segment.lead, segment.x0)


def test_a_dashed_rule_under_the_rows_is_no_trace_row():
    """A thresholded scan breaks the rule under the traces into dashes the long opening leaves:
    a row without a pulse whose ink never leaves its level is a rule, not a fourth row (3x4+1)."""
    block = [[(lead, 2.5 * c, 2.5 * (c + 1)) for c, lead in enumerate(row)] for row in _3X4]
    mask = _with_pulses(_draw(block), 3, 1.0).astype(np.uint8)
    y = int(3.6 * SPACING_MM * PX)
    for x in range(int(2 * PX), mask.shape[1] - int(2 * PX), int(4 * PX)):
        cv2.line(mask, (x, y), (x + int(3 * PX), y), 1, 2)
    layout = find_layout(mask.astype(bool), PX)
    assert layout.name == "3x4"
    assert [row.y for row in layout.rows] == pytest.approx([SPACING_MM * PX * k for k in (1, 2, 3)], abs=3)


def test_a_first_row_whose_pulse_was_lost_stays_when_its_ink_is_one_long_stroke():
    """Header text is short strokes; a trace is one long one: a clean 12x1 page whose lead I pulse
    was cut by the grid's border line kept its row I only by that."""
    rows = _rows_with_pulse_heights([None, None, 50, 50, 51, 49])
    mask = np.zeros((800, 1300), np.uint8)
    x = np.arange(40, 1290)
    cv2.polylines(mask, [np.c_[x, 200 + 20 * np.sin(x / 30)].astype(np.int32)], False, 1, 2)   # row 2: a trace
    for x0 in range(40, 1290, 40):                                                          # row 1: words
        cv2.line(mask, (x0, 100), (x0 + 25, 100), 1, 2)
    kept, _ = _drop_text_rows(mask.astype(bool), rows, [[]] * len(rows), PX)
    assert [r.y for r in kept] == [200, 300, 400, 500, 600]


def test_marks_taken_for_pulses_past_the_rows_middle_do_not_collapse_the_time_axis():
    """Tuning truth page 30 of seed 6 (a folded 3x4 page), in one of the reader's tries: a row's
    "pulse" ended at x = 365 while the rows' median end was 280, so every row was cut to one
    column and reading its leads raised an OpenCV error. The rows' own starts are used instead."""
    from core.ecg.reader.layout import _common_span

    rows = [Row(252, 215, 282, 35, 421, ((0, 225, 35, 281), (752, 242, 788, 260))),
            Row(313, 290, 340, 27, 107, ((375, 252, 433, 355),)),
            Row(400, 370, 430, 60, 139, ((389, 334, 445, 436),)),
            Row(474, 450, 500, 365, 766, ((83, 387, 139, 510),))]
    spanned = _common_span(rows, PX)
    assert {(r.x0, r.x1) for r in spanned} == {(47, 280)}       # median start and end of the rows
