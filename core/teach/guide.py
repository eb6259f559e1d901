"""Short explanations for students of what each class looks like on an ECG (kept as data in assets/)."""
from __future__ import annotations

import json
from functools import lru_cache

from core.paths import ASSETS_DIR


@lru_cache(maxsize=1)
def class_guide() -> dict[str, dict[str, str]]:
    """``{class: {"looks_like": ..., "where_to_look": ...}}`` from ``assets/class_guide.json``."""
    return json.loads((ASSETS_DIR / "class_guide.json").read_text(encoding="utf-8"))


def explain_class(name: str) -> dict[str, str]:
    """The guide entry for ``name``; classes outside the canonical five get a neutral note."""
    return class_guide().get(name, {
        "looks_like": f"'{name}' is not one of the lab's canonical classes, so there is no built-in "
                      "description of it.",
        "where_to_look": "Compare its pages with the other classes in the gallery.",
    })
