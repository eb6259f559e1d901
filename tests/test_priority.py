"""core.priority: a training pauses between batches while a session waits for a result, and never for
longer than its cap (ordering is asserted, never a duration)."""
from __future__ import annotations

import threading

from core.priority import interactive, interactive_waiting, yield_to_interactive


def test_background_work_waits_until_interactive_work_ends():
    started, resumed = threading.Event(), threading.Event()

    def training_step() -> None:
        started.set()
        yield_to_interactive(max_pause=600)
        resumed.set()

    with interactive():
        assert interactive_waiting() == 1
        worker = threading.Thread(target=training_step)
        worker.start()
        started.wait(30)
        assert not resumed.wait(0.3), "the training went on while a student waited"
    worker.join(30)
    assert resumed.is_set() and interactive_waiting() == 0


def test_the_pause_has_a_cap_so_a_busy_class_never_stops_a_training():
    with interactive(), interactive():                    # nested, as two sessions at once
        assert interactive_waiting() == 2
        assert yield_to_interactive(max_pause=0.05) >= 0.05
    assert yield_to_interactive() == 0.0                 # nobody waiting: no pause at all


def test_a_page_stopped_by_streamlit_still_releases_its_claim():
    class Rerun(BaseException):                           # Streamlit's stop and rerun are BaseExceptions
        pass

    try:
        with interactive():
            raise Rerun
    except Rerun:
        pass
    assert interactive_waiting() == 0
