"""Errors a user can cause and fix (bad files, folders, models, settings).

Every such error is a ``ValueError`` or ``OSError`` whose message says what went wrong and what to
do; the CLI and the pages show that message instead of a traceback.
"""


class WeightsUnavailable(ValueError):
    """ImageNet weights for a transfer model are not on this machine (and cannot be downloaded)."""


USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError)
