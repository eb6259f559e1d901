"""The Live demo's starter pack: the pages it stands for are the pages the generator draws, its inputs are
what the pipeline makes of them, and a pack that does not fit is ignored, never an error."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import prepare_dataset, synthetic_source
from core.ecg import Preprocessing, load_and_prepare
from core.learn import PRESETS, prepare_images
from core.learn.starter import STARTER_FILE, load_starter, write_starter
from core.synth.dataset import BUILTIN_PER_CLASS

SPEC = PRESETS["live-demo"].preprocessing


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_LAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_shipped_pack_is_the_builtin_set_split_duplicate_safe(private_cache) -> None:
    data = load_starter(synthetic_source(BUILTIN_PER_CLASS, generate=False), SPEC)
    assert data is not None, f"{STARTER_FILE.name} does not fit the generator or the Live-demo preset: rebuild it"
    counts = data.split_counts()
    assert counts.sum(axis=1).to_dict() == {"train": 1050, "val": 225, "test": 225}
    assert set(counts.sum().to_dict().values()) == {BUILTIN_PER_CLASS}
    assert not data.index["leaks"].any()
    assert data.index["sha1"].is_unique
    cached = prepare_images(data.index["path"].head(5).tolist(), SPEC, hashes=data.index["sha1"].head(5).tolist())
    assert not cached.errors, "the pack's inputs should be read from the cache, the pages are not drawn yet"
    assert cached.images.shape == (5, *SPEC.input_shape) and cached.images.std() > 5


def test_the_pack_stands_for_the_pages_the_generator_draws(private_cache) -> None:
    # Page k of a small built-in set is page k of the large one: draw two a class and compare.
    small = prepare_dataset(synthetic_source(2))
    data = load_starter(synthetic_source(BUILTIN_PER_CLASS, generate=False), SPEC)
    shipped = data.index.set_index("relpath")
    for _, page in small.index.iterrows():
        row = shipped.loc[page["relpath"]]
        assert row["sha1"] == page["sha1"], f"{page['relpath']} is drawn differently from the pack's page"
        drawn = load_and_prepare(page["path"], SPEC)
        from_pack = prepare_images([row["path"]], SPEC, hashes=[row["sha1"]]).images[0]
        np.testing.assert_array_equal(from_pack, drawn)


def test_a_pack_written_from_a_set_reads_back_as_its_scan(private_cache, tmp_path) -> None:
    source = synthetic_source(3)
    pack = write_starter(source, SPEC, path=tmp_path / "pack.zip")
    scanned = prepare_dataset(source)
    loaded = load_starter(source, SPEC, path=pack)
    columns = ["path", "class", "sha1", "phash", "dup_group", "split", "leaks"]
    pd.testing.assert_frame_equal(loaded.index[columns], scanned.index[columns], check_dtype=False)
    assert (loaded.report.near_groups, loaded.report.n_duplicate_files) == (scanned.report.near_groups,
                                                                            scanned.report.n_duplicate_files)


def test_a_pack_that_does_not_fit_is_ignored(private_cache, tmp_path) -> None:
    builtin = synthetic_source(BUILTIN_PER_CLASS, generate=False)
    assert load_starter(synthetic_source(12, generate=False), SPEC) is None          # another set
    assert load_starter(builtin, Preprocessing(128, 256)) is None                    # another input
    assert load_starter(builtin, SPEC, path=tmp_path / "missing.zip") is None
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(STARTER_FILE.read_bytes()[:100_000])
    assert load_starter(builtin, SPEC, path=damaged) is None
