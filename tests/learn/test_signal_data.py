"""Page tensors from signals (core.learn.signal_data) and their cache (core.learn.signal_cache)."""
from __future__ import annotations

import numpy as np
import pytest

from core.ecg.reader import LeadSignal
from core.learn.signal_cache import PageSignals, load_signals, page_signals, save_signals
from core.learn.signal_data import (RHYTHM_N, SEGMENT_N, augment, layout_leads, page_tensor, rhythm_lead,
                                    stack)
from core.synth.waveforms import LEADS, synthesize_ecg


@pytest.fixture(scope="module")
def ecg():
    return synthesize_ecg("Myocardial Infarction", np.random.default_rng(4))


@pytest.mark.parametrize("layout, rhythm_read", [("3x4+1", RHYTHM_N), ("3x4", 0), ("6x2", SEGMENT_N * 2),
                                                 ("12x1", RHYTHM_N)])
def test_every_layout_gives_the_same_tensor_shape(ecg, layout: str, rhythm_read: int) -> None:
    x = page_tensor(layout_leads(ecg, layout))
    assert x["leads"].shape == (12, SEGMENT_N, 2) and x["rhythm"].shape == (RHYTHM_N, 2)
    assert x["leads"][..., 1].sum(axis=1).min() == SEGMENT_N          # every lead fully read
    assert int(x["rhythm"][:, 1].sum()) == rhythm_read                 # no strip on 3x4: lead II is too short


def test_amplitudes_stay_in_millivolts(ecg) -> None:
    """The window of lead V2 is the recording itself minus its median: ST elevation survives."""
    x = page_tensor(layout_leads(ecg, "12x1"))
    v2 = ecg.lead("V2")
    start = (len(v2) - SEGMENT_N) // 2
    window = v2[start:start + SEGMENT_N]
    np.testing.assert_allclose(x["leads"][LEADS.index("V2"), :, 0], window - np.median(v2), atol=1e-5)


def test_3x4_columns_are_the_recording_quarters(ecg) -> None:
    leads = layout_leads(ecg, "3x4+1")
    assert leads["V4"].start_s == 7.5 and len(leads["V4"].mv) == 1250
    np.testing.assert_array_equal(leads["aVL"].mv, ecg.lead("aVL")[1250:2500])
    assert rhythm_lead(leads).name == "II-rhythm"


def test_reader_gaps_are_bridged_and_masked() -> None:
    """A fake reading: NaN gaps inside a lead, a short lead, a missing lead, a III rhythm strip."""
    t = np.arange(1240) / 500
    mv = (0.5 * np.sin(2 * np.pi * t) + 0.2).astype(np.float32)
    gapped = mv.copy()
    gapped[100:150] = np.nan
    gapped[:20] = np.nan
    leads = {name: LeadSignal(name, 0.0, 500, mv) for name in LEADS if name != "V3"}
    leads["I"] = LeadSignal("I", 0.0, 500, gapped)
    leads["III-rhythm"] = LeadSignal("III-rhythm", 0.0, 500, np.tile(mv, 4))
    x = page_tensor(leads)
    i = LEADS.index("I")
    assert np.isfinite(x["leads"]).all()
    assert x["leads"][i, 100:150, 1].sum() == 0 and x["leads"][i, 20:100, 1].all()
    assert x["leads"][i, :20, 0].tolist() == [0.0] * 20                     # nothing invented before the trace
    bridge = x["leads"][i, 100:150, 0]
    assert bridge.min() >= min(x["leads"][i, 99, 0], x["leads"][i, 150, 0]) - 1e-6   # linear, no overshoot
    assert x["leads"][i, 1240:, 1].sum() == 0                               # 1240 read samples padded to 1250
    assert x["leads"][LEADS.index("V3")].sum() == 0                         # missing lead: zeros, mask 0
    assert x["rhythm"][:, 1].sum() == 4960


def test_augment_keeps_shapes_and_masks_and_changes_values(ecg) -> None:
    batch = stack([page_tensor(layout_leads(ecg, "3x4+1"))] * 4)
    out = augment(batch, np.random.default_rng(0))
    assert out["leads"].shape == batch["leads"].shape and out["rhythm"].shape == batch["rhythm"].shape
    assert (out["leads"][..., 0][out["leads"][..., 1] == 0] == 0).all()
    assert not np.allclose(out["leads"][..., 0], batch["leads"][..., 0])
    assert np.abs(out["leads"][..., 0]).max() <= 5.0


def test_cache_round_trip(tmp_path, ecg) -> None:
    page = PageSignals(True, "3x4+1", (), 72.0, layout_leads(ecg, "3x4+1"))
    save_signals(page, tmp_path / "p.npz")
    back = load_signals(tmp_path / "p.npz")
    assert back.layout == "3x4+1" and back.heart_rate_bpm == 72.0 and list(back.leads) == list(page.leads)
    np.testing.assert_array_equal(back.leads["II-rhythm"].mv, page.leads["II-rhythm"].mv)
    assert back.leads["V4"].start_s == 7.5


def test_a_mendeley_page_reads_to_a_full_tensor(mendeley_dir) -> None:
    from core.data import content_hash

    path = min(mendeley_dir.glob("Normal*/*.jpg"))
    page = page_signals(path, content_hash(path))
    assert page.layout.startswith("3x4") and page.readable
    x = page_tensor(page.leads)
    assert x["leads"][..., 1].mean(axis=1).min() > 0.8 and x["rhythm"][:, 1].mean() > 0.9
    assert 0.3 < np.abs(x["leads"][..., 0]).max() < 5                        # mV, not pixels
