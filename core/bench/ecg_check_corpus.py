"""The ECG check's development corpus: real non-ECG images from installed packages and renders by
standard libraries, the real ECG pages in ``../shared/data`` and synthetic truth pages.

Nothing here is stored in the repository: images are loaded or rendered at run time, and only the
page reader's summaries are cached (``<cache>/ecg_check/readings-<reader hash>.jsonl``), so a new
reader re-reads everything. Every item has a ``kind``, a ``source`` and a ``split``: "fit" items
calibrate the check, "test" items give the figures it reports.
"""
from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from core.paths import PROJECT_ROOT, SHARED_MENDELEY_DIR, cache_dir

OTHER_DEV_DIR = SHARED_MENDELEY_DIR.parent / "ecg-other-dev"
FIT_SEED, TEST_SEED = 1, 2            # synthetic truth pages; seed 0 is the reader benchmark's held-out set
FIT, TEST = "fit", "test"


@dataclass(frozen=True)
class CorpusItem:
    """One image of the corpus; ``load`` gives it as a PIL image."""

    key: str                       # unique, stable
    group: str                     # "ecg" or "non_ecg"
    kind: str
    source: str
    split: str
    load: Callable[[], Image.Image]


def _split_of(key: str, fit_share: float) -> str:
    """A stable pseudo-random split from the key's hash."""
    return FIT if int(hashlib.md5(key.encode()).hexdigest()[:8], 16) / 2 ** 32 < fit_share else TEST


def _file_loader(path: Path) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    return load


def real_ecg_items(mendeley_fit_share: float = 0.25) -> list[CorpusItem]:
    """Every Mendeley page (a quarter fits, the rest tests) and every ecg-other-dev image (all test)."""
    items = []
    for path in sorted(SHARED_MENDELEY_DIR.glob("*/*")):
        key = f"mendeley/{path.parent.name.split(' (')[0]}/{path.name}"
        items.append(CorpusItem(key, "ecg", "mendeley", f"Mendeley {path.parent.name}",
                                _split_of(key, mendeley_fit_share), _file_loader(path)))
    for path in sorted(OTHER_DEV_DIR.glob("*__*")):
        items.append(CorpusItem(f"other-dev/{path.name}", "ecg", f"other_dev_{path.name.split('__')[0]}",
                                f"ecg-other-dev/{path.name}", TEST, _file_loader(path)))
    return items


def truth_items(per_pair: int = 1) -> list[CorpusItem]:
    """Synthetic truth pages, every layout x effect ``per_pair`` times: seed 1 fits, seed 2 tests."""
    from core.synth.truth import TRUTH_EFFECTS, TRUTH_LAYOUTS, render_truth_page, truth_page_seed, truth_plan

    n = per_pair * len(TRUTH_LAYOUTS) * len(TRUTH_EFFECTS)
    items = []
    for seed, split in ((FIT_SEED, FIT), (TEST_SEED, TEST)):
        for index in range(n):
            layout, effect = truth_plan(index)
            page_seed = truth_page_seed(seed, index)

            def load(page_seed=page_seed, layout=layout, effect=effect) -> Image.Image:
                return render_truth_page(page_seed, layout=layout, effect=effect)[0]
            items.append(CorpusItem(f"truth/{seed}/{index}", "ecg", f"synthetic_{layout}_{effect}",
                                    f"core.synth.truth seed {seed} page {index} ({layout}, {effect})", split, load))
    return items


def non_ecg_items() -> list[CorpusItem]:
    """Real non-ECG images and library renders (see ``core.bench.nonecg_sources``), half fit, half test."""
    from core.bench.nonecg_sources import non_ecg_sources

    return [CorpusItem(f"non-ecg/{name}", "non_ecg", kind, source, _split_of(name, 0.5), load)
            for name, kind, source, load in non_ecg_sources()]


def reader_hash() -> str:
    """A hash of the page reader's source: cached readings are redone when the reader changes."""
    digest = hashlib.sha1()
    for path in sorted((PROJECT_ROOT / "core" / "ecg" / "reader").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def read_item(item: CorpusItem) -> dict:
    """The reader's summary of one item (or the error it raised), with the time it took."""
    from core.ecg.reader import read_page
    from core.use.ecg_check import reading_summary

    image = item.load()
    start = time.perf_counter()
    record = {"key": item.key, "group": item.group, "kind": item.kind, "source": item.source, "split": item.split}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            record["summary"] = reading_summary(read_page(image), image.size)
            record["error"] = None
        except Exception as error:   # noqa: BLE001 - a reader crash is a finding to report, not to hide
            record["summary"], record["error"] = None, f"{type(error).__name__}: {error}"
    record["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record


def cached_readings(items: list[CorpusItem], *, log: Callable[[str], None] = print) -> list[dict]:
    """The summaries of ``items``, read once per reader version and appended to the cache as they come."""
    path = cache_dir() / "ecg_check" / f"readings-{reader_hash()}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            done[record["key"]] = record
    out = []
    with path.open("a") as sink:
        for i, item in enumerate(items):
            if item.key not in done:
                done[item.key] = read_item(item)
                sink.write(json.dumps(done[item.key]) + "\n")
                sink.flush()
                if i % 25 == 0:
                    log(f"read {i + 1}/{len(items)} {item.key} ({done[item.key]['seconds']} s)")
            # Kind, source and split come from the item list, so they can change without re-reading.
            out.append({**done[item.key], "group": item.group, "kind": item.kind, "source": item.source,
                        "split": item.split})
    return out


def corpus(per_pair: int = 1) -> list[CorpusItem]:
    """The whole corpus: non-ECG images, real ECG pages (when ``../shared/data`` is there), truth pages."""
    return non_ecg_items() + real_ecg_items() + truth_items(per_pair)


if __name__ == "__main__":             # read the real ECG pages only: the longest part, run in the background
    cached_readings(real_ecg_items())
