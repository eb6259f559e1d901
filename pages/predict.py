"""Predict: one ECG image in — the class, how sure the model is, where it looked, and what a patient
with such a finding should do. Or a batch of images into one table."""
import hashlib
from datetime import datetime, timezone
from pathlib import Path

import streamlit as st

from core.charts import lead_share_chart, probability_chart, signal_saliency_chart, vote_chart
from core.classes import NON_ECG
from core.ecg import DEFAULT_LAYOUT, LAYOUTS, name_territory
from core.errors import USER_ERRORS
from core.priority import interactive
from core.use import (COLORMAPS, CONFIDENT, IMAGE_TYPES, METHODS, NOT_AN_ECG, UNCERTAIN, ReportInput, analyse_image,
                      bundled_examples, explain_image, explain_signal_vote, guidance_for, heat_on_traces, images_from_zip, input_names,
                      lead_attribution, model_details, overlay, page_heat, predict_many, reads_signals, report_html,
                      saliency_frame, signal_batch, signal_lead_shares, signal_overlay)
from pages.choosers import choose_bundle
from pages.common import disclaimer, escape, report_error, require_app_navigation
from pages.signals_ui import show_signals

require_app_navigation()

SOURCES = {"upload": "Upload an image", "camera": "Take a photo", "example": "Bundled example",
           "batch": "Batch (several images or a zip)"}
MAX_IMAGE_MB = 25   # a 60-megapixel page (the loader's limit) is far smaller as PNG or JPEG
STATUS_COLORS = {CONFIDENT: "green", UNCERTAIN: "orange", NOT_AN_ECG: "gray"}
BADGE_COLORS = {"HIGH": "red", "MEDIUM": "orange", "LOW": "green"}
LAYOUT_LABELS = {"3x4": "3×4, no rhythm strip", "3x4+1": "3×4 + one rhythm strip (standard)",
                 "3x4+3": "3×4 + three rhythm strips", "6x2": "6×2", "12x1": "12×1 (one lead a row)",
                 "6x2+1": "6×2 + one rhythm strip"}
COLOURS_EXPLAINED = (
    "**How to read the colours.** The heat map shows which parts of the page raised the model's score "
    "for the class it explains. With *jet*, red and yellow mark the strongest influence and blue the "
    "weakest; with *inferno* and *viridis*, brighter means stronger. Only the dashed frame — the ECG "
    "grid the model was shown — can be coloured. The map is coarse (the network sees a small copy of "
    "the page) and shows where the model looked, **not** that the finding is really there: a model can "
    "look at the right lead for the wrong reason."
)


# --- cached steps (model per file version; analysis and saliency per image content) ------------

@st.cache_resource(max_entries=8, show_spinner="Reading the image and running the model…")
def _analyse(model_key: tuple, digest: str, name: str, _bundle, _data: bytes):
    return analyse_image(_bundle, _data, name=name)


@st.cache_resource(max_entries=16, show_spinner="Computing the saliency map…")
def _explain(model_key: tuple, digest: str, name: str, method: str, class_name: str, _bundle, _result):
    return explain_image(_bundle, _result, method, class_name=class_name)


@st.cache_resource(max_entries=16, show_spinner="Where the signal CNN looked…")
def _explain_signal_vote(model_key: tuple, digest: str, name: str, class_name: str, _bundle, _result):
    return explain_signal_vote(_bundle, _result, class_name)


# --- choosing the image (the model: pages.choosers.choose_bundle) --------------------------------

def choose_image(source: str):
    """``(name, bytes, example)`` of the image to predict, or None while nothing is chosen."""
    if source == "upload":
        upload = st.file_uploader("ECG image", type=list(IMAGE_TYPES), key="predict_upload",
                                  max_upload_size=MAX_IMAGE_MB,
                                  help="A photo or scan of a whole 12-lead ECG page.")
        return (upload.name, upload.getvalue(), None) if upload is not None else None
    if source == "camera":
        photo = st.camera_input("Photograph an ECG printout", key="predict_camera",
                                help="Hold the page flat, straight on, in good light.")
        return ("camera photo.jpg", photo.getvalue(), None) if photo is not None else None
    examples = bundled_examples()
    if not examples:
        st.info("No bundled examples are installed (the assets/examples folder is empty). "
                "Upload an image instead.")
        return None
    labels = {e.name: e.label for e in examples}
    name = st.selectbox("Example", list(labels), format_func=labels.get, key="predict_example")
    example = next(e for e in examples if e.name == name)
    try:
        return example.name, Path(example.path).read_bytes(), example
    except OSError as exc:
        st.error(f"Could not read the example {escape(name)}: {escape(exc)}")
        return None


# --- showing a result ------------------------------------------------------------------------------

