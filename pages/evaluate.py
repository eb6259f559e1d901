"""Evaluate: how good is a saved model really, on pages it never saw, and how does it go wrong?

Every number comes from ``core.evaluate.evaluation`` and every chart from ``core.charts``; this page only
chooses the model and the images, caches the predictions, and lays the results out.
"""
from pathlib import Path

import pandas as pd
import streamlit as st

from core import bundles
from core.charts import (CELL_SELECTION, comparison_chart, confusion_heatmap_chart, pr_chart, reliability_chart,
                         roc_chart, training_curves_chart)
from core.data import thumbnail
from core.errors import USER_ERRORS
from core.evaluate import evaluation
from core.learn import READ_SECONDS_PER_PAGE, vote_names

QUICK_READ = 100      # pages still to read that an evaluation with the votes may start on without asking (≈ 1 min)
from pages.choosers import dataset_picker, load_current, model_selectbox, usable_bundles
from pages.common import escape, require_app_navigation, stop_on_error

require_app_navigation()

SPLIT_LABELS = {"test": "Test split: pages kept out of training",
                "all": "All images: a dataset the model never saw"}
GALLERY_COLUMNS = 4
GALLERY_SIDE = 480          # px wide: Grad-CAM overlays in the mistakes gallery


# --- cached steps (model by path + modification time; predictions by model, data and split) -----

def _stamp(path: str) -> float:
    """Changes whenever the bundle is saved again (a retrain under the same name)."""
    folder = Path(path)
    return max((folder / f).stat().st_mtime for f in bundles.BUNDLE_FILES if (folder / f).exists())


@st.cache_resource(show_spinner="Loading the model…", max_entries=6)
def _bundle(path: str, stamp: float) -> bundles.Bundle:
    return bundles.load_bundle(Path(path))


@st.cache_data(show_spinner="Predicting every evaluation image…", max_entries=24)
def _evaluate(path: str, stamp: float, data_key: tuple, split: str, _data, votes: bool = True) -> evaluation.Evaluation:
    index = evaluation.evaluation_index(_data.index, split)
    return evaluation.evaluate_bundle(_bundle(path, stamp), index, reference=_data.index,
                                      skipped=_data.skipped, votes=votes)


@st.cache_data(show_spinner=False, max_entries=24)
def _report(path: str, stamp: float, data_key: tuple, split: str, _ev) -> pd.DataFrame:
    return evaluation.classification_report_frame(_ev)


@st.cache_data(max_entries=512, show_spinner=False)
def _thumb(path: str):
    return thumbnail(path)


def _gradcam_available() -> bool:
    try:
        from core.use import explain_image  # noqa: F401  (arrived with the Predict page)
    except ImportError:
        return False
    return True


@st.cache_data(max_entries=64, show_spinner="Grad-CAM of a mistake…")
def _gradcam(bundle_path: str, stamp: float, image_path: str):
    """Grad-CAM of the predicted class over the page, made by the Predict page's explainer;
    ``None`` when it cannot be made for this image (the gallery then shows the plain image)."""
    from core.use import analyse_image, explain_image, overlay, page_heat

    bundle = _bundle(bundle_path, stamp)
    if bundles.reads_signals(bundle.metadata):      # its saliency lives on the signals (Predict), not on the page
        return None
    try:
        result = analyse_image(bundle, image_path)
        heat = page_heat(result, explain_image(bundle, result, "gradcam"), width=GALLERY_SIDE)
    except USER_ERRORS:
        return None
    page = result.view.image.resize((heat.shape[1], heat.shape[0]))
    return overlay(page, heat, box=result.view.box)


# --- choosing ----------------------------------------------------------------------------------

