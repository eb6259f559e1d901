"""UI pieces every page shares: the dataset and model choosers, cached loaders, sidebar status, disclaimer.

Pages stay thin: everything here either draws widgets or caches a call into ``core``.
"""
from __future__ import annotations

import html
import logging
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from core import bundles, sources
from core.errors import USER_ERRORS
from core.paths import SHARED_MENDELEY_DIR

DISCLAIMER = (
    "**Educational use only.** ECG Image Lab is a teaching tool, not a medical device. Its outputs "
    "are not a diagnosis; an ECG must be read by a qualified clinician. If you have chest pain or "
    "other symptoms, call your local emergency number."
)
# None: the built-in size (core.synth.dataset.BUILTIN_PER_CLASS); tests set a tiny one.
SYNTHETIC_PER_CLASS = int(os.environ["ECG_LAB_SYNTH_PER_CLASS"]) if "ECG_LAB_SYNTH_PER_CLASS" in os.environ else None


def require_app_navigation() -> None:
    """Make sure this page runs inside ``streamlit_app.py``'s navigation.

    Opened straight at a page URL (``/evaluate``) on a freshly started server, Streamlit has not
    seen ``st.navigation`` yet and runs the page alone in its legacy ``pages/`` mode: no sidebar
    status, no app layout. Switching the server to navigation mode and rerunning lets the entry
    point resolve the same URL to the same page. Once per session: AppTest resets Streamlit's flag
    before every run, and a rerun there would drop the click being tested.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get("_navigation_checked"):
        st.session_state["_navigation_checked"] = True
        PagesManager.uses_pages_directory = False
        st.rerun()


def disclaimer() -> None:
    st.warning(DISCLAIMER, icon=":material/info:")


def escape(text: str) -> str:
    """File names and folder names are user data: never let them render as HTML or Markdown."""
    return html.escape(str(text)).replace("*", "&#42;").replace("_", "&#95;").replace("[", "&#91;")


def report_error(context: str, exc: Exception) -> None:
    """An unexpected failure: log it with its traceback and ``context`` on the server, and tell the
    user what happened and what to do. Catch ``Exception`` only: Streamlit's rerun and stop
    signals are ``BaseException`` and must pass."""
    logging.getLogger(__name__).error("Unexpected error while %s", context, exc_info=exc)
    st.error(f"Something went wrong while {escape(context)} ({escape(type(exc).__name__)}: {escape(exc)}). "
             "Try again; if it happens again, reload the page or choose another image or model. "
             "The details are in the server log for your instructor.", icon=":material/error:")


@st.cache_resource(show_spinner="Generating the built-in synthetic ECG pages (first run only)…")
def _synthetic_source(per_class: int) -> sources.DatasetSource:
    return sources.synthetic_source(per_class=per_class)


@st.cache_data(show_spinner="Scanning the dataset and looking for duplicates…", max_entries=8)
def _prepared(kind: str, path: str, label: str, seed: int) -> sources.PreparedDataset:
    return sources.prepare_dataset(sources.DatasetSource(kind, path, label), seed=seed)


def current_source() -> sources.DatasetSource:
    """The dataset chosen in this session (the built-in synthetic set until the user picks one)."""
    if "dataset_source" not in st.session_state:
        st.session_state["dataset_source"] = _synthetic_source(SYNTHETIC_PER_CLASS)
    return st.session_state["dataset_source"]


def load_current(seed: int = 0) -> sources.PreparedDataset | None:
    """The chosen dataset, scanned and split; shows the error and returns None when unusable."""
    source = current_source()
    try:
        return _prepared(source.kind, source.path, source.label, seed)
    except USER_ERRORS as exc:
        st.error(f"This dataset cannot be used: {escape(exc)}")
        return None


def dataset_picker(key: str) -> None:
    """Let the user choose the dataset; the choice is shared by every page of the session."""
    options = ["Built-in synthetic pages"]
    if SHARED_MENDELEY_DIR.is_dir():
        options.append("Shared Mendeley pages")
    options += ["A folder on this computer", "Upload a .zip"]
    choice = st.radio("Dataset", options, horizontal=True, key=f"{key}_dataset_kind")
    try:
        if choice == "Built-in synthetic pages":
            _set_source(_synthetic_source(SYNTHETIC_PER_CLASS))
        elif choice == "Shared Mendeley pages":
            _set_source(sources.folder_source(SHARED_MENDELEY_DIR))
        elif choice == "A folder on this computer":
            path = st.text_input("Folder path", key=f"{key}_folder",
                                 placeholder="/data/ECG_DATA  (class sub-folders, or train/test/<class>)")
            if path:
                _set_source(sources.folder_source(path))
        else:
            upload = st.file_uploader("Zip of class folders", type=["zip"], key=f"{key}_zip")
            if upload is not None:
                with st.spinner("Extracting the zip safely…"):
                    _set_source(sources.zip_source(upload.getvalue(), upload.name))
    except USER_ERRORS as exc:
        st.error(escape(exc))
    st.caption(f"Using: **{escape(current_source().label)}**")


def _set_source(source: sources.DatasetSource) -> None:
    st.session_state["dataset_source"] = source


def current_model_name() -> str | None:
    """The model bundle chosen in this session, else the default bundle."""
    if st.session_state.get("model_name"):
        return st.session_state["model_name"]
    default = bundles.default_bundle()
    return default.name if default else None


NO_MODEL_HINT = ("There is no model yet. Train one on the **Train** page (the *Live demo* preset takes "
                 "1–3 minutes on 2 cores), then come back here.")


def usable_bundles() -> pd.DataFrame:
    """The saved model bundles that can be offered (broken ones are left out)."""
    table = bundles.list_bundles()
    return table[table["error"].isna()].reset_index(drop=True)


def model_selectbox(table: pd.DataFrame, key: str, *, help: str | None = None) -> pd.Series:
    """The "Model" selectbox over ``table`` (rows of :func:`usable_bundles`), the session's model
    selected first; the choice becomes the session's model for every page. Returns its row."""
    names = table["name"].tolist()
    current = current_model_name()
    index = names.index(current) if current in names else 0
    name = st.selectbox("Model", names, index=index, key=key, help=help)
    st.session_state["model_name"] = name
    return table[table["name"] == name].iloc[0]


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _load_bundle(path: str, mtime: float) -> bundles.Bundle:
    return bundles.load_bundle(path)


