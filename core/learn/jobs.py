"""Training in a background thread whose progress any UI can poll.

The Train page keeps one :class:`TrainingJob` per browser session; the thread never calls
Streamlit — it only appends to this object — so the page can be left and revisited while the
curves keep growing, and two sessions training at once share nothing but the CPU.
"""
from __future__ import annotations

import importlib
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.learn.runs import RunningRun, make_record, record_run
from core.learn.training import Listener, TrainConfig, TrainOutcome, save_outcome, train
from core.priority import training

log = logging.getLogger(__name__)

# Two trainings share the two cores fairly; a whole classroom pressing Train at once would
# thrash memory and make every run crawl, so further sessions queue until a slot frees up.
MAX_CONCURRENT_TRAININGS = 2
_TRAINING_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_TRAININGS)


_warming = threading.Lock()
_warm: list[threading.Thread] = []


def warm_up() -> None:
    """Import Keras and TensorFlow on a background thread, once per process: a page that may start a
    training calls this when it opens, so the click on Train waits for training rather than for the
    seconds TensorFlow takes to load (a class is watching)."""
    with _warming:
        if not _warm:
            _warm.append(threading.Thread(target=importlib.import_module, args=("keras",), name="warm-up keras",
                                          daemon=True))
            _warm[0].start()


@dataclass
class JobState:
    """What a page renders: plain data, safe to read from another thread."""

    status: str = "queued"          # queued, preparing, training, finished, stopped, failed, saved
    message: str = ""
    epochs: list[dict] = field(default_factory=list)
    total_epochs: int = 0
    batch: int = 0
    batches: int = 0
    prepared: tuple[int, int] = (0, 0)
    info: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    bundle_path: str = ""
    started: float = field(default_factory=time.time)
    finished: float = 0.0

    @property
    def running(self) -> bool:
        return self.status in ("queued", "preparing", "training")

    def history_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.epochs)

    def eta_seconds(self) -> float | None:
        """Seconds left, from the mean epoch time so far."""
        if not self.epochs or not self.total_epochs:
            return None
        mean = sum(e["seconds"] for e in self.epochs) / len(self.epochs)
        return mean * (self.total_epochs - len(self.epochs))


class TrainingJob:
    """Runs :func:`core.learn.training.train` in a daemon thread and saves the bundle when it ends.

    Subclasses train other kinds of model through the same machinery (queue, events, stop, run
    history, save) by overriding :meth:`_train`, :meth:`_save_outcome` and :meth:`_config_dict`.
    """

    def __init__(self, index: pd.DataFrame | Callable[[Listener], pd.DataFrame], config: TrainConfig, *,
                 bundle_name: str, dataset_info: dict | None = None, overwrite: bool = False):
        """``index``: the prepared dataset's index, or a function making it in the job's thread, told
        the job's listener for its progress (the pages may still be drawn when Train is pressed)."""
        self.index, self.config = index, config
        self.bundle_name, self.dataset_info, self.overwrite = bundle_name, dataset_info or {}, overwrite
        self.state = JobState(total_epochs=config.epochs)
        self.outcome: TrainOutcome | None = None
        self._running: RunningRun | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"train-{bundle_name}", daemon=True)

    def start(self) -> "TrainingJob":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end after the current batch; the best weights so far are kept."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _on_event(self, event: dict) -> None:
        kind, state = event["event"], self.state
        if kind == "prepare":
            state.status, state.prepared = "preparing", (event["done"], event["total"])
        elif kind == "start":
            state.status, state.info, state.batches = "training", event, event["batches"]
        elif kind == "batch":
            state.batch, state.batches = event["batch"], event["batches"]
        elif kind == "epoch":
            state.epochs = [*state.epochs, event]
            state.batch = 0
        elif kind == "status":
            state.message = event["message"]
        elif kind == "warning":
            state.warnings = [*state.warnings, event["message"]]

    def _run(self) -> None:
        state = self.state
        try:
            # Recorded as running first, so a server killed mid-run leaves an "interrupted" run behind.
            self._running = RunningRun(self._make_record("running"))
        except Exception:  # as in _record: a history that cannot be written must not stop the training
            log.error("could not record run %s as running:\n%s", self.bundle_name, traceback.format_exc())
        try:
            state.message = "Waiting: other sessions are training on this server"
            with _TRAINING_SLOTS:
                state.status = "preparing"
                if callable(self.index):
                    self.index = self.index(self._on_event)
                with training():      # only once the index is ready: it may be waiting on the drawing
                    self.outcome = self._train()
            if self.outcome.stopped:
                state.status, state.message = "stopped", "Stopped: the best weights so far are kept in memory."
            else:
                self.save(self.bundle_name, overwrite=self.overwrite)
        except Exception as exc:  # any failure must reach the page as a message, not kill the thread silently
            log.error("training job %s failed:\n%s", self.bundle_name, traceback.format_exc())
            state.status, state.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            state.finished = time.time()
            self._record()

    def _train(self) -> TrainOutcome:
        """Train on the prepared index (in the job's thread), reporting to :meth:`_on_event`."""
        return train(self.index, self.config, listener=self._on_event, stop=self._stop)

    def _save_outcome(self, name: str, overwrite: bool) -> Path:
        """Write the outcome as the bundle ``name``."""
        return save_outcome(self.outcome, name, dataset_info=self.dataset_info, overwrite=overwrite)

    def _config_dict(self) -> dict:
        """The configuration as the run history records it (with the ``arch`` it lists runs by)."""
        return self.config.to_dict()

    def _make_record(self, status: str) -> dict:
        from core.data import leaked_groups

        outcome, state = self.outcome, self.state
        index = self.index if isinstance(self.index, pd.DataFrame) else pd.DataFrame()  # not made yet
        has_groups = {"split", "dup_group", "path"} <= set(index.columns)
        return make_record(
            config=self._config_dict(), history=list(state.epochs),
            metrics=outcome.metrics if outcome else {}, seconds=(state.finished or time.time()) - state.started,
            status=status, bundle_name=self.bundle_name, dataset_info=self.dataset_info, error=state.error,
            split={"method": self.dataset_info.get("split_method", "duplicate-safe"), "seed": self.config.seed,
                   "counts": index["split"].value_counts().to_dict() if "split" in index else {}},
            leaked=leaked_groups(index) if has_groups else None, started=state.started)

    def _record(self) -> None:
        """Write this run's final record to the run history (never lets a logging problem fail the job)."""
        outcome, state = self.outcome, self.state
        status = "stopped" if outcome and outcome.stopped else ("failed" if state.error else "finished")
        try:
            record = self._make_record(status)
            if self._running is not None:
                self._running.finish(record)
            else:
                record_run(record)
        except Exception:  # the history is a nice-to-have; the trained model matters more
            log.error("could not record run %s:\n%s", self.bundle_name, traceback.format_exc())

    def save(self, name: str, *, overwrite: bool = False) -> Path:
        """Save the outcome (also a stopped one) as a bundle named ``name``."""
        if self.outcome is None:
            raise RuntimeError("there is no trained model to save yet")
        path = self._save_outcome(name, overwrite)
        self.state.bundle_path, self.state.status = str(path), "saved"
        self.state.message = f"Saved to {path}"
        return path
