"""Errors a user can cause and fix (bad files, folders, models, settings, a full disk).

Every such error is a ``ValueError`` or ``OSError`` whose message says what went wrong and what to
do; the CLI and the pages show that message instead of a traceback.
"""
from __future__ import annotations

import errno
import os


class WeightsUnavailable(ValueError):
    """ImageNet weights for a transfer model are not on this machine (and cannot be downloaded)."""


USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError)

# A quota that is used up reads to the user exactly like a full disk.
_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(OSError):
    """A write failed on a full disk; the message says what could not be written and what to do."""


def is_disk_full(exc: BaseException) -> bool:
    """True for the write errors a full disk (or a used-up quota) raises."""
    return isinstance(exc, DiskFull) or (isinstance(exc, OSError) and exc.errno in _FULL)


def write_failure(exc: OSError, folder: str | os.PathLike) -> str:
    """Why a write into ``folder`` failed, in words a user can act on."""
    if is_disk_full(exc):
        return f"the disk holding {os.fspath(folder)} is full: free some space and try again"
    return f"{exc.strerror or exc} ({os.fspath(folder)})"
