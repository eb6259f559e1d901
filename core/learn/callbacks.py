"""Keras callback that turns training into listener events (imports Keras: load it lazily)."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import keras
import numpy as np

from core.priority import yield_to_interactive


class ProgressCallback(keras.callbacks.Callback):
    """Forwards batch and epoch progress to ``listener``, honours ``stop`` after every batch, and
    keeps the best weights seen so far so that a stopped run can still be kept."""

    def __init__(self, listener: Callable[[dict], None], stop: threading.Event, batches: int,
                 monitor: str):
        super().__init__()
        self.listener, self.stop, self.batches, self.monitor = listener, stop, batches, monitor
        self.best, self.best_weights, self.stopped = math.inf, None, False
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.listener({"event": "batch", "batch": batch + 1, "batches": self.batches})
        yield_to_interactive()      # a student waiting for a prediction goes first
        self._maybe_stop()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        value = logs.get(self.monitor, logs.get("loss", math.inf))
        if value < self.best:
            self.best, self.best_weights = value, self.model.get_weights()
        self.listener({
            "event": "epoch", "epoch": epoch + 1,
            "learning_rate": float(np.asarray(self.model.optimizer.learning_rate)),
            "seconds": time.perf_counter() - self._epoch_start,
            **{k: float(v) for k, v in logs.items() if k != "learning_rate"},
        })
        self._maybe_stop()

    def _maybe_stop(self) -> None:
        if self.stop.is_set():
            self.stopped = True
            self.model.stop_training = True
