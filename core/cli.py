"""``python -m core``: the lab's command line.

Every sub-command is a thin wrapper over the same core functions the pages use. Expected
failures (bad files, bad folders, bad models) print one clear ``error:`` line and exit with 2;
they never print a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from core.commands import MODULES
from core.errors import USER_ERRORS

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="ECG Image Lab command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; expected errors become one ``error:`` line and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        logging.getLogger("core").debug("command failed", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted: nothing was saved", file=sys.stderr)
        return 130
