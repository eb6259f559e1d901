"""Altair chart builders: pure functions from data frames to charts, shared by every page."""
from __future__ import annotations

import altair as alt
import pandas as pd

SPLIT_ORDER = ["train", "val", "test"]
SPLIT_COLORS = ["#4c78a8", "#f58518", "#54a24b"]


def class_counts_chart(counts: pd.DataFrame) -> alt.Chart:
    """Grouped bars of images per class, one colour per split (``counts``: split rows × class columns)."""
    long = counts.rename_axis("split").reset_index().melt("split", var_name="class", value_name="images")
    return (
        alt.Chart(long, title="Images per class and split")
        .mark_bar()
        .encode(
            x=alt.X("class:N", sort=list(counts.columns), title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("split:N", sort=SPLIT_ORDER),
            y=alt.Y("images:Q", title="images"),
            color=alt.Color("split:N", sort=SPLIT_ORDER,
                            scale=alt.Scale(domain=SPLIT_ORDER, range=SPLIT_COLORS)),
            tooltip=["class", "split", "images"],
        )
        .properties(height=280)
    )


def training_curves_chart(history: pd.DataFrame, metric: str, *, total_epochs: int | None = None) -> alt.Chart:
    """Train vs validation curve of ``metric`` (``loss`` or ``accuracy``) per epoch.

    ``history`` has one row per epoch with ``epoch``, ``metric`` and ``val_<metric>`` columns.
    The x axis spans ``total_epochs`` so a growing curve does not rescale every epoch.
    """
    columns = {metric: "train", f"val_{metric}": "validation"}
    present = [c for c in columns if c in history.columns]
    long = (history[["epoch", *present]].rename(columns=columns)
            .melt("epoch", var_name="series", value_name=metric))
    x_scale = alt.Scale(domain=[1, max(total_epochs or 1, int(history["epoch"].max() or 1))])
    y_scale = alt.Scale(domain=[0, 1]) if metric == "accuracy" else alt.Scale(zero=True)
    return (
        alt.Chart(long, title=metric.capitalize())
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", scale=x_scale, axis=alt.Axis(tickMinStep=1)),
            y=alt.Y(f"{metric}:Q", scale=y_scale),
            color=alt.Color("series:N", scale=alt.Scale(domain=["train", "validation"],
                                                        range=["#4c78a8", "#f58518"])),
            tooltip=["epoch", "series", alt.Tooltip(f"{metric}:Q", format=".3f")],
        )
        .properties(height=260)
    )