def show_verdict(result) -> None:
    d = result.diagnosis
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.metric("Predicted class", d.predicted)
    if d.status == NOT_AN_ECG and d.predicted != NON_ECG:
        c1.caption("A classifier always names one of its classes; for this image that answer is ignored.")
    elif d.status != NOT_AN_ECG and d.predicted == NON_ECG:
        c1.caption("The page reader found an ECG here, so this network's Non-ECG answer is overruled: it "
                   "has not learned this kind of page. Its other classes' probabilities are below.")
    c2.metric("Calibrated confidence", f"{d.confidence:.1%}")
    with c3:
        st.caption("Status")
        st.badge(d.status, color=STATUS_COLORS[d.status])
    if d.outside_domain:
        st.warning("**An ECG this model does not know** — " + "; ".join(map(escape, d.reasons))
                   + ". The signals read from the page are below; no risk level is given.", icon=":material/help:")
    elif d.status == UNCERTAIN:
        st.warning("**The model is not sure** — " + "; ".join(map(escape, d.reasons)) + ". Have the ECG read by a clinician.",
                   icon=":material/help:")
    elif d.status == NOT_AN_ECG:
        st.error("**No ECG found on this page** — " + "; ".join(map(escape, d.reasons)) + ".",
                 icon=":material/block:")
    st.altair_chart(probability_chart(result.probability_table(), highlight=d.predicted), width="stretch")


def show_votes(key, digest, name, bundle, result) -> None:
    """For a network that votes with what is read from the page: every vote, the measurements that
    moved the verdict and where the signal CNN looked."""
    votes = result.vote_table()
    if votes is None:
        return
    readers = {"measurements": "a logistic regression on what a cardiologist measures in the digitised leads "
                               "(rate, intervals, Q, R, S, ST and T per lead)",
               "signal CNN": "a 1-D network reading the digitised leads themselves"}
    others = [readers[vote] for vote in result.votes if vote in readers]
    with st.expander(f"{len(others) + 1} readers: the image network and what was read from the page",
                     icon=":material/balance:"):
        st.caption("This model combines several opinions: the network looking at the page, "
                   + ", and ".join(others) + ". The probabilities above are their average over the four ECG classes.")
        st.altair_chart(vote_chart(votes, highlight=result.diagnosis.predicted), width="stretch")
        predicted = result.diagnosis.predicted
        if result.measured is not None and predicted in result.measured.classes:
            drivers = result.measured.drivers(predicted)
            st.markdown(f"**The measurements that moved *{escape(predicted)}* most** "
                        "(push > 0: towards it, < 0: away from it)")
            shown = drivers.assign(value=[("—" if v != v else f"{v:.3f}") for v in drivers["value"]])  # NaN: a flag
            st.dataframe(shown[["measurement", "value", "push"]], hide_index=True, width="stretch",
                         column_config={"push": st.column_config.NumberColumn(format="%+.2f")})
        explained = _explain_signal_vote(key, digest, name, predicted, bundle, result)
        if explained is not None:
            saliency, batch = explained
            st.markdown(f"**Where the signal CNN found *{escape(predicted)}*** (darker red: stronger evidence)")
            st.altair_chart(signal_saliency_chart(saliency_frame(batch, saliency)), width="content")
            if saliency.flat:
                st.caption("Nothing in these signals raised this class's score in the signal CNN.")
            else:
                picture = signal_overlay(result.reading, saliency)
                if picture is not None:
                    st.image(picture, caption=f"The signal CNN's heat where those windows are printed, for {predicted}",
                             width="stretch")
                shares = signal_lead_shares(saliency)
                st.altair_chart(lead_share_chart(shares), width="stretch")
                st.markdown(name_territory(shares, predicted=predicted).sentence)


def saliency_controls(result) -> dict:
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
    method = c1.selectbox("Saliency method", list(METHODS), format_func=METHODS.get, key="predict_method",
                          help="Grad-CAM: fast and coarse. Grad-CAM++: sharper for several findings. "
                               "Score-CAM: no gradients, slower. Vanilla saliency: pixel gradients, noisy.")
    classes = result.classes
    class_name = c2.selectbox("Explain class", classes, index=result.class_index, key="predict_explain_class",
                              help="Which class's score the map explains (the predicted one by default).")
    opacity = c3.slider("Opacity", 0.0, 1.0, 0.45, 0.05, key="predict_opacity")
    cmap = c4.selectbox("Colours", COLORMAPS, key="predict_cmap")
    return {"method": method, "class_name": class_name, "opacity": opacity, "cmap": cmap}


