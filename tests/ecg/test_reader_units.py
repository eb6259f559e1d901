"""Reader pieces on known inputs: SNR scoring, law checks, pen tracking, records."""
from __future__ import annotations

import csv
import io
import warnings
import zipfile

import numpy as np
import pytest

from core.ecg.reader import (
    LeadSignal,
    law_ratio,
    lead_snr,
    wfdb_zip_bytes,
    write_csv,
    write_wfdb,
)
from core.ecg.reader.signals import track

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
