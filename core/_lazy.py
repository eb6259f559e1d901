"""Public faces of the stage sub-packages, loaded on first use.

Each sub-package's ``__init__`` lists its public names by module (scikit-learn's habit: the modules
are the inside, the package is the face). The names resolve lazily (PEP 562) so that
``from core.use import analyse_image`` loads only the prediction module and what it needs: several
modules import Keras or pandas at the top, and a page must not pay for a whole stage it does not use.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(package: str, modules: Mapping[str, Sequence[str]]) -> tuple[Callable, Callable, list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` whose ``modules`` map to their public names."""
    owner = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str):
        if name not in owner:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{owner[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(owner)

    return __getattr__, __dir__, sorted(owner)
