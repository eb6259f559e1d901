"""The real Mendeley pages: counts, exact duplicates, duplicate-safe splits, cache speed."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageEnhance

from core.classes import ECG_CLASSES
from core.data import (NEAR_DUPLICATE_THRESHOLD, assert_no_leakage, duplicate_groups, duplicate_report, hash_distance,
                       perceptual_hash, scan, split_dataset)
from core.imageio import load_image
from core.paths import SHARED_MENDELEY_DIR

pytestmark = [
    pytest.mark.mendeley,
    pytest.mark.skipif(not SHARED_MENDELEY_DIR.is_dir(), reason=f"{SHARED_MENDELEY_DIR} is absent"),
]


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """A cold scan, then a second one that counts how many files it had to open again."""
    import core.data.dataset

    opened: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ECG_LAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        first = scan(SHARED_MENDELEY_DIR)
        for name in ("_describe", "load_image"):
            real = getattr(core.data.dataset, name)
            patch.setattr(core.data.dataset, name,
                          lambda source, *a, _real=real, **k: opened.append(str(source)) or _real(source, *a, **k))
        second = scan(SHARED_MENDELEY_DIR)
    return first, second, opened


def test_counts_classes_and_exact_duplicates(scans):
    first, _, _ = scans
    assert len(first.index) == 643 and first.skipped.empty
    assert first.classes == list(ECG_CLASSES)
    assert first.index["sha1"].nunique() == 337
    mi = first.index[first.index["class"] == ECG_CLASSES[0]]
    assert len(mi) == 159 and mi["sha1"].nunique() == 20


def test_report_exact_groups_match_sha1(scans):
    first, _, _ = scans
    report = duplicate_report(first.index)
    by_sha1 = first.index.groupby("sha1")["path"].apply(sorted)
    assert sorted(map(sorted, report.exact_groups)) == sorted(g for g in by_sha1 if len(g) > 1)
    # Distinct pages are not merged by the perceptual hash: no near group is larger than its exact group.
    assert duplicate_groups(first.index)["dup_group"].nunique() == 337
    assert report.conflicts.empty and report.leakage.empty


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_never_cuts_a_duplicate_group(scans, seed):
    split = split_dataset(scans[0].index, seed=seed)
    assert_no_leakage(split)
    assert set(split["split"]) == {"train", "val", "test"}


def test_near_copies_stay_within_the_threshold(scans):
    path = scans[0].index["path"].iloc[0]
    original = Image.open(path).convert("RGB")
    reference = perceptual_hash(load_image(path, max_side=512))
    buffer = io.BytesIO()
    original.save(buffer, "JPEG", quality=70)
    width, height = original.size
    copies = [
        buffer.getvalue(),
        ImageEnhance.Brightness(original).enhance(1.05),
        original.crop((width // 100, height // 100, width, height)),
    ]
    for copy in copies:
        img = load_image(copy, max_side=512) if isinstance(copy, bytes) else copy
        assert hash_distance(reference, perceptual_hash(img)) <= NEAR_DUPLICATE_THRESHOLD


def test_cached_scan_opens_no_file_and_is_identical(scans):
    first, second, opened = scans
    assert second.index.equals(first.index)
    assert opened == []  # every row came from the cache: no file read, hashed or decoded again
