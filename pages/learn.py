"""Learn: inside the CNN (what the model sees, feature maps, filters, shapes), the quiz, and from
pixels to signals (each stage of the page reader on one page).

The computation is in ``core.teach``; this page only picks and draws.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.ecg import COLOR_MODES, CROPS, Preprocessing
from core.errors import USER_ERRORS
from core.learn import bundle_preprocessing
from core.use import IMAGE_TYPES, bundled_examples
from pages.choosers import choose_bundle, load_current
from pages.common import LEARN_TAB_KEY, escape, require_app_navigation

require_app_navigation()

# The two views are lazy tabs: only the open one runs, so a quiz click does not recompute the
# feature maps. A widget not drawn in a run loses its value, so the widgets of each view keep
# theirs while the other view is open (``persist_state="page"``); an upload cannot be kept.
KEEP = "page"


def choose_image() -> tuple[str, bytes] | None:
    """A bundled example, a page of the current dataset, or an upload."""
    source = st.radio("Image", ["Example", "Dataset page", "Upload"], horizontal=True, key="learn_source",
                      persist_state=KEEP)
    if source == "Upload":
        upload = st.file_uploader("ECG image", type=list(IMAGE_TYPES), key="learn_upload")
        return (upload.name, upload.getvalue()) if upload is not None else None
    if source == "Dataset page":
        data = load_current()
        if data is None:
            return None
        number = st.number_input("Page number", 0, len(data.index) - 1, 0, key="learn_page_number",
                                 persist_state=KEEP)
        row = data.index.iloc[int(number)]
        st.caption(f"{escape(Path(row['path']).name)} · class **{escape(row['class'])}**")
        return row["path"], Path(row["path"]).read_bytes()
    examples = bundled_examples()
    if not examples:
        st.info("No bundled examples are installed; pick a dataset page or upload an image.")
        return None
    labels = {e.name: e.label for e in examples}
    name = st.selectbox("Example", list(labels), format_func=labels.get, key="learn_example",
                        persist_state=KEEP)
    example = next(e for e in examples if e.name == name)
    return example.name, Path(example.path).read_bytes()


def what_the_model_sees(image: bytes, model_spec: Preprocessing) -> None:
    from core.teach import what_the_model_sees as steps

    st.subheader("1 · What the model sees")
    st.markdown("A network never sees your photo. It sees a small grid of numbers made from it: the page "
                "is **cropped** to the ECG grid (so it cannot cheat with the printed header), turned into "
                "one **colour mode** and **resized**. Training also shows it slightly changed copies "
                "(**augmentation**) so it learns the traces, not one particular photo. The controls are "
                "the Train page's; they start at what this model was trained with.")
    c1, c2, c3, c4, c5 = st.columns(5)
    height = c1.number_input("Image height", 32, 1024, model_spec.height, step=32, key="learn_h", persist_state=KEEP)
    width = c2.number_input("Image width", 32, 1024, model_spec.width, step=32, key="learn_w", persist_state=KEEP)
    color = c3.selectbox("Colour mode", COLOR_MODES, index=COLOR_MODES.index(model_spec.color_mode), key="learn_color",
                         persist_state=KEEP)
    crop = c4.selectbox("Crop", CROPS, index=CROPS.index(model_spec.crop), key="learn_crop", persist_state=KEEP)
    augment = c5.slider("Augmentation strength", 0.0, 2.0, 0.5, 0.25, key="learn_aug", persist_state=KEEP)
    seed = st.number_input("Augmentation sample", 0, 1000, 0, key="learn_aug_seed", persist_state=KEEP,
                           help="Change it to draw another random augmentation.")
    try:
        spec = Preprocessing(int(height), int(width), color, crop, model_spec.resize)
        view = steps(image, spec, augment=augment, seed=int(seed))
    except USER_ERRORS as exc:
        st.error(escape(exc))
        return
    columns = st.columns(4)
    columns[0].image(view.original, caption="Original", width="stretch")
    columns[1].image(view.cropped, caption=f"After crop ({crop})", width="stretch")
    columns[2].image(view.prepared.squeeze(), caption=f"Resized to {height}×{width}, {color}", width="stretch")
    if view.augmented is not None:
        columns[3].image(view.augmented.squeeze(), caption="One augmented training copy", width="stretch")
    else:
        columns[3].caption("Augmentation is off (strength 0).")


def _grid(maps: np.ndarray, captions: list[str], columns: int = 4) -> None:
    cols = st.columns(columns)
    for i, (image, caption) in enumerate(zip(maps, captions)):
        cols[i % columns].image(image, caption=caption, width="stretch", clamp=True)


def inside(bundle, image: bytes) -> None:
    from core.learn import prepare_for_bundle
    from core.teach import feature_maps, first_layer_filters, shape_table

    model = bundle.model
    x = prepare_for_bundle(bundle, image)[0]
    st.subheader("2 · Feature maps of each conv block")
    st.markdown("Each convolution slides small learned filters over the whole page and writes how strongly "
                "each filter matched at each place: one **feature map** per filter (channel). Bright = "
                "strong match. Early blocks light up on edges and trace lines; after each pooling step (or a "
                "convolution with stride 2, which moves its filter two pixels at a time) the maps are half "
                "as tall and wide, and each cell stands for a larger patch of the page, so "
                "later blocks respond to whole waves and lead panels. Shown: the most active channels.")
    top = st.slider("Channels per block", 4, 16, 8, 4, key="learn_top", persist_state=KEEP)
    for block in feature_maps(model, x, top=top):
        h, w, c = block.shape
        st.markdown(f"**{escape(block.layer)}** · {h}×{w} cells × {c} channels")
        _grid(block.maps, [f"channel {ch} · mean {m:.2f}" for ch, m in zip(block.channels, block.mean_activation)],
              columns=8)
    st.subheader("3 · Learned first-layer filters")
    st.markdown("These are the weights of the first convolution, each a tiny 3×3 picture (white = positive "
                "weight, black = negative, grey = zero). Training shaped them from random noise into "
                "detectors of dark-to-light edges in different directions: the pieces an ECG trace is made of.")
    try:
        filters = first_layer_filters(model)
        _grid(filters, [f"filter {i}" for i in range(len(filters))], columns=8)
    except ValueError as exc:
        st.info(escape(exc))
    st.subheader("4 · How the input shrinks through the layers")
    st.markdown("Every pooling layer halves height and width, so the grid of numbers gets smaller while the "
                "number of channels grows. The **receptive field** is how many input pixels one cell can "
                "see: it grows with each layer, which is how the last conv layer can judge a whole lead panel.")
    st.dataframe(pd.DataFrame(shape_table(model)), hide_index=True, width="stretch")


@st.cache_resource(max_entries=4, show_spinner="Reading the ECG stage by stage…")
def _reading_steps(digest: str, _image: bytes):
    """The stages of the reader on one image (kept per content: the sheet is as large as the image)."""
    from core.ecg.reader import read_page
    from core.imageio import load_image
    from core.teach import reading_steps

    picture = load_image(_image)
    reading = read_page(picture, keep_stages=True)
    return reading_steps(picture, reading), reading


def pixels_to_signals(name: str, image: bytes) -> None:
    import hashlib

    from core.charts import twelve_lead_chart
    from core.ecg.reader.records import signals_frame
    from core.teach import quality_table

    st.markdown("A cardiologist does not look at pixels: they read the waves against the paper's millimetre "
                "grid. The lab's page reader does the same, in six steps, so that a photo from any printer "
                "becomes twelve signals in millivolts that a model — or a student — can measure.")
    try:
        steps, reading = _reading_steps(hashlib.sha1(image).hexdigest(), image)
    except USER_ERRORS as exc:
        st.error(f"Could not read **{escape(name)}**: {escape(exc)}")
        return
    for step in steps:
        st.subheader(step.title)
        st.markdown(step.explanation)
        if step.fallback:
            st.info(f"The reader fell back: {escape(step.fallback)}.", icon=":material/alt_route:")
        if step.numbers:
            st.caption(" · ".join(f"{escape(k)}: **{escape('—' if v is None else v)}**" for k, v in step.numbers.items()))
        if step.picture is not None:
            st.image(step.picture, width="stretch")
        if step.table is not None:
            st.dataframe(step.table, hide_index=True, width="stretch",
                         column_config={"strength": st.column_config.ProgressColumn(
                             min_value=0.0, max_value=1.0, format="%.2f")})
    if reading.leads:
        st.altair_chart(twelve_lead_chart(signals_frame(reading.leads)), width="content")
    st.dataframe(quality_table(reading.qc), hide_index=True, width="stretch")
    if not reading.readable:
        st.warning("Not read as a 12-lead ECG: " + "; ".join(escape(r) for r in reading.reasons) + ".")


def quiz(bundle) -> None:
    from core.teach import Score, pick_question
    from core.use import analyse_image, explain_image, overlay, page_heat

    st.markdown("A random page from the **test** split of the current dataset. Pick a class, then see what "
                "the model says, how sure it is, where it looked (Grad-CAM) and the true label.")
    data = load_current()
    if data is None:
        return
    state = st.session_state
    state.setdefault("quiz_round", 0)
    state.setdefault("quiz_score", Score())
    state.setdefault("quiz_seen", [])
    state.setdefault("quiz_seed", int(np.random.default_rng().integers(1_000_000)))
    asked = state.get("quiz_question")
    if asked is None or asked[0] != state["quiz_round"]:  # a new round: a page not shown before
        asked = state["quiz_question"] = (state["quiz_round"], pick_question(
            data.index, seed=state["quiz_seed"], round_number=state["quiz_round"], exclude=set(state["quiz_seen"])))
    question = asked[1]
    score = state["quiz_score"]
    st.caption(f"Round {state['quiz_round'] + 1}")
    you_col, model_col = st.columns(2)
    you_col.metric("Your score", f"{score.student_right} / {score.played}")
    model_col.metric("Model's score", f"{score.model_right} / {score.played}",
                     help="The same pages, answered by the model.")
    st.image(Path(question.path).read_bytes(), width="stretch")
    classes = list(bundle.metadata.classes)
    revealed = state.get("quiz_revealed") == state["quiz_round"]
    guess = st.radio("Your answer", classes, index=None, horizontal=True, key=f"quiz_guess_{state['quiz_round']}",
                     persist_state=KEEP, disabled=revealed)  # the checked answer stands
    if not revealed and st.button("Check", key="quiz_check", disabled=guess is None, type="primary"):
        result = analyse_image(bundle, Path(question.path).read_bytes(), name=Path(question.path).name)
        heat = page_heat(result, explain_image(bundle, result))
        state["quiz_result"] = result
        # Once per round: the reveal's reruns (the Next click among them) only draw it.
        state["quiz_gradcam"] = overlay(result.view.image, heat, box=result.view.box)
        state["quiz_answer"] = guess
        state["quiz_revealed"] = state["quiz_round"]
        state["quiz_score"] = score.add(guess, result.diagnosis.predicted, question.true_class)
        state["quiz_seen"] = [*state["quiz_seen"], question.path]
        st.rerun()
    if revealed:
        result, guess = state["quiz_result"], state["quiz_answer"]
        model_answer = result.diagnosis.predicted
        c1, c2, c3 = st.columns(3)
        c1.metric("You said", guess or "—", "right" if guess == question.true_class else "wrong",
                  delta_color="normal" if guess == question.true_class else "inverse")
        c2.metric("The model said", model_answer, f"{float(result.probabilities.max()):.0%} confident",
                  delta_color="off")
        c3.metric("True label", question.true_class)
        st.image(state["quiz_gradcam"], caption="Grad-CAM: where the model looked", width="stretch")
        if st.button("Next image", key="quiz_next", type="primary"):
            state["quiz_round"] += 1
            st.rerun()


st.title("Inside the CNN")
bundle, _ = choose_bundle("learn_model")
# Stateful tabs (key + on_change="rerun") run lazily: ``.open`` tells which one is shown. A hand-out
# link with ``?page=quiz`` puts "Quiz" under the key first (pages.handout.apply_query_params).
tab_inside, tab_quiz, tab_signals = st.tabs(["Inside the CNN", "Quiz", "From pixels to signals"],
                                            key=LEARN_TAB_KEY, on_change="rerun")
if tab_inside.open:
    with tab_inside:
        chosen = choose_image()
        if chosen is not None:
            name, image = chosen
            what_the_model_sees(image, bundle_preprocessing(bundle.metadata))
            inside(bundle, image)
if tab_quiz.open:
    with tab_quiz:
        quiz(bundle)
if tab_signals.open:
    with tab_signals:
        chosen = choose_image()
        if chosen is not None:
            pixels_to_signals(*chosen)