def describe_model(metadata) -> None:
    trained_on = metadata.dataset.get("name") or metadata.dataset.get("source") or "an unknown dataset"
    accuracy = metadata.metrics.get("test_accuracy")
    at_training = f" · test accuracy when trained: {accuracy:.3f}" if isinstance(accuracy, float) else ""
    votes = vote_names(metadata)
    voting = f" · its network votes with: {', '.join(votes)} (read from each page)" if votes else ""
    st.caption(f"{escape(metadata.architecture or 'model')} · {len(metadata.classes)} classes: "
               f"{escape(', '.join(metadata.classes))} · trained on {escape(trained_on)} with split seed "
               f"{metadata.split.get('seed', 0)}{at_training}{voting}")


def choose_split(model: str, data, fingerprint: list[str]) -> str:
    """The images to score; the default follows the model and dataset chosen (a user's choice stays
    until either changes)."""
    default = evaluation.default_split(data.index, fingerprint)
    pair = (model, data.source.kind, data.source.path)
    previous = st.session_state.get("evaluate_split_for")
    if "evaluate_split" not in st.session_state or (previous is not None and previous != pair):
        st.session_state["evaluate_split"] = default
    st.session_state["evaluate_split_for"] = pair
    split = st.radio("Which images", list(SPLIT_LABELS), format_func=SPLIT_LABELS.get, horizontal=True,
                     key="evaluate_split")
    own = ("This model was trained on this dataset: its test split holds the pages it never saw."
           if default == "test" else
           "This model was not trained on this dataset, so every image is new to it: all images.")
    st.caption(f"{own} A model must be judged on pages it never saw. The test split is made exactly as "
               "training made it (same seed, duplicates kept together), so on the model's own dataset "
               "it holds no copy of a training page.")
    return split


# --- showing -----------------------------------------------------------------------------------

def choose_votes(metadata, unread: int) -> bool:
    """Whether to score a network that votes with what is read from each page as Predict does (the
    page reader on every page: minutes for a new dataset) or alone; says what reading will cost."""
    reading = (f"{unread} pages are not read yet on this machine: about "
               f"{max(1, round(unread * READ_SECONDS_PER_PAGE / 60))} min once, afterwards they come from the cache")
    if not evaluation.is_fused(metadata):
        if unread:       # a signal model reads every page whatever happens
            st.info(f"This model reads the ECG on every page: {reading}.", icon=":material/hourglass_top:")
        return True
    votes = st.toggle("With the votes of what is read from each page, as Predict does", value=unread <= QUICK_READ,
                      key="evaluate_votes",
                      help="This model's network votes with a model of the page's measurements and a signal CNN. "
                           "Off: the network alone is scored, without reading the pages.")
    if votes and unread:
        st.info(f"Reading the ECG on every page: {reading}.", icon=":material/hourglass_top:")
    elif not votes:
        st.caption("Scoring the image network alone (Predict adds the votes of the page's measurements and signals)"
                   + (f"; with them, {reading}." if unread else "."))
    return votes


def headline(ev: evaluation.Evaluation) -> None:
    cols = st.columns(5)
    cols[0].metric("Accuracy", f"{evaluation.accuracy(ev):.3f}")
    cols[1].metric("Macro-F1", f"{evaluation.macro_f1(ev):.3f}",
                   help="F1 averaged over the classes in the data, each class counting the same.")
    cols[2].metric("ECE", f"{ev.ece:.3f}", help="Expected calibration error after temperature scaling: "
                   "how far the stated confidence is from the real hit rate (0 = honest).")
    cols[3].metric("Images", ev.n_images)
    cols[4].metric("Seen in training", ev.n_leaked,
                   help="Evaluation images that are exact or near copies of the model's training images.")
    if ev.n_leaked:
        st.warning(f"**Leakage:** {ev.n_leaked} of these {ev.n_images} images are copies of pages the "
                   "model was trained on, so these scores are inflated. Evaluate on pages it never saw.",
                   icon=":material/warning:")
        with st.expander("Images found in the training set"):
            st.dataframe(ev.leakage, hide_index=True, width="stretch")
    for name, count in ev.unknown_classes.items():
        st.info(f"{count} images of class **{escape(name)}** were left out: this model does not know "
                "that class.")
    if len(ev.skipped):
        with st.expander(f"{len(ev.skipped)} files could not be used"):
            st.dataframe(ev.skipped, hide_index=True, width="stretch")