def show_saliency(result, saliency, controls):
    heat = page_heat(result, saliency)
    picture = overlay(result.view.image, heat, opacity=controls["opacity"], cmap=controls["cmap"],
                      box=result.view.box)
    left, right = st.columns(2)
    left.image(result.view.image, caption="Original", width="stretch")
    right.image(picture, caption=f"{METHODS[controls['method']]} for {controls['class_name']}", width="stretch")
    if saliency.note:
        st.caption(f"Note: {escape(saliency.note)}.")
    if saliency.flat:
        st.info("The map is empty: nothing in this image raised the score of this class at the explained layer.")
    elif result.diagnosis.is_ecg:
        share = heat_on_traces(result, saliency)
        st.caption(f"{share.heat:.0%} of the heat lies on or right next to the traces, which cover "
                   f"{share.area:.0%} of what the model saw.")
    st.markdown(COLOURS_EXPLAINED)
    return picture


def show_leads(result, saliency, example):
    st.subheader("Which leads drove the decision")
    # The layout the page reader found, when it is a standard one; the user can correct it.
    found = result.reading.layout if result.reading is not None and result.reading.layout in LAYOUTS else None
    layout = st.selectbox("Page layout", LAYOUTS, index=LAYOUTS.index(found or DEFAULT_LAYOUT),
                          format_func=LAYOUT_LABELS.get, key=f"predict_layout_{found}",
                          help="Lead regions are placed in the ECG grid by this layout, as fractions of the grid. "
                               "It starts at the layout the page reader found.")
    boxes = example.lead_boxes if example is not None and example.lead_boxes else None
    shares, territory = lead_attribution(result, saliency, layout=layout, boxes=boxes)
    if boxes:
        st.caption("This synthetic example knows exactly where each lead is printed; those boxes are used.")
    st.altair_chart(lead_share_chart(shares), width="stretch")
    st.markdown(territory.sentence)
    if example is not None and example.leads and example.finding:
        st.caption(f"Ground truth of this synthetic page: {escape(example.finding)} "
                   f"(leads {escape(', '.join(example.leads))}).")
    return shares, territory


def show_signal_saliency(key, digest, name, bundle, result):
    """A signal model's view: the twelve windows it saw, shaded where its 1-D Grad-CAM is hot, the same
    heat on the page where those windows are printed, and the leads that drove the decision. Returns
    the lead shares, the territory and the page picture (for the report)."""
    if not result.diagnosis.is_ecg:
        st.caption("No signals were read from this image, so there is nothing to explain.")
        return None, None, result.view.image
    class_name = st.selectbox("Explain class", result.classes, index=result.class_index, key="predict_signal_class",
                              help="Which class's score the heat explains (the predicted one by default).")
    saliency = _explain(key, digest, name, "gradcam", class_name, bundle, result)
    batch = signal_batch(result.reading.leads, input_names(bundle.model))
    st.altair_chart(signal_saliency_chart(saliency_frame(batch, saliency)), width="content")
    st.caption("This model reads the signals the page reader digitised, not the picture: each lead's 2.5 s "
               "window as it was fed to the model, shaded where the 1-D Grad-CAM found the evidence for "
               f"{escape(class_name)} (darker red: stronger). Gaps are where no trace was read.")
    if saliency.flat:
        st.info("The map is empty: nothing in these signals raised the score of this class at the explained layer.")
        return None, None, result.view.image
    picture = signal_overlay(result.reading, saliency) or result.view.image
    left, right = st.columns(2)
    left.image(result.view.image, caption="Original", width="stretch")
    right.image(picture, caption=f"The same heat where those windows are printed, for {class_name}", width="stretch")
    st.subheader("Which leads drove the decision")
    shares = signal_lead_shares(saliency)
    territory = name_territory(shares, predicted=result.diagnosis.predicted)
    st.altair_chart(lead_share_chart(shares), width="stretch")
    st.markdown(territory.sentence)
    return shares, territory, picture


def show_guidance(guidance) -> None:
    st.subheader(guidance.title)
    if guidance.risk:
        st.badge(f"Risk: {guidance.risk}", color=BADGE_COLORS.get(guidance.risk, "gray"))
        if guidance.risk_note:
            st.caption(guidance.risk_note)
    st.markdown(escape(guidance.interpretation))
    for note in guidance.notes:
        st.caption(escape(note))
    if not guidance.clinical:
        return
    short = {s.key: s.short for s in guidance.sources}

    def cite(advice) -> str:
        refs = "; ".join(short[k] for k in advice.sources if k in short)
        return f"{escape(advice.text)} *({escape(refs)})*" if refs else escape(advice.text)

    if guidance.emergency is not None:
        box = st.error if guidance.risk == "HIGH" else st.info
        box(f"**What to do now.** {cite(guidance.emergency)}", icon=":material/emergency:")
    columns = st.columns(max(1, len(guidance.sections())))
    for column, (title, items) in zip(columns, guidance.sections()):
        column.markdown(f"**{title}**\n\n" + "\n".join(f"- {cite(a)}" for a in items))
    if guidance.sources:
        with st.expander("Guideline sources"):
            st.markdown("\n".join(f"- {escape(s.citation)} " + (f"[{escape('doi:' + s.doi if s.doi else 'link')}]({s.url})"
                                                                  if s.url else "") for s in guidance.sources))


