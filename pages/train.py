"""Train: pick a dataset and a model, press Train, and watch the curves grow epoch by epoch.

Training runs in a background job owned by this browser session, so the instructor can open
Explore mid-run and come back to curves that kept growing.
"""
from datetime import datetime

import pandas as pd
import streamlit as st

from core import bundles
from core.charts import confusion_heatmap_chart, training_curves_chart
from core.data import SYNTHETIC
from core.ecg import COLOR_MODES, CROPS, Preprocessing
from core.errors import USER_ERRORS
from core.evaluate import confusion_cells, outcome_evaluation
from core.learn import (
    ARCHITECTURES,
    PRESETS,
    SIGNAL_ARCHITECTURE,
    SignalRecipe,
    TrainConfig,
    default_preprocessing,
    expected_weights_path,
    warm_up,
)
from pages.choosers import (
    builtin_generation,
    current_source,
    dataset_picker,
    generating_builtin,
    generation_progress,
    load_current,
)
from pages.common import (
    classroom_mode,
    escape,
    require_app_navigation,
    scroll_into_view,
)
from pages.lessons_ui import run_history, split_method, split_option
from pages.models_io_ui import models_io_expander
from pages.signal_train_ui import reading_note, signal_settings
from pages.tuning_ui import search_expander

require_app_navigation()

JOB_KEY = "train_job"
LIVE_EVERY_S = 2.0      # seconds between redraws of the live panel while a job runs
PRESET_LABELS = {"live-demo": f"Live demo ({PRESETS['live-demo'].epochs} epochs, about a minute)",
                 "custom": "Custom",
                 "original-notebook": "Original notebook recipe"}


def choose_preset() -> str:
    return st.radio("Preset", list(PRESET_LABELS), format_func=PRESET_LABELS.get, horizontal=True,
                    key="train_preset")


@st.cache_data(show_spinner="Unpacking the Live demo's inputs…", max_entries=2)
def _starter(path: str, label: str):
    from core.data import DatasetSource
    from core.learn.starter import load_starter

    return load_starter(DatasetSource(SYNTHETIC, path, label), PRESETS["live-demo"].preprocessing)


def live_demo_data():
    """The built-in set for the Live demo, split duplicate-safe: from the starter pack shipped with the
    app, so Train starts at once, or, when the pack does not fit this set, as drawn; None while it is
    still being drawn (Train can be pressed all the same: the job waits)."""
    source = current_source()
    if (data := _starter(source.path, source.label)) is not None:
        return data
    if (run := generating_builtin()) is None:
        return load_current() or st.stop()
    generation_progress(run, then="Press Train now if you like: training starts as soon as they are drawn.")
    return None


def choose_arch(preset: str) -> str:
    """The model: a preset's own, or under Custom any image architecture or the signal CNN."""
    catalogue = {**ARCHITECTURES, **({SIGNAL_ARCHITECTURE.key: SIGNAL_ARCHITECTURE} if preset == "custom" else {})}
    keys = list(catalogue)
    arch = st.selectbox("Model", keys, index=keys.index(PRESETS.get(preset, TrainConfig()).arch),
                        format_func=lambda k: catalogue[k].label, key=f"train_arch_{preset}",
                        disabled=preset != "custom")
    st.caption(catalogue[arch].description)
    return arch


