"""Sub-commands of ``python -m core``, one module per topic; each exposes ``register(subparsers)``."""
import json

MODULES = ("core.commands.data", "core.commands.train", "core.commands.evaluate", "core.commands.predict",
           "core.commands.bench", "core.commands.models_io")


def print_json(obj) -> None:
    """One JSON object per line, flushed so a reader sees each line as it is produced."""
    print(json.dumps(obj, default=str), flush=True)
