"""Train-page pieces for teaching: the split choice of the leakage lesson, the run history with
overlaid curves, and the leakage lesson itself (two runs side by side with the groups that leaked).

Everything computed here comes from ``core.learn.runs`` and ``core.data.splits``; this module only draws.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from core.charts import runs_overlay_chart
from core.data import leaked_groups, split_dataset
from core.learn import runs

SPLIT_LABELS = {"duplicate-safe": "Split: duplicate-safe (right)",
                "random": "Split: random files (wrong — for the leakage lesson)"}
SPLIT_KEY = "train_split_method"


def split_option(data):
    """The split radio; returns ``data`` re-split at random when the wrong way is chosen."""
    method = st.radio("Split", list(SPLIT_LABELS), format_func=SPLIT_LABELS.get, horizontal=True,
                      key=SPLIT_KEY, label_visibility="collapsed",
                      help="The random file split lets exact copies of a page sit in train and in test, "
                           "so the test score measures memory, not skill. Train once each way and compare "
                           "them in 'Run history and the leakage lesson' below.")
    if method != "random":
        return data
    index = split_dataset(data.index.drop(columns=["split", "leaks"], errors="ignore"),
                          seed=data.seed, method="random")
    leaked = leaked_groups(index)
    st.warning(f"Wrong on purpose: {len(leaked)} groups of duplicate pages now have copies in both "
               "train and test. Expect a test score that is too good to be true.",
               icon=":material/warning:")
    return replace(data, index=index)


def split_method() -> str:
    return st.session_state.get(SPLIT_KEY, "duplicate-safe")


def run_history() -> None:
    """The recorded runs; pick two or more to overlay their curves and compare test metrics."""
    recorded = runs.load_runs()
    if not recorded:
        st.caption("No runs recorded yet: every training run (finished, stopped or failed) appears here.")
        return
    table = runs.runs_table(recorded)
    st.dataframe(table.drop(columns=["id"]).iloc[::-1], hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("test_accuracy", "test_macro_f1")})
    by_id = {r["id"]: r for r in recorded}
    latest = [r["id"] for r in recorded[-2:]]
    chosen = st.multiselect("Compare runs", list(by_id)[::-1], default=latest[::-1],
                            format_func=lambda i: f"{runs.run_label(by_id[i])} · "
                                                  f"{table.set_index('id').loc[i, 'started']}",
                            key="runs_compare")
    picked = [by_id[i] for i in chosen]
    if len(picked) >= 2:
        curves = runs.curves_frame(picked)
        left, right = st.columns(2)
        left.altair_chart(runs_overlay_chart(curves, "loss"), width="stretch")
        right.altair_chart(runs_overlay_chart(curves, "accuracy"), width="stretch")
        st.dataframe(runs.compare_metrics(picked), hide_index=True, width="stretch")
    leakage_lesson(recorded)


def leakage_lesson(recorded: list[dict]) -> None:
    """The latest duplicate-safe and random-split runs on the same data, side by side."""
    st.subheader("The leakage lesson")
    right, wrong = runs.leakage_pair(recorded)
    if right is None or wrong is None:
        st.caption("Train the same model on the same dataset twice — once with the duplicate-safe split, "
                   "once with the random file split — and the two runs appear here side by side.")
        return
    st.markdown(
        "Both models were trained the same way. The only difference is **how the pages were split**. "
        "Many pages of this dataset exist as exact copies; split at random, a copy of a test page is "
        "already in the training set, so the model is tested on pages it has memorised.")
    columns = st.columns(2)
    for column, run, title in ((columns[0], right, "Duplicate-safe split (right)"),
                               (columns[1], wrong, "Random file split (wrong)")):
        metrics = run.get("metrics", {})
        column.markdown(f"**{title}** · `{run.get('bundle_name', '')}`")
        column.metric("Test accuracy", f"{metrics.get('test_accuracy', float('nan')):.3f}")
        column.metric("Test macro-F1", f"{metrics.get('test_macro_f1', float('nan')):.3f}")
        column.metric("Duplicate groups in train and test", run.get("leaked_group_count", 0))
    gap = wrong["metrics"]["test_accuracy"] - right["metrics"]["test_accuracy"]
    st.info(f"The random split scores {gap:+.3f} accuracy: that difference is leakage, not learning.")
    if wrong.get("leaked_groups"):
        st.caption("Duplicate groups that leaked (files in both train and test under the random split):")
        st.dataframe(pd.DataFrame(wrong["leaked_groups"]), hide_index=True, width="stretch")