def choose_config(preset: str, arch: str) -> TrainConfig:
    """The image models' settings form; returns the configuration the Train button would run."""
    base = PRESETS.get(preset, TrainConfig())
    weights_path = _weights_choice(arch) if ARCHITECTURES[arch].transfer else None
    spec = base.preprocessing if arch == base.arch else default_preprocessing(arch)

    with st.expander("Settings", expanded=preset == "custom" and not classroom_mode()):
        c1, c2, c3, c4 = st.columns(4)
        epochs = c1.number_input("Epochs", 1, 200, base.epochs, key=f"train_epochs_{preset}")
        batch = c2.number_input("Batch size", 1, 256, base.batch_size, key=f"train_batch_{preset}")
        lr = c3.number_input("Learning rate", 1e-5, 1.0, base.learning_rate, format="%.4f",
                             key=f"train_lr_{preset}")
        seed = c4.number_input("Seed", 0, 10_000, base.seed, key=f"train_seed_{preset}")
        c1, c2, c3, c4 = st.columns(4)
        height = c1.number_input("Image height", 32, 1024, spec.height, step=32, key=f"train_h_{preset}_{arch}")
        width = c2.number_input("Image width", 32, 1024, spec.width, step=32, key=f"train_w_{preset}_{arch}")
        color = c3.selectbox("Colour mode", COLOR_MODES, index=COLOR_MODES.index(spec.color_mode),
                             key=f"train_color_{preset}_{arch}",
                             help="'ink' keeps the dark traces and makes any coloured grid almost white.")
        crop = c4.selectbox("Crop", CROPS, index=CROPS.index(spec.crop), key=f"train_crop_{preset}_{arch}",
                            help="'grid' removes the printed header and footer (patient ID, date, "
                                 "heart rate) that a model could cheat with.")
        c1, c2, c3 = st.columns(3)
        augment = c1.slider("Augmentation strength", 0.0, 2.0, float(base.augment), 0.25,
                            key=f"train_aug_{preset}",
                            help="Small rotations, shifts, perspective, lighting, blur and JPEG noise "
                                 "(half the copies re-saved as JPEG), as in phone photos of printouts and "
                                 "re-saved scans. Never flips.")
        class_weights = c2.toggle("Class weights", base.class_weights, key=f"train_cw_{preset}",
                                  help="Weigh rare classes up so the model cannot ignore them.")
        patience = c3.number_input("Early-stopping patience (0 = off)", 0, 50, base.patience,
                                   key=f"train_patience_{preset}")
    try:
        spec = Preprocessing(int(height), int(width), color, crop, spec.resize)
    except ValueError as exc:
        st.error(escape(exc))
        st.stop()
    return TrainConfig(arch=arch, epochs=int(epochs), batch_size=int(batch), learning_rate=float(lr),
                       preprocessing=spec, augment=float(augment), class_weights=class_weights,
                       patience=int(patience), weights_path=weights_path, seed=int(seed))


def _weights_choice(arch: str) -> str | None:
    """Transfer models need ImageNet weights on disk; say exactly where, or train from scratch."""
    expected = expected_weights_path(arch)
    if expected.is_file():
        st.success(f"ImageNet weights found: `{expected}`")
        return str(expected)
    st.warning(
        f"No ImageNet weights for {ARCHITECTURES[arch].label} on this machine, and this app never "
        f"downloads. To use transfer learning, place **{expected.name}** in `{expected.parent}` "
        "(or name a weights file below). Otherwise the base trains from random weights — slow and "
        "usually worse than the compact CNN."
    )
    named = st.text_input("Weights file (optional)", key=f"train_weights_{arch}")
    return named or None


def model_summary(config: TrainConfig, n_classes: int) -> None:
    """Layers, output shapes and parameters of the model the settings describe."""
    from core.learn import build_model, count_flops, summary_table

    try:
        model = build_model(config.arch, config.preprocessing.input_shape, n_classes,
                            weights=None)
    except USER_ERRORS as exc:
        st.error(escape(exc))
        return
    c1, c2 = st.columns(2)
    c1.metric("Parameters", f"{model.count_params():,}")
    c2.metric("FLOPs per image", f"{count_flops(model) / 1e6:,.0f} M")
    st.dataframe(pd.DataFrame(summary_table(model)), hide_index=True, width="stretch")


