"""Reader pieces on known inputs: SNR scoring, law checks, pen tracking, records."""
from __future__ import annotations

import csv
import io
import warnings
import zipfile

import cv2
import numpy as np
import pytest

from core.ecg.reader import (
    LeadSignal,
    assess,
    law_ratio,
    lead_snr,
    wfdb_zip_bytes,
    write_csv,
    write_wfdb,
)
from core.ecg.reader.signals import track
from core.ecg.reader.traces import find_traces, grid_columns

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*inplace.*")    # wfdb 4.3.1 on pandas 3
    import wfdb


def _ecg_like(n=2500, fs=500):
    t = np.arange(n) / fs
    return 0.1 * np.sin(2 * np.pi * 1.2 * t) + np.exp(-((t % 0.8) - 0.4) ** 2 / (2 * 0.01 ** 2))


def test_snr_ignores_a_small_shift_and_an_offset_but_not_noise():
    ref = _ecg_like()
    moved = np.roll(ref, 7) + 0.35
    snr, r = lead_snr(ref, moved, max_shift_s=0.02)
    assert snr > 40 and r > 0.999
    noise = np.random.default_rng(0).normal(0, 1, ref.size)
    noise *= np.sqrt(np.sum((ref - ref.mean()) ** 2) / np.sum(noise ** 2)) / 10    # 20 dB below the signal
    snr, _ = lead_snr(ref, ref + noise, max_shift_s=0.0)
    assert snr == pytest.approx(20.0, abs=0.3)


def test_snr_skips_nan_and_gives_nan_without_overlap():
    ref = _ecg_like()
    dig = ref.copy()
    dig[100:900] = np.nan
    assert lead_snr(ref, dig)[0] > 40
    assert np.isnan(lead_snr(ref, np.full_like(ref, np.nan))[0])


def test_law_ratio_is_zero_for_consistent_leads_and_large_for_unrelated_ones():
    i, ii = _ecg_like(1250), np.roll(_ecg_like(1250), 30) * 0.7
    leads = {"I": LeadSignal("I", 0, 500, i), "II": LeadSignal("II", 0, 500, ii),
             "III": LeadSignal("III", 0, 500, ii - i)}
    assert law_ratio(leads, ("I", "III"), ("II",)) == pytest.approx(0, abs=1e-9)
    leads["III"] = LeadSignal("III", 0, 500, np.random.default_rng(1).normal(0, 0.3, 1250))
    assert law_ratio(leads, ("I", "III"), ("II",)) > 0.5
    assert law_ratio({"I": leads["I"]}, ("I", "III"), ("II",)) is None


def test_track_keeps_the_peak_of_a_thin_spike():
    band = np.zeros((60, 40), np.uint8)
    band[40:42, :] = 1                       # baseline, 2 px pen
    band[10:42, 19] = 1                      # a 1-column spike up to row 10
    band[12:42, 20] = 1
    y = track(band, 40.5, 2.0)
    assert np.nanmin(y) == pytest.approx(10.5, abs=1.0)
    assert y[5] == pytest.approx(40.5)


def test_track_leaves_a_lone_letter_on_the_traces_first_mm_unread_but_not_a_spike_later():
    """The label "I" printed standing on the trace's start is a 1-column stroke like a thin QRS:
    in the segment's first quarter of the label zone it is a letter, later a beat."""
    band = np.zeros((60, 80), np.uint8)
    band[40:42, :] = 1                       # baseline, 2 px pen
    band[20:42, 3] = 1                       # "I" at the segment's start
    band[20:42, 50] = 1                      # a spike of the same height later on
    y = track(band, 40.5, 2.0, label_cols=30)
    assert np.isnan(y[:5]).all() and y[8] == pytest.approx(40.5)
    assert np.nanmin(y[45:55]) == pytest.approx(20.5, abs=1.0)


