"""The Live demo's starter pack: the built-in pages' network inputs, shipped with the app.

On a fresh machine the built-in set takes a minute or more to draw (Explore shows it filling in), yet a
lecture's Live demo should start the moment Train is pressed. The pack holds, for the built-in set (same
generator version, seed and size) and the Live demo's preprocessing only, what the input pipeline makes of
each page, and the dataset scan's index: content hashes, duplicate groups and the duplicate-safe split.
Loading it puts the inputs in the pipeline's cache under those hashes, so training reads them at once; the
pages themselves are still drawn in the background, byte for byte the files the index names (a test redraws
a sample and compares). Rebuild it after changing the generator or the preset:
``python scripts/build_starter_pack.py``.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.duplicates import duplicate_report
from core.data.sources import DatasetSource, PreparedDataset, prepare_dataset
from core.ecg import Preprocessing
from core.learn.pipeline import prepare_images, store_prepared
from core.paths import ASSETS_DIR

STARTER_FILE = ASSETS_DIR / "live-demo-starter.zip"
# Columns that depend on the machine that drew the pages (where, when), not on the pages.
_LOCAL_COLUMNS = ("path", "mtime")


def _meta(source: DatasetSource, spec: Preprocessing, seed: int) -> dict:
    from core.synth.dataset import GENERATOR_VERSION

    return {"dataset": Path(source.path).name, "generator_version": GENERATOR_VERSION,
            "preprocessing": spec.key(), "split_seed": seed}


def write_starter(source: DatasetSource, spec: Preprocessing, *, seed: int = 0, path: Path = STARTER_FILE) -> Path:
    """Scan and split the drawn built-in set ``source`` and write its inputs at ``spec`` to ``path``.

    The inputs are LZMA-compressed (about 10 KB a page at 128×128: the paper's grain is real data).
    """
    prepared = prepare_dataset(source, seed=seed)
    inputs = prepare_images(prepared.index["path"].tolist(), spec, hashes=prepared.index["sha1"].tolist())
    if inputs.errors:
        raise ValueError(f"{len(inputs.errors)} built-in pages could not be read: {next(iter(inputs.errors.values()))}")
    array = io.BytesIO()
    np.lib.format.write_array(array, inputs.images)
    index = prepared.index.drop(columns=list(_LOCAL_COLUMNS))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as pack:
        pack.writestr("meta.json", json.dumps(_meta(source, spec, seed), indent=1))
        pack.writestr("index.json", index.to_json(orient="records"))
        pack.writestr("inputs.npy", array.getvalue())
    return path


def load_starter(source: DatasetSource, spec: Preprocessing, *, seed: int = 0,
                 path: Path = STARTER_FILE) -> PreparedDataset | None:
    """The built-in set ``source`` split with ``seed``, its inputs at ``spec`` put in the pipeline's cache,
    without waiting for its pages to be drawn. None when the pack does not fit (another set, generator,
    preprocessing or split) or cannot be read: then the pages are drawn and scanned as for any dataset."""
    try:
        with zipfile.ZipFile(path) as pack:
            meta = json.loads(pack.read("meta.json"))
            if meta != _meta(source, spec, seed):
                return None
            index = pd.read_json(io.BytesIO(pack.read("index.json")), orient="records", dtype={"sha1": str, "phash": str})
            with pack.open("inputs.npy") as member:
                images = np.lib.format.read_array(member)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return None  # a missing or damaged pack only costs the wait for the drawing
    if len(images) != len(index):
        return None
    store_prepared(spec, index["sha1"].tolist(), images)
    index.insert(0, "path", [str(Path(source.path) / relpath) for relpath in index["relpath"]])
    index["given_split"] = index["given_split"].fillna("")
    return PreparedDataset(source, index, pd.DataFrame(columns=["path", "reason"]), duplicate_report(index), seed)
