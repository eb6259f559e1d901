"""UI pieces every page shares: navigation, sidebar status, hand-out links, disclaimer, errors.

Home and the app's entry point import only this module, and it imports nothing heavy (no pandas,
scipy or TensorFlow): it is what a class's first visitor waits for. The dataset and model
choosers are in :mod:`pages.choosers`.
"""
from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core import bundles
from core.errors import USER_ERRORS

DISCLAIMER = (
    "**Educational use only.** ECG Image Lab is a teaching tool, not a medical device. Its outputs "
    "are not a diagnosis; an ECG must be read by a qualified clinician. If you have chest pain or "
    "other symptoms, call your local emergency number."
)


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


@contextmanager
def stop_on_error(doing: str, cannot: str) -> Iterator[None]:
    """Run the block; if it fails, say so and stop the page: a user's error (a bad file, folder or
    model) as ``cannot: <its message>``, anything else through :func:`report_error` as ``doing``."""
    try:
        yield
    except USER_ERRORS as exc:
        st.error(f"{cannot}: {escape(exc)}")
        st.stop()
    except Exception as exc:
        report_error(doing, exc)
        st.stop()


def scroll_into_view(key: str) -> None:
    """Scroll the browser to the element made with ``key=key``, its top at the top of the window:
    on a projector (about 1000 px tall) what a click starts would otherwise begin below the fold.
    The pause lets the rerun's elements take their place first."""
    st.html(f"<script>setTimeout(() => document.querySelector('.st-key-{key}')"
            "?.scrollIntoView({behavior: 'smooth', block: 'start'}), 300);</script>",
            unsafe_allow_javascript=True)


def current_model_name() -> str | None:
    """The model bundle chosen in this session, else the default bundle."""
    if st.session_state.get("model_name"):
        return st.session_state["model_name"]
    default = bundles.default_bundle()
    return default.name if default else None


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

LEARN_TAB_KEY = "learn_tab"   # the tab the Learn page opens on; ``?page=quiz`` sets "Quiz"
EXPLORE_TAB_KEY = "explore_tab"  # the tab the Explore page opens on


def classroom_mode() -> bool:
    """Projector mode: bigger text and charts, advanced controls hidden (session flag ``classroom``)."""
    return bool(st.session_state.get("classroom", False))