def test_track_leaves_a_letters_leg_on_the_trace_unread_but_not_a_wide_wave():
    """In the label zone a lone stroke one pen wide is a letter's leg (the "R" of aVR touching the
    trace 5.6 mm in); a tall wave six columns wide there is read."""
    band = np.zeros((60, 80), np.uint8)
    band[40:42, :] = 1
    band[22:42, 28] = 1                      # a letter's leg
    y = track(band, 40.5, 2.0, label_cols=30)
    assert np.isnan(y[:30]).all() and y[35] == pytest.approx(40.5)
    wide = np.zeros((60, 80), np.uint8)
    wide[40:42, :] = 1
    wide[15:42, 20:26] = 1                   # a broad wave
    y = track(wide, 40.5, 2.0, label_cols=30)
    assert np.isfinite(y[:20]).all() and np.nanmin(y[20:26]) == pytest.approx(15.5, abs=1.0)


def test_track_reads_the_foot_of_a_steep_stroke_near_the_baseline_not_halfway_up():
    # A 3 px pen rising 10 px a column from a flat baseline at row 60: the column before the rise
    # holds ink from the baseline up the stroke, and its middle (54) was read 6 px too high.
    band = np.zeros((80, 40), np.uint8)
    cv2.polylines(band, [np.array([[0, 60], [15, 60], [20, 10], [39, 10]], np.int32)], False, 1, thickness=3)
    y = track(band, 60.0, 3.0)
    assert abs(y[14] - 60) <= 4        # a round pen's bounds leave the foot column 3.4 px of room
    assert y[20] == pytest.approx(10, abs=2) and y[12] == pytest.approx(60, abs=1)


def test_track_puts_a_peak_at_the_middle_of_the_pens_round_tip_not_where_the_tip_starts():
    # A narrow R wave with its apex at column 20, drawn by a round 5 px pen: the tip's top edge is
    # level over columns 19-21, and the first of them was read as the peak, a column early.
    band = np.zeros((80, 41), np.uint8)
    cv2.polylines(band, [np.array([[0, 60], [17, 60], [20, 10], [23, 60], [40, 60]], np.int32)], False, 1)
    pen = np.ones((5, 5), np.uint8)
    pen[[0, 0, 4, 4], [0, 4, 0, 4]] = 0
    y = track(cv2.dilate(band, pen), 60.0, 5.0)
    assert np.flatnonzero(y == np.nanmin(y)).tolist() == [20]
    assert np.nanmin(y) == pytest.approx(10, abs=0.5)


def test_track_goes_back_to_its_own_baseline_after_a_neighbours_qrs_led_it_away():
    # Lead B (baseline row 100) has a tall QRS at column 30 that touches lead A's trace (row 20);
    # read for lead B, the nearest run after the spike is A's, and a pen that only follows the
    # nearest run stays on A for the rest of the row.
    band = np.zeros((200, 120), np.uint8)
    band[19:22, :] = 1                       # lead A, flat
    band[99:102, :] = 1                      # lead B, flat
    band[19:102, 30:32] = 1                  # B's R wave reaching A's trace
    y_nearest = track(band, 100.0, 3.0)
    y = track(band, 100.0, 3.0, return_cols=10)
    assert y_nearest[100] == pytest.approx(20, abs=1)        # the trap
    assert y[100] == pytest.approx(100, abs=1)               # back on its own trace
    assert np.all(np.abs(y[45:] - 100) <= 1)                 # within 10 columns of the spike


def _dashed_grid_page(px_per_mm: float = 5.0) -> tuple[np.ndarray, dict[str, int]]:
    """A black-and-white page at ``px_per_mm``: vertical grid lines every 5 mm broken into dashes
    (as a scan leaves them), a flat trace with QRS spikes and a calibration pulse, all in black."""
    h, w = 300, 600
    page = np.full((h, w, 3), 255, np.uint8)
    period = int(5 * px_per_mm)
    for x in range(period, w, period):
        for y0 in range(0, h, 8):
            page[y0:y0 + 5, x:x + 2] = 0                   # 5 px dash, 3 px gap
    base = 150
    page[base - 1:base + 2, 60:] = 0                        # the trace's baseline, 3 px pen
    page[base - 50:base + 2, 20:23] = 0                     # calibration pulse: rise, top, fall 5 mm on
    page[base - 50:base - 47, 20:48] = 0
    page[base - 50:base + 2, 45:48] = 0
    page[base - 1:base + 2, 20:60] = 0
    spikes = [113, 211, 309, 407, 505]                      # R waves 0.8 s apart, clear of the grid
    for x in spikes:
        page[base - 60:base + 2, x:x + 3] = 0
        page[base - 4:base - 1, x + 30:x + 60] = 0          # T waves: no flat run as long as a grid line
        page[base - 1:base + 2, x + 30:x + 60] = 255
    return page, {"period": period, "base": base, "spike": spikes[0], "pulse_rise": 20, "pulse_fall": 45}


