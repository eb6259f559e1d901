"""Group exact and near-duplicate images, and report the ones that break an evaluation.

A copy of a page in both the training and the test split inflates every score; a copy under two
class folders is a label conflict. ``duplicate_groups`` gives every row an ``exact_group``
(same bytes) and a ``dup_group`` (exact or perceptually near copies, joined transitively), the
grouping that splits must respect.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.hashing import NEAR_DUPLICATE_THRESHOLD, hash_bits

_BLOCK = 512  # rows per block of the pairwise distance matrix: 512 x 5,000 x 512 bits stays small


def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving keeps the trees flat
        i = parent[i]
    return i


def _union_groups(n: int, pairs: np.ndarray) -> np.ndarray:
    """Component id (0..k-1, in order of first row) for each of n items joined by (i, j) pairs."""
    parent = np.arange(n)
    for i, j in pairs:
        root_i, root_j = _find(parent, int(i)), _find(parent, int(j))
        if root_i != root_j:
            parent[max(root_i, root_j)] = min(root_i, root_j)
    roots = np.array([_find(parent, i) for i in range(n)])
    return pd.factorize(roots)[0]


def near_pairs(phashes, *, threshold: int = NEAR_DUPLICATE_THRESHOLD) -> np.ndarray:
    """(i, j) index pairs, i < j, whose perceptual hashes differ by at most ``threshold`` bits."""
    if len(phashes) == 0:
        return np.empty((0, 2), dtype=int)
    bits = hash_bits(phashes).astype(np.float32)
    # Hamming distance from dot products: d(a, b) = |a| + |b| - 2 a.b, one matrix product per block.
    ones = bits.sum(axis=1)
    pairs = []
    for start in range(0, len(bits), _BLOCK):
        block = bits[start:start + _BLOCK]
        distance = ones[start:start + _BLOCK, None] + ones[None, :] - 2 * block @ bits.T
        i, j = np.nonzero(distance <= threshold)
        i = i + start
        pairs.append(np.column_stack([i, j])[i < j])
    return np.concatenate(pairs).astype(int) if pairs else np.empty((0, 2), dtype=int)


def duplicate_groups(index: pd.DataFrame, *, threshold: int = NEAR_DUPLICATE_THRESHOLD) -> pd.DataFrame:
    """A copy of ``index`` with ``exact_group`` (same sha1) and ``dup_group`` (exact or near) ids.

    Rows without a perceptual hash (empty ``phash``) only join their exact copies.
    """
    out = index.reset_index(drop=True).copy()
    out["exact_group"] = pd.factorize(out["sha1"])[0]
    rows = out.index.to_numpy()
    first_copy = out.index.to_series().groupby(out["exact_group"]).transform("min").to_numpy()
    exact_pairs = np.column_stack([rows, first_copy])
    hashed = np.flatnonzero(out["phash"].fillna("").astype(str).str.len() > 0)
    near = hashed[near_pairs(out["phash"].iloc[hashed].tolist(), threshold=threshold)]
    out["dup_group"] = _union_groups(len(out), np.concatenate([exact_pairs, near]))
    return out


@dataclass
class DuplicateReport:
    """Duplicate groups (lists of paths, size >= 2) and the ones that cross classes or given splits."""

    exact_groups: list[list[str]]
    near_groups: list[list[str]]
    conflicts: pd.DataFrame   # dup_group, class, path: groups filed under two or more classes
    leakage: pd.DataFrame     # dup_group, given_split, path: groups in two or more given splits

    @property
    def groups_with_near_copies(self) -> list[list[str]]:
        """Duplicate groups that are more than one set of byte-identical files."""
        exact = {frozenset(group) for group in self.exact_groups}
        return [group for group in self.near_groups if frozenset(group) not in exact]

    @property
    def n_duplicate_files(self) -> int:
        """Files that are a copy of an earlier file in their group (how many a clean-up would remove)."""
        return sum(len(group) - 1 for group in self.near_groups)


def _groups_of(frame: pd.DataFrame, column: str) -> list[list[str]]:
    sizes = frame.groupby(column)["path"].transform("size")
    return [list(paths) for _, paths in frame[sizes >= 2].groupby(column, sort=True)["path"]]


def _spanning(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows of groups whose members take two or more values of ``column`` (empty values ignored)."""
    valued = frame[frame[column].astype(str) != ""]
    spread = valued.groupby("dup_group")[column].transform("nunique")
    return (valued.loc[spread >= 2, ["dup_group", column, "path"]]
            .sort_values(["dup_group", column, "path"]).reset_index(drop=True))


def duplicate_report(index: pd.DataFrame, *, threshold: int = NEAR_DUPLICATE_THRESHOLD) -> DuplicateReport:
    """Exact and near-duplicate groups of a scan index, plus label conflicts and split leakage."""
    grouped = index if "dup_group" in index else duplicate_groups(index, threshold=threshold)
    return DuplicateReport(
        exact_groups=_groups_of(grouped, "exact_group"),
        near_groups=_groups_of(grouped, "dup_group"),
        conflicts=_spanning(grouped, "class"),
        leakage=_spanning(grouped, "given_split"),
    )
