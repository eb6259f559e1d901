"""Hand-out links: query parameters that open the app on a page with a dataset, a model, a Train
preset and classroom mode already chosen (``?page=train&dataset=synthetic&preset=live-demo&classroom=1``).

Only the entry point uses this module; it sits above :mod:`pages.common` and :mod:`pages.choosers`
(imported only when a link names a dataset, so the first page still loads no pandas).
"""
from __future__ import annotations

import streamlit as st

from core import bundles
from core.errors import USER_ERRORS
from core.paths import SHARED_MENDELEY_DIR
from pages.common import LEARN_TAB_KEY, escape

# ``?page=`` values and the page files they open.
PAGE_PARAMS = {"home": "pages/home.py", "explore": "pages/explore.py", "train": "pages/train.py",
               "learn": "pages/learn.py", "quiz": "pages/learn.py", "evaluate": "pages/evaluate.py",
               "predict": "pages/predict.py"}
DATASET_PICKERS = ("train", "explore", "evaluate")


def apply_query_params() -> str | None:
    """Apply a hand-out link once per session: ``?page=train&dataset=synthetic&model=NAME&
    preset=live-demo&classroom=1``. Sets the session's dataset, model, Train preset and classroom
    flag, and returns the page file to open (or None); ``page=quiz`` opens the Learn page on its Quiz
    tab. Unknown values are ignored with a toast.
    ``dataset`` is ``synthetic``, ``mendeley`` or a folder path on the server."""
    params = st.query_params
    if st.session_state.get("_query_applied") or not params:
        return None
    from core.learn import PRESETS
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
        from core.data import folder_source  # pandas: only when a link names a dataset
        from pages.choosers import builtin_source

        try:
            st.session_state["dataset_source"] = (
                builtin_source() if dataset == "synthetic"
                else folder_source(SHARED_MENDELEY_DIR if dataset == "mendeley" else dataset))
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