def test_dashed_vertical_grid_lines_are_cut_but_not_the_trace_its_beats_or_its_pulse():
    page, where = _dashed_grid_page()
    mask = (page[..., 0] < 128).astype(np.uint8)
    columns = grid_columns(mask, 5.0)
    period, base = where["period"], where["base"]
    assert columns[:, period * 3].mean() > 0.9            # a dashed line, found down the page
    assert not columns[:, where["spike"]:where["spike"] + 3].any()
    assert not columns[:, where["pulse_rise"]].any() and not columns[:, where["pulse_fall"]].any()
    traces = find_traces(page, False, 5.0)
    cleaned = traces.mask
    assert cleaned[: base - 70, period * 3:period * 3 + 2].sum() == 0      # the dashes are gone
    assert cleaned[base - 4:base + 2, 60:595].any(axis=0).all()           # the trace runs on through the lines
    assert cleaned[base - 55, where["spike"] + 1]                          # the R wave keeps its height
    assert cleaned[base - 30, where["pulse_rise"] + 1] and cleaned[base - 30, where["pulse_fall"] + 1]
    assert traces.quality["dashed_line_share"] > 0.01


def test_beats_and_a_pulse_without_a_grid_are_not_taken_for_grid_lines():
    page, _ = _dashed_grid_page()
    period = int(5 * 5.0)
    mask = (page[..., 0] < 128).astype(np.uint8)
    mask[:, period::period] = 0                              # the dashes gone: trace, beats and pulse left
    mask[:, period + 1::period] = 0
    assert not grid_columns(mask, 5.0).any()


def _beats(times_s: np.ndarray, start: float, seconds: float, fs: int = 500) -> np.ndarray:
    t = start + np.arange(int(seconds * fs)) / fs
    wave = sum(np.exp(-((t - b) ** 2) / (2 * 0.012 ** 2)) for b in times_s)
    return 0.05 * np.sin(2 * np.pi * 0.3 * t) + wave


def test_an_irregular_rhythm_read_well_agrees_with_its_strip_window_by_window():
    # The rate climbs 60 → 80 → 100 → 120 bpm column by column: the 3x4 columns honestly differ.
    beats = np.r_[0.3, 1.3, 2.3, 2.9, 3.65, 4.4, 5.0, 5.6, 6.2, 6.8, 7.4, 7.9, 8.4, 8.9, 9.4, 9.9]
    names = [("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"), ("V4", "V5", "V6")]
    leads = {}
    for column, group in enumerate(names):
        wave = _beats(beats, 2.5 * column, 2.5)
        for name, gain in zip(group, (1.0, 1.5, 0.5)):      # I + III = II
            leads[name] = LeadSignal(name, 2.5 * column, 500, gain * wave)
    leads["II-rhythm"] = LeadSignal("II-rhythm", 0.0, 500, 1.5 * _beats(beats, 0.0, 10.0))
    quality = assess(leads)
    assert quality.lead_rates["I"] == pytest.approx(60, abs=2) and quality.lead_rates["aVL"] == pytest.approx(80, abs=3)
    assert quality.lead_rates["V6"] == pytest.approx(120, abs=3)
    assert quality.qc["hr_mad_bpm"] < 3 and quality.readable, quality.reasons
    del leads["II-rhythm"]                                   # no strip: only the leads' median to go by
    assert assess(leads).qc["hr_mad_bpm"] > 15


