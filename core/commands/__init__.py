"""Sub-commands of ``python -m core``, one module per topic; each exposes ``register(subparsers)``."""
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

MODULES = ("core.commands.data", "core.commands.train", "core.commands.evaluate", "core.commands.predict",
           "core.commands.digitize", "core.commands.bench", "core.commands.models_io")


def print_json(obj) -> None:
    """One JSON object per line, flushed so a reader sees each line as it is produced."""
    print(json.dumps(obj, default=str), flush=True)


def output_path(out_dir: Path, image: str, suffix: str, used: set[str]) -> Path:
    """A file in ``out_dir`` named after ``image`` (``<stem><suffix>``), never one already ``used``
    in this run: two inputs with the same stem from different folders must not overwrite each other."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(image).stem) or "image"
    name, n = f"{stem}{suffix}", 1
    while name in used:
        n += 1
        name = f"{stem}{n}{suffix}"
    used.add(name)
    return out_dir / name


EXIT_SOME_FAILED = 1


def for_each_image(images: list[str], handle: Callable[[str], dict], describe: Callable[[dict], str], *,
                   as_json: bool) -> int:
    """Run ``handle`` on every image and print its row (JSON, or ``describe``'s line). A file the user
    can fix (not an image, missing, too large) gives ``{"file", "error"}`` on stderr and the others
    still run; returns 1 when any failed, else 0."""
    from core.errors import USER_ERRORS

    failed = 0
    for image in images:
        try:
            row = handle(image)
        except USER_ERRORS as exc:
            failed += 1
            row = {"file": image, "error": str(exc)}
        if as_json:
            print_json(row)
        elif "error" in row:
            print(f"{image}: error: {row['error']}", file=sys.stderr, flush=True)
        else:
            print(describe(row), flush=True)
    return EXIT_SOME_FAILED if failed else 0
