"""The dataset and model choosers of the pages that use data or a model, with their cached loaders.

The dataset and the model chosen on one page are the session's choice on every page.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from core import bundles
from core.data import sources
from core.errors import USER_ERRORS
from core.paths import SHARED_MENDELEY_DIR
from core.synth import background as synth_background
from core.synth.background import Generation
from core.synth.dataset import BUILTIN_PER_CLASS
from pages.common import current_model_name, escape, stop_on_error

# The built-in size unless set (tests set a tiny one).
SYNTHETIC_PER_CLASS = int(os.environ.get("ECG_LAB_SYNTH_PER_CLASS", "0")) or BUILTIN_PER_CLASS


@st.cache_data(show_spinner="Scanning the dataset and looking for duplicates…", max_entries=8)
def _prepared(kind: str, path: str, label: str, seed: int) -> sources.PreparedDataset:
    return sources.prepare_dataset(sources.DatasetSource(kind, path, label), seed=seed)


def builtin_generation() -> Generation:
    """The background run drawing the built-in set: started on first use, once per server."""
    return synth_background.builtin_generation(SYNTHETIC_PER_CLASS)


def builtin_source() -> sources.DatasetSource:
    """The built-in synthetic set; its pages are drawn in the background from the first call on."""
    builtin_generation()
    return sources.synthetic_source(SYNTHETIC_PER_CLASS, generate=False)


def current_source() -> sources.DatasetSource:
    """The dataset chosen in this session (the built-in synthetic set until the user picks one)."""
    if "dataset_source" not in st.session_state:
        st.session_state["dataset_source"] = builtin_source()
    return st.session_state["dataset_source"]


def generating_builtin() -> Generation | None:
    """The run drawing the chosen built-in set while it lasts; None once it is complete or when
    another dataset is chosen."""
    if current_source().kind != sources.SYNTHETIC:
        return None
    run = builtin_generation()
    return None if run.finished else run


BUILTIN_PAGES = "the built-in synthetic ECG pages (first run only)"


def drawing_text(run: Generation, then: str = "", what: str = BUILTIN_PAGES) -> str:
    """How far the drawing is, and whether it waits for a training."""
    done, total = run.progress()
    paused = " Paused while a model trains on this server." if run.paused else ""
    return f"Drawing {what}: {done} of {total}.{paused} {then}".strip()


def generation_progress(run: Generation, what: str = BUILTIN_PAGES, then: str = "") -> None:
    """The count of pages drawn so far, refreshed every second; the page reruns when all are drawn."""
    @st.fragment(run_every=1.0)
    def poll() -> None:
        if run.finished:
            st.rerun()
        if run.failed:
            st.error(f"The built-in pages could not be drawn ({escape(run.error)}). Reload the page to try "
                     "again, or choose another dataset.")
            return
        done, total = run.progress()
        st.progress(done / total, text=drawing_text(run, then, what))
    poll()


def load_current(seed: int = 0) -> sources.PreparedDataset | None:
    """The chosen dataset, scanned and split; shows the error (or the built-in set's drawing
    progress) and returns None when it cannot be used yet."""
    if (run := generating_builtin()) is not None:
        generation_progress(run)
        return None
    return load_source(current_source(), seed)


def load_source(source: sources.DatasetSource, seed: int = 0) -> sources.PreparedDataset | None:
    """``source`` scanned and split; shows the error and returns None when it cannot be used."""
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
            _set_source(builtin_source())
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
    with stop_on_error(f"loading the model {name}", f"The model {escape(name)} cannot be used"):
        cache_key = (str(path), (path / bundles.MODEL_FILE).stat().st_mtime)
        bundle = _load_bundle(*cache_key)
    return bundle, cache_key