def test_records_round_trip_with_nan(tmp_path):
    a = np.sin(np.arange(1250) / 40)
    a[100:120] = np.nan
    leads = {"I": LeadSignal("I", 0.0, 500, a), "aVR": LeadSignal("aVR", 2.5, 500, np.cos(np.arange(1250) / 40))}
    header = write_wfdb(leads, tmp_path / "rec", "page 1")
    record = wfdb.rdrecord(str(header.with_suffix("")))
    assert record.sig_name == ["I", "aVR"] and record.fs == 500 and record.p_signal.shape == (2500, 2)
    assert np.nanmax(np.abs(record.p_signal[:1250, 0] - a)) < 1e-3
    assert np.isnan(record.p_signal[110, 0]) and np.isnan(record.p_signal[0, 1])
    names = zipfile.ZipFile(io.BytesIO(wfdb_zip_bytes(leads, "page"))).namelist()
    assert sorted(names) == ["page.dat", "page.hea"]
    rows = list(csv.reader(write_csv(leads, tmp_path / "x.csv").open()))
    assert rows[0] == ["time_s", "I", "aVR"] and len(rows) == 2501
    assert rows[1251][2] != "" and rows[1][2] == "" and rows[111][1] == ""


def test_a_lead_printed_twice_is_the_mean_of_both_readings_after_their_lag():
    from core.ecg.reader.signals import _read_twice

    rng = np.random.default_rng(0)
    truth = np.sin(np.arange(5000) / 40)
    short = LeadSignal("II", 2.5, 500, truth[1250:2500] + rng.normal(0, 0.05, 1250))
    strip_mv = np.roll(truth, 3) + rng.normal(0, 0.05, 5000) + 0.2      # 3 samples late, another zero
    strip_mv[1300:1400] = np.nan
    both = _read_twice(short, LeadSignal("II-rhythm", 0.0, 500, strip_mv))
    error = lambda mv: float(np.sqrt(np.mean((mv - truth[1250:2500]) ** 2)))
    assert error(both.mv) < 0.8 * error(short.mv)
    assert np.isfinite(both.mv).all()


def test_law_ratio_lets_any_one_lead_lag():
    t = np.arange(2000) / 500
    i, ii = np.sin(2 * np.pi * 1.3 * t), np.sin(2 * np.pi * 0.7 * t + 1)
    leads = {"I": LeadSignal("I", 0, 500, np.roll(i, 3)), "II": LeadSignal("II", 0, 500, ii),
             "III": LeadSignal("III", 0, 500, ii - i)}
    assert law_ratio(leads, ("I", "III"), ("II",)) > 0.05
    assert law_ratio(leads, ("I", "III"), ("II",), max_lag=5) < 0.01


