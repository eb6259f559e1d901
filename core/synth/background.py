"""The built-in set drawn in a background thread, so its first pages can be shown while the rest are drawn.

One :class:`Generation` per dataset folder and process: every page of the app that needs the built-in
set joins the same run. Pages are written round-robin over the classes, so the pages done at any
moment are a balanced sample of the set.
"""
from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from core.classes import CANONICAL_CLASSES
from core.priority import trainings_running
from core.synth.dataset import BUILTIN_PER_CLASS, DEFAULT_PAGE_SIZE, builtin_path, generate_dataset, is_complete

# Background workers yield the CPU to training and page rendering; alone on the machine they get it all.
BACKGROUND_NICE = 10


class Generation:
    """A run of :func:`~core.synth.dataset.generate_dataset` into ``out_dir`` on its own thread.

    A folder that already holds a finished dataset is not drawn again: the run is finished at once.
    """

    def __init__(self, out_dir: Path, per_class: int, seed: int, *, page_size: tuple[int, int] = DEFAULT_PAGE_SIZE,
                 workers: int | None = None, nice: int = BACKGROUND_NICE) -> None:
        self.out_dir = Path(out_dir)
        self.total = per_class * len(CANONICAL_CLASSES)
        self.error: str | None = None
        self._lock = threading.Lock()
        self._pages: list[tuple[str, str, Path]] = []        # (class, path in the set, file written)
        self._done = threading.Event()
        self._pause = multiprocessing.get_context("spawn").Event()
        if is_complete(self.out_dir):
            self._done.set()
            return
        self._thread = threading.Thread(target=self._run, args=(per_class, seed, page_size, workers, nice),
                                        name=f"generate {self.out_dir.name}", daemon=True)
        self._thread.start()
        threading.Thread(target=self._pause_while_training, name=f"pause {self.out_dir.name}", daemon=True).start()

    def _pause_while_training(self) -> None:
        """Hold the workers while a training runs in this process (the class is watching it)."""
        while not self._done.wait(0.25):
            (self._pause.set if trainings_running() else self._pause.clear)()

    @property
    def paused(self) -> bool:
        """Whether the drawing is waiting for a training to end."""
        return self._pause.is_set() and not self._done.is_set()

    def _run(self, per_class: int, seed: int, page_size: tuple[int, int], workers: int | None,
             nice: int) -> None:
        try:
            generate_dataset(self.out_dir, per_class=per_class, seed=seed, page_size=page_size,
                             workers=workers, on_page=self._written, nice=nice, pause=self._pause)
        except Exception as exc:  # reported to whoever asks; a later request starts a new run
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._done.set()

    def _written(self, row: dict, file: Path) -> None:
        with self._lock:
            self._pages.append((row["class"], row["path"], file))

    @property
    def finished(self) -> bool:
        """The whole set is in place (and no error happened)."""
        return self._done.is_set() and self.error is None

    @property
    def failed(self) -> bool:
        return self._done.is_set() and self.error is not None

    def progress(self) -> tuple[int, int]:
        """``(pages written, pages in the set)``."""
        if self.finished:
            return self.total, self.total
        with self._lock:
            return len(self._pages), self.total

    def pages(self, cls: str | None = None) -> list[Path]:
        """The page files written so far (of class ``cls``), oldest first. While the run lasts
        they are in its temporary folder; a file can vanish when the run ends and moves the set."""
        with self._lock:
            written = list(self._pages)
        if self.finished and not written:                     # finished before this process looked
            folders = [cls] if cls else list(CANONICAL_CLASSES)
            return [f for c in folders for f in sorted((self.out_dir / c).glob("*.jpg"))]
        return [self.out_dir / rel if self.finished else file
                for c, rel, file in written if cls is None or c == cls]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (or ``timeout`` s); whether it has ended."""
        return self._done.wait(timeout)


_RUNS: dict[Path, Generation] = {}
_RUNS_LOCK = threading.Lock()


def builtin_generation(per_class: int = BUILTIN_PER_CLASS, seed: int = 0, *,
                       page_size: tuple[int, int] = DEFAULT_PAGE_SIZE, nice: int = BACKGROUND_NICE) -> Generation:
    """The run drawing (or that drew) the built-in set of this size, seed and page size, started on the
    first call (its workers at niceness ``nice``); a failed run is replaced by a new one."""
    path = builtin_path(per_class, seed, page_size)
    with _RUNS_LOCK:
        run = _RUNS.get(path)
        if run is None or run.failed or (run.finished and not is_complete(path)):
            run = _RUNS[path] = Generation(path, per_class, seed, page_size=page_size, nice=nice)
        return run
