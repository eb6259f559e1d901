"""core.ecg.reader.beats: a heart's beats repeat their shape; other wiggles at a "heart rate" do not."""
from __future__ import annotations

import numpy as np
import pytest

from core.ecg.reader.beats import beat_similarity, lead_beat_similarity, r_peaks
from core.ecg.reader.quality import lead_rate
from core.ecg.reader.signals import LeadSignal
from core.synth.waveforms import LEADS, synthesize_ecg

FS = 500


def _leads(ecg, seconds: float = 2.5) -> dict[str, LeadSignal]:
    n = int(seconds * FS)
    return {name: LeadSignal(name, 0.0, FS, ecg.lead(name)[:n].copy()) for name in LEADS}


@pytest.mark.parametrize(("cls", "floor"), [("Normal", 0.9), ("Myocardial Infarction", 0.9),
                                            ("Abnormal Heartbeat", 0.6)])   # this seed: atrial fibrillation
def test_an_ecgs_beats_look_alike_even_in_an_irregular_rhythm(cls, floor):
    ecg = synthesize_ecg(cls, np.random.default_rng(3))
    similarity, leads = beat_similarity(_leads(ecg, 10.0))
    assert similarity > floor and leads >= 10, (cls, ecg.rhythm, similarity, leads)


def test_filtered_noise_never_rests_so_it_has_no_heart_rate():
    rng = np.random.default_rng(0)
    # EEG-like: low-pass noise, mV-sized, steep everywhere (NeuroKit2's detector called its peaks R peaks)
    noise = np.convolve(rng.normal(0, 1, 5 * FS), np.ones(25) / 25, mode="same")
    leads = {f"row{i}": LeadSignal(f"row{i}", 0.0, FS, np.roll(noise, 700 * i)) for i in range(6)}
    assert max(len(r_peaks(lead)) for lead in leads.values()) <= 1        # no RR interval, no rate
    assert beat_similarity(leads) == (None, 0)


def test_bursts_at_a_heart_rate_that_differ_in_shape_do_not_look_alike():
    """A seismic or audio trace: quiet, then a burst of a different shape every 0.8 s."""
    rng = np.random.default_rng(1)
    mv = np.zeros(5 * FS)
    for start in range(100, len(mv) - 300, int(0.8 * FS)):
        mv[start:start + 200] = np.convolve(rng.normal(0, 1, 200), np.ones(5) / 5, mode="same")
    lead = LeadSignal("row", 0.0, FS, mv)
    assert len(r_peaks(lead)) >= 5
    assert lead_beat_similarity(lead) < 0.45


def test_a_lead_read_over_too_little_of_its_length_is_not_judged():
    ecg = synthesize_ecg("Normal", np.random.default_rng(1))
    mv = ecg.lead("II")[: 5 * FS].copy()
    mv[: int(0.5 * len(mv))] = np.nan
    assert lead_beat_similarity(LeadSignal("II", 0.0, FS, mv)) is None
    assert beat_similarity({}) == (None, 0)


@pytest.mark.parametrize("seed", range(6))
def test_leads_printed_over_the_same_seconds_find_the_same_rate(seed):
    """A 3x4 page's leads in one 2.5 s column show the same beats: their rates agree within 5 bpm
    (NeuroKit2's detector, blind in a lead's first 0.3 s, missed or added one in some: 7-10 bpm)."""
    ecg = synthesize_ecg("Normal", np.random.default_rng(seed))
    for column in range(4):
        window = slice(1250 * column, 1250 * (column + 1))
        rates = [rate for name in LEADS
                 if (rate := lead_rate(LeadSignal(name, 2.5 * column, FS, ecg.lead(name)[window].copy()))) is not None]
        assert len(rates) >= 10 and max(rates) - min(rates) <= 5, (column, np.round(rates))


def _beats(rr_s: float, waves: list[tuple[float, float, float]], seconds: float = 2.5) -> LeadSignal:
    """A regular rhythm of beats made of Gaussian waves (offset from the beat in s, width in s, mV)."""
    t = np.arange(int(seconds * FS)) / FS
    mv = np.zeros_like(t)
    for beat in np.arange(0.2, seconds, rr_s):
        for offset, width, height in waves:
            mv += height * np.exp(-0.5 * ((t - beat - offset) / width) ** 2)
    return LeadSignal("V3", 0.0, FS, mv)


def test_a_lead_whose_r_and_s_are_alike_is_timed_on_the_same_wave_every_beat():
    """R 1.0 mV and S -0.98 to -1.02 mV, 40 ms apart: R in one beat and S in the next would move the
    RR intervals by 40 ms (a 2.5 s window's rate at 105 bpm by 7 bpm)."""
    lead = _beats(0.57, [(0.0, 0.008, 1.0), (0.04, 0.008, -1.0)])
    rng = np.random.default_rng(0)
    lead = LeadSignal(lead.name, 0.0, FS, lead.mv * (1 + rng.normal(0, 0.02, len(lead.mv))))
    intervals = np.diff(r_peaks(lead)) / FS
    assert len(intervals) >= 3 and np.ptp(intervals) <= 0.006, intervals
    assert abs(lead_rate(lead) - 60 / 0.57) <= 2


def test_a_tall_broad_t_wave_is_no_qrs():
    """Hyperacute T waves (MI) twice the QRS's height and 0.2 s wide: one beat each, not two."""
    lead = _beats(0.8, [(0.0, 0.01, 1.0), (0.3, 0.05, 2.0)], seconds=5.0)
    assert abs(lead_rate(lead) - 75) <= 2, lead_rate(lead)


def test_a_beat_too_shallow_for_the_bar_is_found_in_its_rr_gap():
    """A nearly isoelectric lead: one QRS a third as tall as the others falls under the 60 % bar and
    leaves an RR gap twice the others; the search back finds it, T waves stay out."""
    t = np.arange(int(5 * FS)) / FS
    mv = np.zeros_like(t)
    beats = np.arange(0.3, 4.9, 0.8)
    for k, at in enumerate(beats):
        size = 0.07 if k == 3 else 0.2
        mv += size * np.exp(-((t - at) / 0.012) ** 2) + 0.05 * np.exp(-((t - at - 0.3) / 0.06) ** 2)
    peaks = r_peaks(LeadSignal("aVL", 0.0, FS, mv))
    assert np.allclose(peaks / FS, beats, atol=0.01)
    assert lead_rate(LeadSignal("aVL", 0.0, FS, mv)) == pytest.approx(75, abs=1)