def augmentation_preview(data, config: TrainConfig) -> None:
    """Eight augmented versions of one training page, as the model will see them, each captioned
    with the JPEG quality it was re-saved at (about half are)."""
    import numpy as np

    from core.learn import make_augmenter, prepare_images

    row = data.index[data.index["split"] == "train"].iloc[0]
    prepared = prepare_images([row["path"]], config.preprocessing, hashes=[row["sha1"]])
    augment = make_augmenter(max(config.augment, 0.0), config.seed)
    batch = np.repeat(prepared.images.astype("float32"), 8, axis=0)
    shown = batch if augment is None else np.clip(augment(batch, training=True), 0, 255)
    qualities = [0] * len(batch) if augment is None else augment.get_layer("jpeg_noise").last_qualities
    columns = st.columns(4)
    for i, (image, quality) in enumerate(zip(np.asarray(shown).astype("uint8"), qualities)):
        caption = f"JPEG quality {int(quality)}" if quality else "no JPEG noise"
        columns[i % 4].image(image.squeeze(), caption=caption, width="stretch", clamp=True)
    if augment is not None:
        st.caption("JPEG noise shows as blocky 8×8 smudges around the traces; zoom in to see it.")


def start_training(data, config: TrainConfig | SignalRecipe, name: str, overwrite: bool) -> None:
    """Start this session's training job on ``data``; ``None``: the built-in pages being drawn, which the
    job waits for (and then splits duplicate-safe) in its own thread."""
    from core.data import prepare_when_drawn
    from core.learn import SignalTrainingJob, TrainingJob

    if data is None:
        source, run = current_source(), builtin_generation()

        def index(listener):
            return prepare_when_drawn(run, source, listener=listener).index
        method = "duplicate-safe"
    else:
        source, index, method = data.source, data.index, split_method()
    job_type = SignalTrainingJob if isinstance(config, SignalRecipe) else TrainingJob
    job = job_type(index, config, bundle_name=name, overwrite=overwrite,
                   dataset_info={"name": source.label, "path": source.path, "kind": source.kind,
                                 "split_method": method})
    st.session_state[JOB_KEY] = job.start()


def press_train(data, config: TrainConfig | SignalRecipe, name: str, overwrite: bool) -> None:
    """The Train button's callback: the job starts before the page is drawn again, so that run already
    shows the button disabled and the live panel."""
    start_training(data, config, name, overwrite)
    st.session_state["train_pressed"] = True


def live_panel() -> None:
    """Progress, curves and controls of this session's training job."""
    job = st.session_state.get(JOB_KEY)
    if job is None:
        return
    state = job.state
    history = state.history_frame()
    if state.status == "queued" or (state.status == "preparing" and not state.info):
        done, total = state.prepared
        text = state.message or "Preparing images…"
        st.progress(done / total if total else 0.0, text=f"{text}: {done} of {total}" if total else text)
    if state.info:
        info = state.info
        st.caption(f"{info['params']:,} parameters · {info['flops'] / 1e6:,.0f} MFLOPs per page · "
                   f"train/val/test pages: {info['counts']['train']}/{info['counts']['val']}/"
                   f"{info['counts']['test']}")
    if state.running and state.batches:
        epoch_now = len(state.epochs) + 1
        st.progress(state.batch / state.batches,
                    text=f"Epoch {min(epoch_now, state.total_epochs)}/{state.total_epochs} · "
                         f"batch {state.batch}/{state.batches}")
    if not history.empty:
        last = history.iloc[-1]
        cols = st.columns(5)
        cols[0].metric("Epoch", f"{int(last['epoch'])}/{state.total_epochs}")
        cols[1].metric("Val accuracy", f"{last.get('val_accuracy', float('nan')):.3f}")
        cols[2].metric("Epoch time", f"{last['seconds']:.1f} s")
        eta = state.eta_seconds()
        cols[3].metric("ETA", f"{eta:.0f} s" if state.running and eta is not None else "—")
        cols[4].metric("Learning rate", f"{last['learning_rate']:.1e}")
        left, right = st.columns(2)
        left.altair_chart(training_curves_chart(history, "loss", total_epochs=state.total_epochs),
                          width="stretch")
        right.altair_chart(training_curves_chart(history, "accuracy", total_epochs=state.total_epochs),
                           width="stretch")
        if st.session_state.get("train_scrolled_to") is not job:   # once a run: when its curves appear
            st.session_state["train_scrolled_to"] = job
            scroll_into_view("train_live")
    if state.running:
        if st.button("Stop", icon=":material/stop_circle:", key="train_stop"):
            job.stop()
            st.toast("Stopping after the current batch…")
    elif st.session_state.get("train_was_running"):
        st.session_state["train_was_running"] = False
        st.rerun()  # refresh the whole page (results, Train button) once the job ends
    st.session_state["train_was_running"] = state.running


