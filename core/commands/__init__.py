"""Sub-commands of ``python -m core``, one module per topic; each exposes ``register(subparsers)``."""
import json
import re
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
