"""The built-in dataset's pages stay byte-identical: the shipped models were trained on them.

The hashes were computed on the code before the truth-page generator was added (commit 8b2432f),
once with the Liberation fonts installed and once with only DejaVu. They cover the SE-3 template
and the other carts' styles (3x4, 3x4+1, 3x4+3; block, band and no header), scans and photos,
non-ECG images, and one page at the default size. They also depend on Pillow's drawing, so a new
Pillow may move them: then regenerate them on the old code first, never on the new one.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from core.synth import render_example
from core.synth.layout import load_font

SMALL = (553, 393)
CASES = (
    ("Myocardial Infarction", 0),     # se3, scan
    ("Abnormal Heartbeat", 2),        # no header, 3x4+1, scan
    ("Normal", 3),                    # se3, photo
    ("Myocardial Infarction", 4),     # band, 3x4+1, photo
    ("Normal", 11),                   # band, 3x4, photo
    ("Myocardial Infarction", 16),    # no header, 3x4+3, scan
    ("Normal", 31),                   # block, 3x4, photo
    ("History of MI", 49),            # band, 3x4+1, scan
    ("Abnormal Heartbeat", 62),       # band, 3x4+3, scan
    ("Non-ECG", 0),
    ("Non-ECG", 11),
    ("History of MI", 61),            # block header, 3x4+1, scan; drawn at the default size
)
# Per font the pages are printed with (load_font takes Liberation when installed, else DejaVu).
PINNED = {
    "LiberationSerif-Regular.ttf": (
        "c7404162287fdadbdeef", "409371007eb409b8efbb", "546dd5e9955a9ff20fd5", "8a003103c94e99d92b30",
        "75a89c3cd3b57c70b164", "44954a96699ae19c1521", "e3625533014b9252c11a", "466107865fe6184a78cd",
        "ef0ca130293b3f022711", "7173072132003d92150d", "7b2cfed7e133784facf0", "c85935b14644cc6eed88"),
    "DejaVuSerif.ttf": (
        "7241ef29504a1fc53467", "70280ac098e3e95c5872", "4dcb34a2de181b2dae79", "affe9c5f3366da23595d",
        "bc75a6fd6bde1d2894b5", "a28a3370f5ad9a94ff19", "0203f8d633725ce1d62a", "0a076e48c606a1fac22f",
        "7821e51e49784381de3a", "7173072132003d92150d", "7b2cfed7e133784facf0", "31f2c565ea985fdb3bb7"),
}


def _font_in_use() -> str:
    return Path(getattr(load_font("serif", 20), "path", "builtin")).name


def _digest(cls: str, seed: int, **kwargs) -> str:
    image, row = render_example(cls, seed, **kwargs)
    return hashlib.sha256(image.tobytes() + json.dumps(row, sort_keys=True).encode()).hexdigest()[:20]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_builtin_pages_are_byte_identical(case):
    font = _font_in_use()
    if font not in PINNED:
        pytest.skip(f"no pinned hashes for pages printed in {font}")
    cls, seed = CASES[case]
    size = {} if case == len(CASES) - 1 else {"page_size": SMALL}
    assert _digest(cls, seed, **size) == PINNED[font][case]