def report_button(bundle, result, guidance, picture, controls, shares, territory) -> None:
    data = ReportInput(
        file_name=result.name, diagnosis=result.diagnosis, guidance=guidance, image=result.view.image,
        overlay=picture, method=("1-D Grad-CAM on the digitised signals" if reads_signals(bundle.metadata)
                                 else METHODS[controls["method"]]),
        territory=territory.sentence if territory and result.diagnosis.is_ecg else "",
        leads=shares if result.diagnosis.is_ecg else None, model_name=bundle.path.name,
        model_details=model_details(bundle), created=datetime.now(timezone.utc))
    stem = Path(result.name).stem or "ecg"
    # Built on click (two PNGs of the page: ~0.3 s), not on every rerun of every session.
    st.download_button("Download the report (HTML)", lambda: report_html(data).encode("utf-8"),
                       file_name=f"{stem}-report.html", mime="text/html", on_click="ignore",
                       icon=":material/download:", key="predict_report")


def single_image(bundle, key, chosen) -> None:
    name, data, example = chosen
    digest = hashlib.sha1(data).hexdigest()
    try:
        result = _analyse(key, digest, name, bundle, data)
    except USER_ERRORS as exc:
        st.error(f"Could not read **{escape(name)}**: {escape(exc)}")
        return
    except Exception as exc:
        report_error(f"analysing {name}", exc)
        return
    st.markdown(f"#### Result for {escape(name)}")
    show_verdict(result)
    show_votes(key, digest, name, bundle, result)
    st.subheader("Where the model looked")
    if reads_signals(bundle.metadata):
        controls = {"method": "gradcam"}
        shares, territory, picture = show_signal_saliency(key, digest, name, bundle, result)
    else:
        controls = saliency_controls(result)
        saliency = _explain(key, digest, name, controls["method"], controls["class_name"], bundle, result)
        picture = show_saliency(result, saliency, controls)
        shares = territory = None
        if result.diagnosis.is_ecg:
            shares, territory = show_leads(result, saliency, example)
    st.subheader("The signals on the page")
    show_signals(name, data, key="predict_signals", downloads=True, reading=result.reading)
    guidance = guidance_for(result.diagnosis)
    show_guidance(guidance)
    disclaimer()
    report_button(bundle, result, guidance, picture, controls, shares, territory)


def batch(bundle) -> None:
    uploads = st.file_uploader("Images or zip files", type=[*IMAGE_TYPES, "zip"], accept_multiple_files=True,
                               key="predict_batch")
    if not uploads:
        return
    items, problems = [], []
    for upload in uploads:
        if upload.name.lower().endswith(".zip"):
            try:
                items += [(f"{upload.name}/{n}", data) for n, data in images_from_zip(upload.getvalue())]
            except USER_ERRORS as exc:
                problems.append(f"{escape(upload.name)}: {escape(exc)}")
        else:
            items.append((upload.name, upload.getvalue()))
    for problem in problems:
        st.error(problem)
    if not items:
        return
    bar = st.progress(0.0, text=f"Predicting {len(items)} images…")
    try:
        table = predict_many(bundle, items, progress=lambda done, total: bar.progress(done / total))
    except Exception as exc:
        report_error(f"predicting {len(items)} images", exc)
        return
    bar.empty()
    failed = int((table["error"] != "").sum())
    st.caption(f"{len(table) - failed} predicted, {failed} could not be read.")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"confidence": st.column_config.NumberColumn(format="percent")})
    st.download_button("Download the table (CSV)", table.to_csv(index=False).encode("utf-8"),
                       file_name="predictions.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", key="predict_batch_csv")
    disclaimer()


st.title("Predict")
st.write("Upload or photograph one ECG page: the model names its class, says how sure it is, shows where "
         "it looked and which leads drove the decision, and what a patient with such a finding should do.")
bundle, key = choose_bundle("predict_model",
                            help="Models saved in the models folder; the default model is selected first.")
source = st.radio("Image", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="predict_source")
if source == "batch":
    batch(bundle)
else:
    chosen = choose_image(source)
    if chosen is None:
        disclaimer()
    else:
        with interactive():     # a training on this server pauses between batches meanwhile
            single_image(bundle, key, chosen)
