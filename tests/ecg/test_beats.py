"""core.ecg.reader.beats: a heart's beats repeat their shape; other wiggles at a "heart rate" do not."""
from __future__ import annotations

import numpy as np
import pytest

from core.ecg.reader.beats import beat_similarity, lead_beat_similarity
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


def test_peaks_in_filtered_noise_do_not_look_alike():
    rng = np.random.default_rng(0)
    # EEG-like: low-pass noise, mV-sized, with peaks NeuroKit2 will still call R peaks
    noise = np.convolve(rng.normal(0, 1, 5 * FS), np.ones(25) / 25, mode="same")
    leads = {f"row{i}": LeadSignal(f"row{i}", 0.0, FS, np.roll(noise, 700 * i)) for i in range(6)}
    similarity, counted = beat_similarity(leads)
    assert counted >= 3 and similarity < 0.45


def test_a_lead_read_over_too_little_of_its_length_is_not_judged():
    ecg = synthesize_ecg("Normal", np.random.default_rng(1))
    mv = ecg.lead("II")[: 5 * FS].copy()
    mv[: int(0.5 * len(mv))] = np.nan
    assert lead_beat_similarity(LeadSignal("II", 0.0, FS, mv)) is None
    assert beat_similarity({}) == (None, 0)
