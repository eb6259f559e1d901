"""The page reader's answers remembered by image content, shared by every caller in the process.

Reading a full-size page costs about half a second on 2 cores. A classroom asks for the same few
pages again and again (the bundled examples, a re-run after a widget change, the Predict page and
its signals view), so a reading is kept per decoded image: the same pixels give the same reading,
whoever asks. The readings are shared, so callers must treat them as read-only.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from core.ecg.reader.reading import PageReading, PageSource, read_page, to_rgb

KEEP = 16          # readings kept (a reading holds the sheet at 5 px/mm: about 4 MB each)

_readings: OrderedDict[str, PageReading] = OrderedDict()
_lock = threading.Lock()      # Streamlit serves sessions from threads


def content_key(rgb: np.ndarray) -> str:
    """A digest of the pixels and their shape: equal for the same decoded page from any source."""
    digest = hashlib.blake2b(str(rgb.shape).encode(), digest_size=16)
    digest.update(np.ascontiguousarray(rgb).data)
    return digest.hexdigest()


def read_page_cached(image: PageSource) -> PageReading:
    """``read_page(image)``, remembered for the last :data:`KEEP` distinct images."""
    rgb = to_rgb(image)
    key = content_key(rgb)
    with _lock:
        if key in _readings:
            _readings.move_to_end(key)
            return _readings[key]
    # Read outside the lock: two sessions on different pages must not wait for each other.
    reading = read_page(rgb)
    with _lock:
        _readings[key] = reading
        while len(_readings) > KEEP:
            _readings.popitem(last=False)
    return reading


def clear() -> None:
    """Forget every reading (tests; a changed reader in a long-lived process)."""
    with _lock:
        _readings.clear()