def image_grid(rows: pd.DataFrame, caption, *, bundle_path: str | None = None, stamp: float = 0.0) -> None:
    """Thumbnails of ``rows`` (Grad-CAM overlays instead when a bundle is given and available)."""
    columns = st.columns(GALLERY_COLUMNS)
    for i, row in enumerate(rows.itertuples()):
        with columns[i % GALLERY_COLUMNS]:
            try:
                overlay = _gradcam(bundle_path, stamp, row.path) if bundle_path else None
                st.image(overlay if overlay is not None else _thumb(row.path), caption=caption(row),
                         width="stretch")
            except USER_ERRORS as exc:
                st.error(escape(exc))


def confusion_tab(ev: evaluation.Evaluation) -> None:
    value = st.radio("Show", ["count", "rate"], horizontal=True, key="evaluate_cm_value",
                     format_func={"count": "Images", "rate": "Share of each true class"}.get)
    event = st.altair_chart(confusion_heatmap_chart(evaluation.confusion_cells(ev), value=value),
                            on_select="rerun", selection_mode=CELL_SELECTION, key="evaluate_cm_chart")
    st.caption("Rows are the true class, columns what the model said; the diagonal is correct. "
               "Click a cell (or pick it below) to see its images.")
    labels = ev.labels
    picked = (event.selection.get(CELL_SELECTION) or [None])[0] if event else None
    if picked and picked != st.session_state.get("evaluate_cell_clicked"):
        st.session_state["evaluate_cell_clicked"] = picked
        st.session_state["evaluate_cell_true"] = picked["true"]
        st.session_state["evaluate_cell_pred"] = picked["predicted"]
    if st.session_state.get("evaluate_cell_true") not in labels or \
            st.session_state.get("evaluate_cell_pred") not in labels:
        true, pred = _largest_error(ev)
        st.session_state["evaluate_cell_true"], st.session_state["evaluate_cell_pred"] = true, pred
    left, right = st.columns(2)
    true = left.selectbox("True class", labels, key="evaluate_cell_true")
    pred = right.selectbox("Predicted as", labels, key="evaluate_cell_pred")
    rows = evaluation.cell_predictions(ev, true, pred)
    st.markdown(f"**{len(rows)}** images of **{escape(true)}** predicted as **{escape(pred)}**"
                + (" (most confident first)" if len(rows) else "."))
    image_grid(rows.head(8), lambda r: f"{Path(r.path).name} · {r.confidence:.0%}")


def _largest_error(ev: evaluation.Evaluation) -> tuple[str, str]:
    """The off-diagonal cell with most images (the diagonal's first cell when there is none)."""
    cells = evaluation.confusion_cells(ev)
    off = cells[cells["true"] != cells["predicted"]].sort_values("count", ascending=False)
    if len(off) and off["count"].iloc[0] > 0:
        return off["true"].iloc[0], off["predicted"].iloc[0]
    first = ev.predictions["true"].iloc[0] if ev.n_images else ev.labels[0]
    return first, first


def report_tab(ev: evaluation.Evaluation, report: pd.DataFrame, model_name: str) -> None:
    shown = pd.DataFrame(index=report.index)
    for metric in evaluation.REPORT_METRICS:
        shown[metric] = [f"{v:.3f}  ({lo:.2f}–{hi:.2f})" for v, lo, hi in
                         zip(report[metric], report[f"{metric}_low"], report[f"{metric}_high"])]
    shown["support"] = report["support"]
    st.dataframe(shown, width="stretch")
    st.caption("In brackets: the 95 % bootstrap interval — the images were resampled 1,000 times "
               "(seeded). ECG test sets are small; a score can move this much with another draw of pages.")
    left, right = st.columns(2)
    left.download_button("Download the report (CSV)", report.to_csv().encode("utf-8"),
                         file_name=f"{model_name}-classification-report.csv", mime="text/csv",
                         on_click="ignore", icon=":material/download:", key="evaluate_report_csv")
    right.download_button("Download every prediction (CSV)",
                          ev.predictions.drop(columns=["sha1"]).to_csv(index=False).encode("utf-8"),
                          file_name=f"{model_name}-predictions.csv", mime="text/csv", on_click="ignore",
                          icon=":material/download:", key="evaluate_predictions_csv")


