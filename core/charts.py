"""Altair chart builders: pure functions from data frames to charts, shared by every page."""
from __future__ import annotations

import altair as alt
import numpy as np
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
            x=alt.X("class:N", sort=list(counts.columns), title=None,
                    axis=alt.Axis(labelAngle=0, labelLimit=220)),
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


# --- evaluation ---------------------------------------------------------------------------------

CELL_SELECTION = "cell"  # name of the click selection on the confusion heatmap (for st.altair_chart)


def confusion_heatmap_chart(cells: pd.DataFrame, *, value: str = "count", selectable: bool = True) -> alt.LayerChart:
    """Confusion-matrix heatmap with the value written in every cell.

    ``cells`` has ``true``, ``predicted``, ``count`` and the row-normalised ``rate`` (see
    :func:`core.evaluate.evaluation.confusion_cells`); ``value`` picks which one colours and labels the cells.
    With ``selectable`` a click selects a cell (selection ``CELL_SELECTION`` over true/predicted).
    """
    if value not in ("count", "rate"):
        raise ValueError(f"value must be 'count' or 'rate', got {value!r}")
    labels = list(dict.fromkeys([*cells["true"], *cells["predicted"]]))
    top = float(cells[value].max()) if len(cells) else 1.0
    axis = dict(labelLimit=160, labelFontSize=12, titleFontSize=13)
    base = alt.Chart(cells).encode(
        x=alt.X("predicted:N", sort=labels, title="Predicted class", axis=alt.Axis(labelAngle=-25, **axis)),
        y=alt.Y("true:N", sort=labels, title="True class", axis=alt.Axis(**axis)),
    )
    rect = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues", domain=[0, max(top, 1e-9)]),
                        legend=None),
        tooltip=["true", "predicted", alt.Tooltip("count:Q", title="images"),
                 alt.Tooltip("rate:Q", title="share of true class", format=".0%")],
    )
    if selectable:
        selection = alt.selection_point(name=CELL_SELECTION, fields=["true", "predicted"], on="click")
        rect = rect.add_params(selection).encode(
            opacity=alt.condition(selection, alt.value(1.0), alt.value(0.45)),
            stroke=alt.condition(selection, alt.value("#e45756"), alt.value("white"), empty=False),
            strokeWidth=alt.condition(selection, alt.value(4), alt.value(2), empty=False))
    text = base.mark_text(fontSize=15, fontWeight="bold").encode(
        text=alt.Text(f"{value}:Q", format="d" if value == "count" else ".0%"),
        color=alt.condition(alt.datum[value] > top * 0.55, alt.value("white"), alt.value("#1f2d3d")),
    )
    title = "Confusion matrix: images" if value == "count" else "Confusion matrix: share of each true class"
    size = max(240, 70 * len(labels))
    return alt.layer(rect, text, title=title).properties(width=size, height=size)