def show_result() -> None:
    job = st.session_state.get(JOB_KEY)
    if job is None or job.state.running:
        return
    state = job.state
    for warning in state.warnings[:5]:
        st.warning(escape(warning))
    if state.status == "failed":
        st.error(f"Training failed: {escape(state.error)}")
    elif state.status == "stopped":
        st.info("Training was stopped. The best weights seen so far are still in memory.")
        if st.button("Keep the best model so far", key="train_keep"):
            try:
                job.save(job.bundle_name, overwrite=job.overwrite)
                st.rerun()
            except USER_ERRORS as exc:
                st.error(escape(exc))
    if state.status == "saved" and job.outcome is not None:
        if st.session_state.get("train_model_named_for") is not job:
            # The sidebar was drawn before this run got here: draw the page again with the new model.
            st.session_state["train_model_named_for"] = job
            st.session_state["model_name"] = job.bundle_name
            st.rerun()
        metrics = job.outcome.metrics
        st.success(f"Saved the model to `{escape(state.bundle_path)}` in {job.outcome.seconds:.0f} s.")
        cols = st.columns(3)
        cols[0].metric("Test accuracy", f"{metrics.get('test_accuracy', float('nan')):.3f}")
        cols[1].metric("Test macro-F1", f"{metrics.get('test_macro_f1', float('nan')):.3f}")
        cols[2].metric("Test images", metrics.get("test_images", 0))
        if metrics.get("test_images"):
            st.altair_chart(confusion_heatmap_chart(confusion_cells(outcome_evaluation(job.outcome)),
                                                    selectable=False).properties(title="Confusion matrix: test split"))
        links = st.columns(2)
        links[0].page_link("pages/evaluate.py", label="Evaluate this model", icon=":material/analytics:")
        links[1].page_link("pages/predict.py", label="Predict with it", icon=":material/stethoscope:")


def manage_bundles() -> None:
    """List, rename, delete (with confirmation), download and upload model bundles."""
    if flash := st.session_state.pop("bundle_flash", None):
        st.success(escape(flash))
    table = bundles.list_bundles()
    if table.empty:
        st.caption("No saved models yet.")
    else:
        st.dataframe(table.drop(columns=[c for c in ("path", "error") if c in table.columns]),
                     hide_index=True, width="stretch")
        name = st.selectbox("Model", table["name"], key="bundle_pick")
        c1, c2, c3 = st.columns(3)
        new_name = c1.text_input("Rename to", key="bundle_new_name")
        if c1.button("Rename", key="bundle_rename", disabled=not new_name):
            _try(lambda: bundles.rename_bundle(name, new_name), f"Renamed {name} to {new_name}.")
        c2.download_button("Download .zip", data=lambda: bundles.bundle_to_zip_bytes(name),
                           file_name=f"{name}.zip", mime="application/zip", on_click="ignore",
                           key="bundle_download")
        confirm = c3.checkbox(f"Yes, delete {name}", key="bundle_confirm_delete")
        if c3.button("Delete", key="bundle_delete", disabled=not confirm, type="primary"):
            _try(lambda: bundles.delete_bundle(name), f"Deleted {name}.")
    upload = st.file_uploader("Upload a model bundle (.zip)", type=["zip"], key="bundle_upload")
    if upload is not None and st.button("Import", key="bundle_import"):
        _try(lambda: bundles.import_bundle_zip(upload.getvalue()), f"Imported {upload.name}.")


