"""The built-in dataset's pages stay byte-identical: the shipped models were trained on them.

The hashes were computed before the truth-page generator was added (commit 8b2432f). They cover
the SE-3 template and the other carts' styles (3x4, 3x4+1, 3x4+3; block, band and no header),
scans and photos, non-ECG images, and one page at the default size. They depend on Pillow's
drawing and on the installed fonts, so a new Pillow or font package may move them too: then
regenerate them on the old code first, never on the new one.
"""
from __future__ import annotations

import hashlib
import json

import pytest

from core.synth import render_example

SMALL = (553, 393)
PINNED = (
    ("Myocardial Infarction", 0, "7241ef29504a1fc53467"),    # se3, scan
    ("Abnormal Heartbeat", 2, "70280ac098e3e95c5872"),       # no header, 3x4+1, scan
    ("Normal", 3, "4dcb34a2de181b2dae79"),                   # se3, photo
    ("Myocardial Infarction", 4, "affe9c5f3366da23595d"),    # band, 3x4+1, photo
    ("Normal", 11, "bc75a6fd6bde1d2894b5"),                  # band, 3x4, photo
    ("Myocardial Infarction", 16, "a28a3370f5ad9a94ff19"),   # no header, 3x4+3, scan
    ("Normal", 31, "0203f8d633725ce1d62a"),                  # block, 3x4, photo
    ("History of MI", 49, "0a076e48c606a1fac22f"),           # band, 3x4+1, scan
    ("Abnormal Heartbeat", 62, "7821e51e49784381de3a"),      # band, 3x4+3, scan
    ("Non-ECG", 0, "7173072132003d92150d"),
    ("Non-ECG", 11, "7b2cfed7e133784facf0"),
)


def _digest(cls: str, seed: int, **kwargs) -> str:
    image, row = render_example(cls, seed, **kwargs)
    return hashlib.sha256(image.tobytes() + json.dumps(row, sort_keys=True).encode()).hexdigest()[:20]


@pytest.mark.parametrize(("cls", "seed", "expected"), PINNED)
def test_builtin_pages_are_byte_identical(cls, seed, expected):
    assert _digest(cls, seed, page_size=SMALL) == expected


def test_a_default_size_builtin_page_is_byte_identical():
    assert _digest("History of MI", 61) == "31f2c565ea985fdb3bb7"    # block header, 3x4+1, scan