def curves_tab(ev: evaluation.Evaluation) -> None:
    roc, aucs = evaluation.roc_curves(ev)
    pr, aps = evaluation.pr_curves(ev)
    if aucs.empty:
        st.info("Curves need images of at least two classes.")
        return
    left, right = st.columns(2)
    left.altair_chart(roc_chart(roc, aucs), width="stretch")
    right.altair_chart(pr_chart(pr, aps), width="stretch")
    st.caption("Each class against all the others, sweeping the confidence threshold. ROC: an AUC of "
               "0.5 is guessing, 1.0 is perfect. Precision–recall is the fairer view for a rare class: "
               "guessing there scores the class's share of the images.")


def calibration_tab(ev: evaluation.Evaluation, fused: bool) -> None:
    chart, text = st.columns([3, 2], gap="large")
    chart.altair_chart(reliability_chart(evaluation.calibration_frame(ev)), width="stretch")
    with text:
        cols = st.columns(3)
        cols[0].metric("ECE before", f"{ev.ece_uncalibrated:.3f}")
        cols[1].metric("ECE after", f"{ev.ece:.3f}", delta=f"{ev.ece - ev.ece_uncalibrated:+.3f}",
                       delta_color="inverse")
        cols[2].metric("Temperature", f"{ev.temperature:.2f}")
        st.markdown(
            "A model is **calibrated** when it is right 80 % of the time on the pages where it says "
            "80 % — its dots then lie on the dashed diagonal, and the expected calibration error (ECE) "
            "is the average distance from it. **Temperature scaling** divides the network's scores by "
            f"one number fitted on the validation pages (here {ev.temperature:.2f}; above 1 tones down "
            "an over-confident model), which changes how sure it sounds but never which class it picks."
        )
        st.caption("Dots below the diagonal: over-confident; above: under-confident. Dot size is the "
                   "number of predictions in the bin.")
        if fused:
            st.caption("This model also averages in a second opinion, a model of the page's measurements, after "
                       "the temperature: its \"after\" includes that vote, which can change the class.")


def mistakes_tab(ev: evaluation.Evaluation, bundle_path: str, stamp: float) -> None:
    errors = evaluation.confident_errors(ev)
    if errors.empty:
        st.success("No mistakes on these images.")
        return
    st.markdown(f"**{len(errors)}** mistakes, the most confident first — the ones a user would trust most.")
    shown = st.slider("How many", 1, min(len(errors), 24), min(len(errors), 8), key="evaluate_n_errors") \
        if len(errors) > 1 else 1
    signals = bundles.reads_signals(_bundle(bundle_path, stamp).metadata)
    if signals:
        st.caption("This model reads the digitised signals: the Predict page shows, lead by lead, where it looked.")
    gradcam = _gradcam_available() and not signals and st.toggle(
        "Grad-CAM overlay", value=True, key="evaluate_gradcam",
        help="Colours the parts of the page that pushed the model towards the class it said.")
    if not _gradcam_available():
        st.caption("Grad-CAM overlays (which leads drove the decision) arrive with the Predict page.")
    image_grid(errors.head(shown),
               lambda r: f"true {r.true} · said {r.predicted} · {r.confidence:.0%}",
               bundle_path=bundle_path if gradcam else None, stamp=stamp)


def history_tab(metadata) -> None:
    history = evaluation.history_frame(metadata.history)
    if history.empty or "loss" not in history.columns:
        st.info("This model was saved without a training history.")
    else:
        left, right = st.columns(2)
        left.altair_chart(training_curves_chart(history, "loss"), width="stretch")
        if "accuracy" in history.columns:
            right.altair_chart(training_curves_chart(history, "accuracy"), width="stretch")
        st.caption("Validation loss rising while training loss keeps falling means the model started "
                   "memorising the training pages (overfitting).")
    with st.expander("Training settings"):
        st.json(metadata.hyperparameters, expanded=False)


