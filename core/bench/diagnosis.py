"""Diagnosis by layout: what the Predict page answers for synthetic photo-like pages of every layout.

Issue 18 asks that ECG pages of any layout and capture be accepted as ECGs (≥ 0.98) and that the
diagnosis accuracy be reported per layout. The pages are the generator's truth pages with the ECG
check's held-out seed (``core.bench.ecg_check_corpus.TEST_SEED``: neither the check's fit nor the
reader's benchmark saw them), each printed in one layout and captured with one effect; every
page goes through ``analyse_image`` with the model Predict opens by default.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from core.use.ecg_check import NOT_ECG


def diagnosis_table(bundle_path: str, pages: int) -> pd.DataFrame:
    """One row per truth page: ``layout``, ``effect``, true ``class``, the check's ``outcome``, the
    ``status`` shown and the ``predicted`` class."""
    from core.bench.ecg_check_corpus import TEST_SEED
    from core.bundles import load_bundle
    from core.synth.truth import render_truth_page, truth_page_seed, truth_plan
    from core.use import analyse_image, png_bytes

    bundle = load_bundle(bundle_path)
    rows = []
    for index in range(pages):
        layout, effect = truth_plan(index)
        image, truth = render_truth_page(truth_page_seed(TEST_SEED, index), layout=layout, effect=effect)
        result = analyse_image(bundle, png_bytes(image), name=f"truth-{index}.png")
        rows.append({"layout": layout, "effect": effect, "class": truth.cls, "outcome": result.ecg_check.outcome,
                     "status": result.diagnosis.status, "predicted": result.diagnosis.predicted})
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> dict[str, Any]:
    """Shares over all pages and per layout: accepted as an ECG, inside the model's domain, and the
    predicted class right (over all pages, and over the pages diagnosed inside the domain)."""
    def shares(group: pd.DataFrame) -> dict[str, Any]:
        inside = group[group["outcome"] == "ecg"]
        return {"pages": len(group), "accepted": float((group["outcome"] != NOT_ECG).mean()),
                "in_domain": float((group["outcome"] == "ecg").mean()),
                "accuracy": float((group["predicted"] == group["class"]).mean()),
                "accuracy_in_domain": float((inside["predicted"] == inside["class"]).mean()) if len(inside) else None}

    return {**shares(table), "by_layout": {layout: shares(g) for layout, g in table.groupby("layout", sort=False)},
            "refused": table.loc[table["outcome"] == NOT_ECG, ["layout", "effect"]].to_dict("records")}


def bench_diagnosis(bundle_path: str, pages: int) -> dict[str, Any]:
    """The ``diagnosis`` section: :func:`summarise` of :func:`diagnosis_table` for ``pages`` pages."""
    return {"bundle": bundle_path, **summarise(diagnosis_table(bundle_path, pages))}