def _try(action, success: str) -> None:
    """Run a bundle action; on success rerun so every list on the page shows the change."""
    try:
        action()
    except USER_ERRORS as exc:
        st.error(escape(exc))
        return
    st.session_state["bundle_flash"] = success
    st.rerun()


warm_up()   # TensorFlow loads while the instructor reads the page, not after the click
st.title("Train a model")
st.markdown("Choose a dataset and a model, press **Train**, and watch accuracy and loss grow. "
            "You can open other pages while it trains.")
job = st.session_state.get(JOB_KEY)
running = job is not None and job.state.running

dataset_picker("train")
preset = choose_preset()
if preset == "live-demo" and current_source().kind == SYNTHETIC:
    spec = PRESETS["live-demo"].preprocessing
    st.caption(f"The Live demo starts at once: the network's {spec.height}×{spec.width} inputs of the built-in "
               "pages ship with the app, so it need not wait while the pages are drawn for Explore.")
    data = live_demo_data()
else:
    data = load_current()
    if data is None:
        st.stop()
if data is not None:
    data = split_option(data)
arch = choose_arch(preset)
signal = arch == SIGNAL_ARCHITECTURE.key
if signal:
    reading_note(data)
config = signal_settings() if signal else choose_config(preset, arch)
if data is not None and not signal:    # the search, summary and preview are of image models
    if not classroom_mode():
        config = search_expander(data, config, disabled=running)
    with st.expander("Model summary: layers, shapes, parameters"):
        if st.toggle("Build and show the summary", key="train_show_summary"):
            model_summary(config, len(data.classes))
    with st.expander("Augmentation preview: what the model sees"):
        if st.button("Show eight augmented copies of a training page", key="train_aug_preview"):
            augmentation_preview(data, config)

# The default follows the model until a name of one's own is typed. It is stamped once per session (a
# default that changed every minute would reset a name being typed) and numbered past the saved
# models, so after a run the next press of Train saves a new model instead of asking to replace.
saved = set(bundles.list_bundles()["name"])
stamp = st.session_state.setdefault("train_name_stamp", f"{datetime.now():%Y%m%d-%H%M}")
default_name = bundles.free_name(f"{arch}-{stamp}", saved)
if st.session_state.get("train_bundle_name") in (None, st.session_state.get("train_default_name")):
    st.session_state["train_bundle_name"] = default_name
st.session_state["train_default_name"] = default_name
name = st.text_input("Save the model as", key="train_bundle_name")
exists = bool(name) and name in saved
overwrite = st.checkbox(f"Replace the existing model '{escape(name)}'", key="train_overwrite") if exists else False
try:
    bundles.validate_name(name)
    name_ok = not exists or overwrite
except USER_ERRORS as exc:
    st.error(escape(exc))
    name_ok = False
st.button("Train", type="primary", icon=":material/play_arrow:", disabled=running or not name_ok, key="train_start",
          on_click=press_train, args=(data, config, name, overwrite))

# Keyed so tests (and classroom CSS) can find this run's curves apart from the run history's.
# Every LIVE_EVERY_S, not every second: each redraw of progress, metrics and both charts costs the
# server and the browser CPU the training needs on a 2-core laptop (~80 ms of server Python a redraw);
# a Live demo epoch takes ~2.5 s, so each new point still shows within one refresh. README, "The first
# minutes": on a noisy VM the fit's own speed, not the refresh, decided click → saved.
with st.container(key="train_live"):
    if running:
        st.fragment(run_every=LIVE_EVERY_S)(live_panel)()
    else:
        live_panel()
if st.session_state.pop("train_pressed", False):
    scroll_into_view("train_live")
show_result()

with st.expander("Run history and the leakage lesson"):
    run_history()
if not classroom_mode():
    with st.expander("Saved models"):
        manage_bundles()
    models_io_expander()
