"""Writing cache files: atomically, and never failing the work they only speed up.

Every cache in the lab (the dataset index, prepared network inputs, digitised signals) can be
rebuilt from the images, so a cache write that fails — a full disk, a read-only folder — is
logged and skipped: the scan or training that asked for it goes on with what it computed, and
the previous cache file, if any, stays as it was. Readers treat an entry that does not parse
as missing, which rebuilds it.
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from core.errors import write_failure

log = logging.getLogger(__name__)


def write_cache_file(path: Path, write: Callable[[Path], None]) -> bool:
    """Call ``write(temp)`` for a temporary sibling of ``path`` and rename it over ``path``.

    Returns False (after logging why, and removing the temporary file) when any of it fails.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
        return True
    except OSError as exc:
        log.warning("cache file %s not written, %s; it will be rebuilt when next needed",
                    path.name, write_failure(exc, path.parent))
        return False
    finally:
        tmp.unlink(missing_ok=True)
