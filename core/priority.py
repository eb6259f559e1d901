"""Interactive work first: a training pauses between its batches while a session waits for a result;
background drawing pauses while a training runs.

A training job and the Predict sessions of a class run in one server process and share its cores
(and TensorFlow's one intra-op thread pool, sized once when TensorFlow loads, so a training cannot
be given fewer threads later). A training step keeps both cores busy, so a student's prediction
queued behind it waits for every step. Pages wrap the work a student waits for in
:func:`interactive`; the training calls :func:`yield_to_interactive` after every batch and sleeps
while any such work runs, up to :data:`MAX_PAUSE_S` a batch, so a whole class predicting at once
slows a training down but never stops it.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MAX_PAUSE_S = 1.0   # a batch of the Live demo takes ~0.1 s: a class at work slows it ~10x, not forever

_changed = threading.Condition()
_waiting = 0


@contextmanager
def interactive() -> Iterator[None]:
    """Mark the enclosed work as someone waiting for it (nestable, any thread)."""
    global _waiting
    with _changed:
        _waiting += 1
    try:
        yield
    finally:
        with _changed:
            _waiting -= 1
            _changed.notify_all()


def interactive_waiting() -> int:
    """How many pieces of interactive work are running now."""
    return _waiting


def yield_to_interactive(max_pause: float = MAX_PAUSE_S) -> float:
    """Wait while interactive work runs, at most ``max_pause`` seconds; returns the seconds waited."""
    if not _waiting:
        return 0.0
    start = time.monotonic()
    with _changed:
        _changed.wait_for(lambda: _waiting == 0, timeout=max_pause)
    return time.monotonic() - start


_trainings = 0


@contextmanager
def training() -> Iterator[None]:
    """Mark the enclosed work as a training the class is watching (nestable, any thread): the built-in
    pages' background drawing waits meanwhile. Even at low priority its workers slowed the Live demo's
    14 epochs from ~40 s to 55-60 s on two cores: they run in every pause of the training's steps."""
    global _trainings
    with _changed:
        _trainings += 1
    try:
        yield
    finally:
        with _changed:
            _trainings -= 1


def trainings_running() -> int:
    """How many trainings are running now."""
    return _trainings