def test_snr_with_unread_samples_as_a_flat_line_counts_what_was_missed():
    ref = _ecg_like()
    half = ref.copy()
    half[: ref.size // 2] = np.nan                           # a perfect reading of half the lead
    assert lead_snr(ref, half)[0] > 40
    strict, _ = lead_snr(ref, half, unread_as_flat=True)
    # The unread half is all error: about its share of the lead's energy, 10·log10(2) ≈ 3 dB.
    assert 1.5 < strict < 4.5


@pytest.mark.parametrize("ratio, contrast, axes, rule", [
    (1.17, (300.0, 300.0), 2.0, "grid"),      # a clear grid; the rows run long, as a GE sheet's
    (1.25, (300.0, 300.0), 2.0, "rows"),      # a 5/4 harmonic
    (1.10, (300.0, 10.0), 2.0, "rows"),       # far stronger along one axis: a texture
    (1.09, (456.0, 676.0), 1.0, "both"),      # two periods that disagree, finer than the rows
    (0.85, (104.0, 177.0), 1.0, "both"),      # ... coarser (a GE photo's faint grid was right)
    (0.80, (104.0, 177.0), 1.0, "both"),      # ... even beyond a fifth
    (1.04, (104.0, 177.0), 1.0, "grid"),
])
def test_the_rows_replace_or_are_read_beside_a_grid_by_how_far_and_how_clearly(ratio, contrast, axes, rule):
    from core.ecg.reader.grid import Grid
    from core.ecg.reader.reading import _rows_rule

    grid = Grid(5.0 * ratio, 5.0 * ratio, True, {"contrast_x": contrast[0], "contrast_y": contrast[1],
                                                  "axes_seen": axes})
    assert _rows_rule(grid, 5.0, cut=False) == rule


@pytest.mark.parametrize("ratio, rule", [(0.77, "both"), (1.3, "grid"), (0.97, "grid")])
def test_rows_cut_by_the_image_edge_only_bound_the_scale_from_below(ratio, rule):
    """A 6x2 scan cropped through its right column: its rows say at least 4.6 px/mm; a clear grid
    of 3.5 px/mm (0.77x) is read beside them (its page would be 350 mm wide), a finer one is kept."""
    from core.ecg.reader.grid import Grid
    from core.ecg.reader.reading import _rows_rule

    grid = Grid(5.0 * ratio, 5.0 * ratio, True, {"contrast_x": 300.0, "contrast_y": 300.0, "axes_seen": 2.0})
    assert _rows_rule(grid, 5.0, cut=True) == rule


def test_a_segment_without_columns_is_a_lead_not_read_not_an_error():
    """A layout squeezed to a pixel's width (marks taken for pulses) gave OpenCV an empty band."""
    from core.ecg.reader.layout import Layout, Row, Segment
    from core.ecg.reader.signals import read_signals

    mask = np.zeros((100, 400), bool)
    mask[50, 10:390] = True
    row = Row(50, 25, 75, 10, 390, ())
    layout = Layout("1 rows", (row,), (Segment("I", 0, 10, 390, 0.0), Segment("II", 0, 200, 200, 0.0)), 10.0)
    leads, paths = read_signals(mask, layout, 5.0, 2.0)
    assert set(leads) == {"I"} and set(paths) == {"I"}
    assert np.nanmax(np.abs(leads["I"].mv)) < 0.01


@pytest.mark.parametrize(("name", "row_mm", "seconds"), [("3x4", 240, 2.5), ("3 rows", 240, 2.4), ("3x4", 100, 1.0)])
def test_a_standard_rows_span_is_its_ten_seconds_whatever_the_grid_says(name, row_mm, seconds):
    """Rows 240 mm long at the grid's 5 px/mm (a photo whose grid period reads 4 % long): a 3x4
    page's row still prints 10 s, so each column is 2.5 s; a generic page keeps the grid's 25 mm/s,
    and so do rows 100 mm long, which are no 10 s rows (a crop, or a plot that is no ECG)."""
    from core.ecg.reader.layout import Layout, Row, Segment
    from core.ecg.reader.signals import read_signals

    x1 = 10 + row_mm * 5
    mask = np.zeros((100, x1 + 90), bool)
    mask[50, 10:x1] = True
    column = (x1 - 10) // 4
    segments = tuple(Segment(lead, 0, 10 + column * c, 10 + column * (c + 1), 2.5 * c)
                     for c, lead in enumerate(("I", "aVR", "V1", "V4")))
    leads, _ = read_signals(mask, Layout(name, (Row(50, 25, 75, 10, x1, ()),), segments, 10.0), 5.0, 2.0)
    assert {len(s.mv) for s in leads.values()} == {int(seconds * 500)}


def test_a_lead_read_over_a_third_of_its_length_still_names_its_rhythm_strip():
    """A GE phone photo: lead II read over 0.8 s of its 2.5 s; aVF, which looks much like II, read
    whole. The strip repeats II, and the part of II that was read says so."""
    from core.ecg.reader.signals import _rhythm_lead
    from core.synth.waveforms import synthesize_ecg

    ecg = synthesize_ecg("Normal", np.random.default_rng(0))
    strip = LeadSignal("II", 0.0, 500, ecg.lead("II")[:5000].copy())
    ii = ecg.lead("II")[:1250].copy()
    ii[400:] = np.nan
    avf = strip.mv[1250:2500] + 0.3 * ecg.lead("aVF")[1250:2500]         # II-like, r > 0.9
    leads = {"II": LeadSignal("II", 0.0, 500, ii), "aVF": LeadSignal("aVF", 2.5, 500, avf)}
    assert _rhythm_lead(strip, leads, "V1") == "II"
