"""Keep Keras's process-wide state when a Streamlit script run ends."""
from __future__ import annotations

import sys


def _close_matplotlib_figures() -> None:
    """The half of Streamlit's clean-up that is safe with background training: pyplot figures."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def keep_keras_state_across_reruns() -> None:
    """Stop Streamlit calling ``keras.backend.clear_session()`` after every script run.

    Streamlit's script runner does that in ``_clean_problem_modules`` at the end of each run of any
    session. Keras then swaps its global (per-thread) state and TensorFlow clears its kernel caches
    under the training jobs' background threads: in a class, where every open Train page reruns
    each second, two trainings and a predicting session stalled in their first batch for minutes.
    The app frees its own models (``core.use.explain``, ``core.learn.training``), so nothing needs that reset.
    Should Streamlit rename the hook, this does nothing and ``tests/ui/test_keras_state.py`` fails.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = _close_matplotlib_figures