def choose_bundle(key: str, *, help: str | None = None) -> tuple[bundles.Bundle, tuple[str, float]]:
    """The model chooser of the pages that run a model: returns ``(bundle, cache_key)``, the key
    being ``(path, mtime of the model file)`` so that caches keyed on it follow a retrain. Stops
    the page with a hint when there is no model, with an error when the chosen one cannot be loaded."""
    table = usable_bundles()
    if table.empty:
        st.info(NO_MODEL_HINT)
        st.stop()
    row = model_selectbox(table, key, help=help)
    name, path = row["name"], Path(row["path"])
    try:
        cache_key = (str(path), (path / bundles.MODEL_FILE).stat().st_mtime)
        return _load_bundle(*cache_key), cache_key
    except USER_ERRORS as exc:
        st.error(f"The model {escape(name)} cannot be used: {escape(exc)}")
        st.stop()
    except Exception as exc:
        report_error(f"loading the model {name}", exc)
        st.stop()


def sidebar_status() -> None:
    """The current dataset and model, always visible; the classroom-mode toggle."""
    with st.sidebar:
        st.toggle("Classroom mode", key="classroom",
                  help="For a projector: larger text and charts, advanced controls hidden.")
        if classroom_mode():
            st.markdown(CLASSROOM_CSS, unsafe_allow_html=True)
        source = st.session_state.get("dataset_source")
        st.caption("Dataset")
        st.markdown(escape(source.label) if source else "Built-in synthetic pages")
        st.caption("Model")
        name = current_model_name()
        st.markdown(escape(name) if name else "none yet — train one")


# Applied only in classroom mode: readable from the back of a lecture room.
CLASSROOM_CSS = """<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stWidgetLabel"] p, [data-testid="stCaptionContainer"] { font-size: 1.3rem !important; }
h1 { font-size: 3.2rem !important; } h2 { font-size: 2.4rem !important; } h3 { font-size: 1.9rem !important; }
[data-testid="stMetricValue"] { font-size: 3rem !important; }
[data-testid="stVegaLiteChart"] { zoom: 1.25; }
</style>"""

# ``?page=`` values and the page files they open.
PAGE_PARAMS = {"home": "pages/home.py", "explore": "pages/explore.py", "train": "pages/train.py",
               "learn": "pages/learn.py", "quiz": "pages/learn.py", "evaluate": "pages/evaluate.py",
               "predict": "pages/predict.py"}
DATASET_PICKERS = ("train", "explore", "evaluate")
LEARN_TAB_KEY = "learn_tab"   # the tab the Learn page opens on; ``?page=quiz`` sets "Quiz"


def apply_query_params() -> str | None:
    """Apply a hand-out link once per session: ``?page=train&dataset=synthetic&model=NAME&
    preset=live-demo&classroom=1``. Sets the session's dataset, model, Train preset and classroom
    flag, and returns the page file to open (or None); ``page=quiz`` opens the Learn page on its Quiz
    tab. Unknown values are ignored with a toast.
    ``dataset`` is ``synthetic``, ``mendeley`` or a folder path on the server."""
    from core.training import PRESETS

    params = st.query_params
    if st.session_state.get("_query_applied") or not params:
        return None
    st.session_state["_query_applied"] = True
    if params.get("classroom") in ("1", "true", "yes", "on"):
        st.session_state["classroom"] = True
    dataset = params.get("dataset")
    if dataset:
        kinds = {"synthetic": "Built-in synthetic pages", "mendeley": "Shared Mendeley pages"}
        kind = kinds.get(dataset, "A folder on this computer")
        for key in DATASET_PICKERS:
            st.session_state[f"{key}_dataset_kind"] = kind
            if dataset not in kinds:
                st.session_state[f"{key}_folder"] = dataset
        try:
            st.session_state["dataset_source"] = (
                _synthetic_source(SYNTHETIC_PER_CLASS) if dataset == "synthetic"
                else sources.folder_source(SHARED_MENDELEY_DIR if dataset == "mendeley" else dataset))
        except USER_ERRORS as exc:
            st.toast(f"Dataset from the link not used: {escape(exc)}")
    preset = params.get("preset")
    if preset in (*PRESETS, "custom"):
        st.session_state["train_preset"] = preset
    elif preset:
        st.toast(f"Unknown preset in the link: {escape(preset)}")
    model = params.get("model")
    if model:
        if model in set(bundles.list_bundles()["name"]):
            st.session_state["model_name"] = model
        else:
            st.toast(f"The model {escape(model)} from the link is not on this server.")
    if params.get("page") == "quiz":
        st.session_state[LEARN_TAB_KEY] = "Quiz"
    return PAGE_PARAMS.get(params.get("page", ""))


def classroom_mode() -> bool:
    """Projector mode: bigger text and charts, advanced controls hidden (session flag ``classroom``)."""
    return bool(st.session_state.get("classroom", False))
