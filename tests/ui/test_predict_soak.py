"""Opt-in soak (``pytest -m soak``): a hundred predictions by twenty Predict sessions in one server
process keep its memory bounded (issue #19). The page's caches hold a bounded number of analyses,
saliency maps and readings, so once they are full (the first round of twenty) every further round
must leave the resident set where it was, give or take the allocator.

Measured 2026-12-06 (2 shared cores, load 14), RSS after each round of twenty: 1630, 1625, 1695, 1656,
1590 MB. The allocator moves it by ±50 MB from round to round (a run before that one went over a
60 MB bound), so the bound is 150 MB over the last 80 predictions: under 2 MB a prediction, where a
page's analysis kept alive per prediction would cost several MB each.
"""
from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

SESSIONS = 20
ROUNDS = 5                 # 5 × 20 = 100 predictions
MAX_GROWTH_MB = 150        # over rounds 2-5, once the page's caches are full


@pytest.mark.soak
def test_a_hundred_predictions_by_twenty_sessions_keep_memory_bounded(app_test, tiny_dataset, models_root):
    from core.bench.soak import rss_mb
    from core.paths import PROJECT_ROOT

    shutil.copytree(PROJECT_ROOT / "models" / "mendeley-leadnet", models_root / "mendeley-leadnet")
    pages = sorted(Path(tiny_dataset).rglob("*.jpg"))
    sessions = [app_test("pages/predict.py") for _ in range(SESSIONS)]
    readings = []
    for round_ in range(ROUNDS):
        for i, at in enumerate(sessions):
            page = pages[(round_ * SESSIONS + i) % len(pages)]     # a different page each time, caches churn
            at.file_uploader(key="predict_upload").upload(f"{round_}-{i}.jpg", page.read_bytes(), "image/jpeg")
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            assert any(m.label == "Predicted class" for m in at.metric)
        gc.collect()
        readings.append(rss_mb())
    print(f"RSS after each round of {SESSIONS} predictions (MB): {[round(r) for r in readings]}")
    assert max(readings[1:]) - readings[0] <= MAX_GROWTH_MB, [round(r) for r in readings]
