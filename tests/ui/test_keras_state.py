"""A script run must not reset Keras's global state: training jobs run beside the page threads.

Streamlit calls ``keras.backend.clear_session()`` after every run; with two trainings and a
predicting session on one server that stalled the trainings in their first batch for minutes
(tests/e2e/test_concurrency_e2e.py). ``pages.keras_state`` turns the reset off.
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP_FILE = Path(__file__).resolve().parents[2] / "streamlit_app.py"


def test_a_script_run_keeps_keras_global_state() -> None:
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("ecg_lab_probe", "still here")
    at = AppTest.from_file(str(APP_FILE), default_timeout=120)
    at.run()
    assert not at.exception
    at.run()  # the clean-up runs at the end of each run, the patched one from the first run on
    assert global_state.get_global_attribute("ecg_lab_probe") == "still here"