def compare_tab(table: pd.DataFrame, current: str, data, data_key: tuple, split: str, votes: bool) -> None:
    names = st.multiselect("Models to compare", table["name"].tolist(), default=[current],
                           key="evaluate_compare")
    if len(names) < 2:
        st.caption("Choose two or more models: each is scored on exactly the same images.")
        return
    results = {}
    for name in names:
        path = table.loc[table["name"] == name, "path"].iloc[0]
        try:
            results[name] = _evaluate(path, _stamp(path), data_key, split, data, votes)
        except USER_ERRORS as exc:
            st.error(f"{escape(name)}: {escape(exc)}")
    if len(results) < 2:
        return
    frame = evaluation.comparison_table(results)
    st.altair_chart(comparison_chart(frame), width="stretch")
    score = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"accuracy": score, "macro_f1": score, "ece": score,
                                **{c: score for c in frame.columns if c.startswith("recall ")},
                                "params": st.column_config.NumberColumn("parameters", format="%d"),
                                "ms_per_image": st.column_config.NumberColumn("ms / image", format="%.2f"),
                                "leaked_images": st.column_config.NumberColumn("seen in training")})
    st.caption("ms / image: the network's forward pass on this machine, after preprocessing.")
    leaked = frame[frame["leaked_images"] > 0]
    if len(leaked):
        who = ", ".join(f"**{escape(r.model)}** saw {r.leaked_images} of these {r.n_images} images"
                        for r in leaked.itertuples())
        st.warning(f"Not a fair comparison: {who} during training (trained with another split seed or "
                   "on another copy of these pages), so its scores here are inflated.",
                   icon=":material/warning:")


# --- the page ----------------------------------------------------------------------------------

st.title("Evaluate a model")
st.markdown("Score a saved model on images it never saw: where it is right, where it is wrong, and "
            "whether its confidence can be trusted.")

models = usable_bundles()
if models.empty:
    st.info("There are no saved models yet. Train one first — the Live-demo preset takes 1–3 minutes.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()

chosen = model_selectbox(models, "evaluate_model")
try:
    metadata = bundles.read_metadata(chosen["path"])
except USER_ERRORS as exc:
    st.error(escape(exc))
    st.stop()
describe_model(metadata)

dataset_picker("evaluate")
seed = int(metadata.split.get("seed", 0) or 0)
data = load_current(seed)
if data is None:
    st.stop()
split = choose_split(chosen["name"], data, metadata.dataset.get("fingerprint") or [])
data_key = (data.source.kind, data.source.path, seed)
stamp = _stamp(chosen["path"])
with stop_on_error(f"evaluating the model {chosen['name']}", "Cannot evaluate this model on these images"):
    votes = choose_votes(metadata, evaluation.pages_to_read(metadata, evaluation.evaluation_index(data.index, split)))
    ev = _evaluate(chosen["path"], stamp, data_key, split, data, votes)
if ev.n_images == 0:
    st.warning("None of these images could be used for this model.")
    st.stop()

headline(ev)
tabs = st.tabs(["Confusion matrix", "Report", "ROC & PR curves", "Calibration", "Mistakes",
                "Training history", "Compare models"])
with tabs[0]:
    confusion_tab(ev)
with tabs[1]:
    report_tab(ev, _report(chosen["path"], stamp, data_key, split, ev), chosen["name"])
with tabs[2]:
    curves_tab(ev)
with tabs[3]:
    calibration_tab(ev, fused=votes and evaluation.is_fused(metadata))
with tabs[4]:
    mistakes_tab(ev, chosen["path"], stamp)
with tabs[5]:
    history_tab(metadata)
with tabs[6]:
    compare_tab(models, chosen["name"], data, data_key, split, votes)