def _with_auc_labels(curves: pd.DataFrame, areas: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    labels = {row["class"]: f"{row['class']} ({name} {row['auc']:.2f})" for _, row in areas.iterrows()}
    order = [labels[c] for c in areas["class"]]
    return curves.assign(series=curves["class"].map(labels), step=range(len(curves))), order


def roc_chart(curves: pd.DataFrame, aucs: pd.DataFrame) -> alt.LayerChart:
    """One-vs-rest ROC curves, one per class, the AUC in the legend, chance as a dashed diagonal."""
    data, order = _with_auc_labels(curves, aucs, "AUC")
    chance = alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="#999999").encode(x="fpr:Q", y="tpr:Q")
    lines = alt.Chart(data).mark_line().encode(
        x=alt.X("fpr:Q", title="False-positive rate (1 − specificity)", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("tpr:Q", title="True-positive rate (sensitivity)", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("series:N", sort=order, title=None, legend=alt.Legend(orient="bottom", columns=2,
                                                                             labelLimit=260)),
        order="step:Q",
        tooltip=["class", alt.Tooltip("fpr:Q", format=".2f"), alt.Tooltip("tpr:Q", format=".2f"),
                 alt.Tooltip("threshold:Q", format=".2f")],
    )
    # Streamlit fits the whole chart (title, axes, legend) into the height: leave room for a square-ish plot.
    return alt.layer(chance, lines, title="ROC, one class vs the rest").properties(height=500)


def pr_chart(curves: pd.DataFrame, aps: pd.DataFrame) -> alt.Chart:
    """One-vs-rest precision–recall curves with the area under each (average precision) in the legend."""
    data, order = _with_auc_labels(curves, aps, "AP")
    return (
        alt.Chart(data, title="Precision–recall, one class vs the rest")
        .mark_line(interpolate="step-after")  # as scikit-learn draws it: no optimistic interpolation
        .encode(
            x=alt.X("recall:Q", title="Recall (sensitivity)", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("precision:Q", title="Precision (positive predictive value)",
                    scale=alt.Scale(domain=[0, 1.02])),
            color=alt.Color("series:N", sort=order, title=None,
                            legend=alt.Legend(orient="bottom", columns=2, labelLimit=260)),
            order="step:Q",
            tooltip=["class", alt.Tooltip("recall:Q", format=".2f"), alt.Tooltip("precision:Q", format=".2f")],
        )
        .properties(height=500)
    )


def reliability_chart(bins: pd.DataFrame) -> alt.LayerChart:
    """Reliability diagram: accuracy against mean confidence per confidence bin, before and after
    temperature scaling (``bins`` from :func:`core.evaluate.evaluation.calibration_frame`). A calibrated
    model sits on the dashed diagonal; dot size is the number of predictions in the bin."""
    names = {k: f"{k} scaling (ECE {e:.3f})" for k, e in bins.groupby("calibration", sort=False)["ece"].first().items()}
    data = bins.assign(series=bins["calibration"].map(names))
    order = list(names.values())
    ideal = alt.Chart(pd.DataFrame({"confidence": [0, 1], "accuracy": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="#999999").encode(x="confidence:Q", y="accuracy:Q")
    base = alt.Chart(data).encode(
        x=alt.X("confidence:Q", title="Mean confidence in bin", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("accuracy:Q", title="Accuracy in bin", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("series:N", sort=order, title=None,
                        scale=alt.Scale(range=["#e45756", "#4c78a8"]),
                        legend=alt.Legend(orient="bottom", labelLimit=260)),
    )
    lines = base.mark_line(opacity=0.7)
    dots = base.mark_circle(opacity=0.9).encode(
        size=alt.Size("count:Q", title="predictions", scale=alt.Scale(range=[30, 400]), legend=None),
        tooltip=["series", alt.Tooltip("lower:Q", title="from", format=".1f"),
                 alt.Tooltip("upper:Q", title="to", format=".1f"),
                 alt.Tooltip("confidence:Q", format=".2f"), alt.Tooltip("accuracy:Q", format=".2f"),
                 alt.Tooltip("count:Q", title="predictions")],
    )
    return alt.layer(ideal, lines, dots, title="Reliability diagram").properties(height=460)


def comparison_chart(table: pd.DataFrame, metrics: tuple[str, ...] = ("accuracy", "macro_f1", "ece")) -> alt.Chart:
    """Grouped bars of a few metrics per model (``table`` from :func:`core.evaluate.evaluation.comparison_table`)."""
    long = table.melt("model", value_vars=[m for m in metrics if m in table.columns],
                      var_name="metric", value_name="value")
    models = list(table["model"])
    bars = alt.Chart(long).encode(
        x=alt.X("metric:N", sort=list(metrics), title=None, axis=alt.Axis(labelAngle=0, labelFontSize=12)),
        xOffset=alt.XOffset("model:N", sort=models),
        y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title=None),
        color=alt.Color("model:N", sort=models, legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["model", "metric", alt.Tooltip("value:Q", format=".3f")],
    )
    labels = bars.mark_text(dy=-7, fontSize=11).encode(text=alt.Text("value:Q", format=".2f"),
                                                       color=alt.value("#333333"))
    return alt.layer(bars.mark_bar(), labels, title="Same images, different models (ECE: lower is better)"
                     ).properties(height=300)


# --- prediction ---------------------------------------------------------------------------------

TERRITORY_COLORS = {"inferior": "#e45756", "anterior": "#4c78a8", "lateral": "#54a24b", "": "#9d9da0"}


def probability_chart(probs: pd.DataFrame, *, highlight: str | None = None) -> alt.Chart:
    """Horizontal bars of every class's probability (``probs``: ``class``, ``probability``), in the
    given class order, with ``highlight`` (the predicted class) in a stronger colour."""
    data = probs.assign(chosen=probs["class"] == highlight if highlight else False)
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title=None),
            y=alt.Y("class:N", sort=list(probs["class"]), title=None,
                    axis=alt.Axis(labelLimit=220, labelOverlap=False, labelFontSize=12)),
            color=alt.condition(alt.datum.chosen, alt.value("#d62728"), alt.value("#9ecae9")),
            tooltip=["class", alt.Tooltip("probability:Q", format=".1%")],
        )
    )
    labels = bars.mark_text(align="left", dx=4, color="#1f2d3d").encode(
        text=alt.Text("probability:Q", format=".1%"), color=alt.value("#1f2d3d"))
    return alt.layer(bars, labels, title="Calibrated probability of every class").properties(
        height=max(120, 40 * len(data)))


VOTE_COLORS = {"network": "#9ecae9", "measurements": "#fdae6b", "signal CNN": "#a1d99b", "combined": "#d62728"}


def vote_chart(votes: pd.DataFrame, *, highlight: str | None = None) -> alt.Chart:
    """Each class's probability from the image network, each vote beside it (the page's measurements,
    a signal CNN) and all combined (``votes``: ``class``, ``part``, ``probability``), as grouped bars."""
    parts = list(dict.fromkeys(votes["part"]))
    classes = list(dict.fromkeys(votes["class"]))
    data = votes.assign(label=votes["class"].where(votes["class"] != highlight, votes["class"] + " ◀"))
    return (
        alt.Chart(data, title="How each reader voted")
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title=None),
            y=alt.Y("label:N", sort=[c if c != highlight else c + " ◀" for c in classes], title=None,
                    axis=alt.Axis(labelLimit=240, labelFontSize=12)),
            yOffset=alt.YOffset("part:N", sort=parts),
            color=alt.Color("part:N", sort=parts, title=None, legend=alt.Legend(orient="bottom"),
                            scale=alt.Scale(domain=parts, range=[VOTE_COLORS.get(p, "#bdbdbd") for p in parts])),
            tooltip=["class", "part", alt.Tooltip("probability:Q", format=".1%")],
        )
        .properties(height=max(160, 22 * len(data)))
    )


def lead_share_chart(shares: pd.DataFrame) -> alt.Chart:
    """Bars of each lead's share of the saliency (``shares`` from :func:`core.ecg.leads.lead_shares`),
    largest first, coloured by the territory the lead faces."""
    data = shares.assign(territory=shares["territory"].fillna(""))
    domain = list(TERRITORY_COLORS)
    return (
        alt.Chart(data, title="Share of the saliency in each lead (per unit area)")
        .mark_bar()
        .encode(
            x=alt.X("lead:N", sort=list(data["lead"]), title=None, axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="share of saliency"),
            color=alt.Color("territory:N", scale=alt.Scale(domain=domain, range=[TERRITORY_COLORS[k] for k in domain]),
                            legend=alt.Legend(title="territory", labelExpr="datum.label || 'none'")),
            tooltip=["lead", alt.Tooltip("share:Q", format=".1%", title="share per unit area"),
                     alt.Tooltip("total_share:Q", format=".1%", title="share of all saliency"), "territory"],
        )
        .properties(height=240)
    )


def tuning_chart(table: pd.DataFrame) -> alt.Chart:
    """Each search trial as a point: learning rate (log x) against cross-validated macro-F1, coloured
    by image size, sized by model width; unfinished trials are hollow (``table`` from core.learn.tuning)."""
    data = table.assign(size=table["height"].astype(str) + "×" + table["width"].astype(str),
                        finished=table["state"] == "complete")
    return (
        alt.Chart(data, title="Search trials: cross-validated macro-F1")
        .mark_point(size=90)
        .encode(
            x=alt.X("learning_rate:Q", scale=alt.Scale(type="log"), title="learning rate"),
            y=alt.Y("macro_f1:Q", scale=alt.Scale(domain=[0, 1]), title="macro-F1 (CV)"),
            color=alt.Color("size:N", title="image size"),
            size=alt.Size("model_width:Q", title="model width", scale=alt.Scale(range=[40, 240])),
            fill=alt.condition(alt.datum.finished, alt.Color("size:N", legend=None), alt.value("transparent")),
            tooltip=["rank", "trial", "state", alt.Tooltip("macro_f1:Q", format=".3f"),
                     alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("learning_rate:Q", format=".2e"),
                     "size", "augment", "model_width", "seconds"],
        )
        .properties(height=280)
    )


# --- run history --------------------------------------------------------------------------------

def runs_overlay_chart(curves: pd.DataFrame, metric: str = "accuracy") -> alt.Chart:
    """Curves of several runs on one chart: colour = run, solid = train, dashed = validation.

    ``curves`` is ``core.learn.runs.curves_frame`` (run, epoch, metric, series, value).
    """
    data = curves[curves["metric"] == metric]
    y_scale = alt.Scale(domain=[0, 1]) if metric == "accuracy" else alt.Scale(zero=True)
    return (
        alt.Chart(data, title=f"{metric.capitalize()} of the chosen runs")
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=metric, scale=y_scale),
            color=alt.Color("run:N", legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
            strokeDash=alt.StrokeDash("series:N", sort=["train", "validation"],
                                      scale=alt.Scale(domain=["train", "validation"], range=[[1, 0], [6, 4]])),
            tooltip=["run", "series", "epoch", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=300)
    )


# --- the page reader -----------------------------------------------------------------------------

# The 3x4 printout's reading order (row by row), so the plot looks like the paper students know.
PRINT_ORDER = ["I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6"]
_PAPER = {"gridColor": "#f3b6bd", "domainColor": "#e58f9b", "tickColor": "#e58f9b"}
# Four panels and their gaps fit the page's ~790 px column on a 1280 px screen (230 px ran 150 px past it).
_LEAD_PANEL_PX = 190


def twelve_lead_chart(signals: pd.DataFrame, *, height: int = 110) -> alt.VConcatChart:
    """The digitised leads drawn like an ECG printout: the twelve leads in the 3×4 order, then any
    rhythm strip at full width, on pink grid lines every 0.2 s and 0.5 mV.

    ``signals`` has one row per sample: ``lead``, ``time_s`` (from the start of the recording) and
    ``mv`` (NaN where the trace could not be read, drawn as a gap).
    """
    def panel(frame: pd.DataFrame, width: int | str, title: str) -> alt.Chart:
        t0, t1 = float(frame["time_s"].min()), float(frame["time_s"].max())
        return (
            alt.Chart(frame, title=alt.TitleParams(title, anchor="start", fontSize=12))
            .mark_line(color="#111", strokeWidth=1, interpolate="linear")
            .encode(
                x=alt.X("time_s:Q", title=None, scale=alt.Scale(domain=[t0, t1], nice=False),
                        axis=alt.Axis(values=[round(v, 2) for v in np.arange(np.ceil(t0 / 0.2) * 0.2, t1, 0.2)],
                                      labels=False, ticks=False, **_PAPER)),
                y=alt.Y("mv:Q", title=None, scale=alt.Scale(domain=[-1.5, 1.5], clamp=True),
                        axis=alt.Axis(values=[-1.5, -1, -0.5, 0, 0.5, 1, 1.5], labels=False, ticks=False, **_PAPER)),
                tooltip=[alt.Tooltip("time_s:Q", format=".2f", title="s"), alt.Tooltip("mv:Q", format=".2f", title="mV")],
            )
            .properties(width=width, height=height)
        )

    signals = signals.dropna(subset=["time_s"])
    shown = [lead for lead in PRINT_ORDER if lead in set(signals["lead"])]
    rows = [alt.hconcat(*[panel(signals[signals["lead"] == lead], _LEAD_PANEL_PX, lead)
                          for lead in shown[i:i + 4]], spacing=4)
            for i in range(0, len(shown), 4)]
    strips = [lead for lead in signals["lead"].unique() if lead not in PRINT_ORDER]
    rows += [panel(signals[signals["lead"] == lead], 4 * _LEAD_PANEL_PX + 12, f"{lead} (rhythm strip)")
             for lead in strips]
    return alt.vconcat(*rows, spacing=6).configure_view(stroke="#e58f9b")


def signal_saliency_chart(frame: pd.DataFrame, *, height: int = 100) -> alt.VConcatChart:
    """The twelve 2.5 s windows a signal model saw, in the 3×4 print order, each trace over a band
    coloured by the 1-D Grad-CAM heat (``frame`` from :func:`core.use.signal_explain.saliency_frame`)."""
    def panel(lead: str) -> alt.LayerChart:
        data = frame[frame["lead"] == lead]
        step = float(data["time_s"].diff().median())
        # Heat as the opacity of one red: no heat leaves the paper as it is.
        band = (alt.Chart(data.assign(t1=data["time_s"] + step)).mark_rect(color="#d32f2f")
                .encode(x=alt.X("time_s:Q", title=None, axis=alt.Axis(labels=False, ticks=False, **_PAPER)),
                        x2="t1:Q", opacity=alt.Opacity("heat:Q", scale=alt.Scale(domain=[0, 1], range=[0, 0.8]),
                                                      legend=alt.Legend(title="heat", format=".1f"))))
        trace = (alt.Chart(data).mark_line(color="#111", strokeWidth=1)
                 .encode(x="time_s:Q", y=alt.Y("mv:Q", title=None, scale=alt.Scale(domain=[-1.5, 1.5], clamp=True),
                                               axis=alt.Axis(labels=False, ticks=False, **_PAPER)),
                         tooltip=[alt.Tooltip("time_s:Q", format=".2f", title="s"),
                                  alt.Tooltip("mv:Q", format=".2f", title="mV"),
                                  alt.Tooltip("heat:Q", format=".2f")]))
        return alt.layer(band, trace, title=alt.TitleParams(lead, anchor="start", fontSize=12)).properties(
            width=_LEAD_PANEL_PX, height=height)

    rows = [alt.hconcat(*[panel(lead) for lead in PRINT_ORDER[i:i + 4]], spacing=4) for i in range(0, 12, 4)]
    return alt.vconcat(*rows, spacing=6).configure_view(stroke="#e58f9b")
