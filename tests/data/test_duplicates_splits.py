"""Duplicate grouping, the duplicate report, and splits that never cut a group."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import (NEAR_DUPLICATE_THRESHOLD, LeakageError, assert_no_leakage, duplicate_groups, duplicate_report,
                       group_kfold, hash_distance, near_pairs, split_dataset)

BITS = 512


def _hash(bits: np.ndarray) -> str:
    return np.packbits(bits).tobytes().hex()


def _flip(bits: np.ndarray, n: int, rng) -> np.ndarray:
    out = bits.copy()
    out[rng.choice(BITS, n, replace=False)] ^= True
    return out


def _index(rows) -> pd.DataFrame:
    """rows: (path, class, given_split, sha1, phash bits)."""
    return pd.DataFrame(
        [{"path": p, "class": c, "given_split": s, "sha1": h, "phash": _hash(b)} for p, c, s, h, b in rows]
    )


@pytest.fixture
def pages():
    rng = np.random.default_rng(0)
    base = [rng.random(BITS) < 0.5 for _ in range(4)]
    near = _flip(base[0], NEAR_DUPLICATE_THRESHOLD, rng)  # exactly at the threshold: still a copy
    far = _flip(base[1], NEAR_DUPLICATE_THRESHOLD + 1, rng)  # one bit further: distinct
    return _index([
        ("a.jpg", "MI", "train", "s1", base[0]),
        ("a_copy.jpg", "MI", "test", "s1", base[0]),        # exact copy, leaks into test
        ("a_resaved.jpg", "Normal", "train", "s2", near),   # near copy under another class
        ("b.jpg", "Normal", "train", "s3", base[1]),
        ("b_far.jpg", "Normal", "train", "s4", far),
        ("c.jpg", "Normal", "test", "s5", base[2]),
        ("d.jpg", "Normal", "val", "s6", base[3]),
    ])


def test_hash_distance_counts_bits():
    assert hash_distance("ff00", "0f01") == 5
    with pytest.raises(ValueError, match="same length"):
        hash_distance("ff", "ff00")


def test_groups_join_exact_and_near_copies_transitively(pages):
    grouped = duplicate_groups(pages)
    exact = grouped.groupby("exact_group")["path"].apply(sorted).tolist()
    dup = grouped.groupby("dup_group")["path"].apply(sorted).tolist()
    assert sorted(exact) == [["a.jpg", "a_copy.jpg"], ["a_resaved.jpg"], ["b.jpg"], ["b_far.jpg"], ["c.jpg"], ["d.jpg"]]
    assert sorted(dup) == [["a.jpg", "a_copy.jpg", "a_resaved.jpg"], ["b.jpg"], ["b_far.jpg"], ["c.jpg"], ["d.jpg"]]


def test_report_lists_conflicts_and_leakage(pages):
    report = duplicate_report(pages)
    assert report.exact_groups == [["a.jpg", "a_copy.jpg"]]
    assert report.near_groups == [["a.jpg", "a_copy.jpg", "a_resaved.jpg"]]
    assert report.n_duplicate_files == 2
    assert report.conflicts[["class", "path"]].values.tolist() == [
        ["MI", "a.jpg"], ["MI", "a_copy.jpg"], ["Normal", "a_resaved.jpg"]]
    assert sorted(report.leakage["given_split"]) == ["test", "train", "train"]


def test_near_pairs_scales_to_thousands():
    rng = np.random.default_rng(1)
    hashes = [_hash(rng.random(BITS) < 0.5) for _ in range(3000)]
    hashes[2999] = hashes[5]
    assert near_pairs(hashes).tolist() == [[5, 2999]]


def _random_index(n_pages: int, seed: int) -> pd.DataFrame:
    """Pages in four classes, each copied 1-8 times, no given split."""
    rng = np.random.default_rng(seed)
    rows = []
    for page in range(n_pages):
        bits = rng.random(BITS) < 0.5
        for copy in range(rng.integers(1, 9)):
            rows.append((f"p{page}_{copy}.jpg", f"class{page % 4}", "", f"sha{page}", bits))
    return _index(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_keeps_groups_whole_and_is_stratified(seed):
    split = split_dataset(_random_index(200, seed), seed=seed)
    assert_no_leakage(split)
    shares = split.groupby("class")["split"].value_counts(normalize=True).unstack()
    assert ((shares["test"] - 0.15).abs() < 0.08).all() and ((shares["val"] - 0.15).abs() < 0.08).all()
    assert not split["leaks"].any()


def test_split_is_seeded():
    index = _random_index(80, 0)
    first, again, other = (split_dataset(index, seed=s)["split"] for s in (0, 0, 1))
    assert first.equals(again) and not first.equals(other)


def test_given_splits_are_kept_and_leaking_copies_dropped(pages):
    with pytest.warns(UserWarning, match="drop_leaking=True"):
        kept = split_dataset(pages)
    assert kept["split"].tolist() == pages["given_split"].tolist()
    assert sorted(kept.loc[kept["leaks"], "path"]) == ["a.jpg", "a_resaved.jpg"]
    dropped = split_dataset(pages, drop_leaking=True)
    assert "a.jpg" not in set(dropped["path"]) and "a_copy.jpg" in set(dropped["path"])
    assert_no_leakage(dropped)


def test_assert_no_leakage_names_the_group(pages):
    with pytest.raises(LeakageError, match="1 duplicate groups .* test:a_copy.jpg"):
        assert_no_leakage(duplicate_groups(pages).assign(split=pages["given_split"]))


def test_fractions_are_validated():
    with pytest.raises(ValueError, match="'test_fraction' parameter of split_dataset .* Got 1.5"):
        split_dataset(_random_index(10, 0), test_fraction=1.5)
    with pytest.raises(ValueError, match="below 1"):
        split_dataset(_random_index(10, 0), val_fraction=0.5, test_fraction=0.5)


def test_group_kfold_folds_are_duplicate_safe():
    index = duplicate_groups(_random_index(60, 3))
    seen = []
    for train, test in group_kfold(index, n_splits=5, seed=0):
        assert not set(index["dup_group"].iloc[train]) & set(index["dup_group"].iloc[test])
        seen.extend(test)
    assert sorted(seen) == list(range(len(index)))
    with pytest.raises(ValueError, match="n_splits=100 greater than the number of duplicate groups: 60"):
        next(group_kfold(index, n_splits=100))
