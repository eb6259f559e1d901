"""The architecture as a test: core's stages import only downwards, core never imports Streamlit,
and the page modules import each other without a cycle."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from core import STAGES

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINTS = {"core.cli", "core.__main__"}   # the command line's top: ranked with ``commands``


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, package: str) -> set[str]:
    """Every module a module of ``package`` imports in ``source``, at the top or inside functions,
    as dotted names (``from core import runs`` also gives ``core.runs``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    name = module_name(path)
    return imports_in(path.read_text(), name if path.name == "__init__.py" else name.rpartition(".")[0])


def rank(module: str) -> int:
    """-1 for core's top-level modules, else the stage's place in ``core.STAGES``."""
    if module in ENTRY_POINTS:
        return STAGES.index("commands")
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else -1


def core_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((REPO / "core").rglob("*.py"))}


def test_the_stage_order_names_every_sub_package():
    packages = {p.parent.name for p in (REPO / "core").glob("*/__init__.py")}
    assert packages == set(STAGES)


def test_no_stage_imports_a_later_stage():
    modules = core_modules()
    upward = []
    for name, path in modules.items():
        for target in imports_of(path):
            if target.split(".")[0] == "core" and rank(target) > rank(name):
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_core_never_imports_streamlit():
    offenders = [name for name, path in core_modules().items()
                 if any(t == "streamlit" or t.startswith("streamlit.") for t in imports_of(path))]
    assert offenders == []


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_page_modules_import_each_other_without_a_cycle():
    pages = {module_name(p): p for p in (REPO / "pages").glob("*.py")}
    graph = {name: {t for t in imports_of(path) if t in pages} for name, path in pages.items()}
    assert find_cycle(graph) is None


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert find_cycle(graph) == expected


def test_the_layer_check_sees_upward_and_relative_imports():
    """What the order forbids must be visible to the check: a lazy import inside a function, and a
    relative import resolved to its stage."""
    found = imports_in("def f():\n    from core.use import analyse_image\n", "core.learn")
    assert "core.use" in found and rank("core.use") > rank("core.learn.training")
    assert "core.ecg.crop" in imports_in("from .crop import find_grid_box\n", "core.ecg")
    assert rank("core.cli") == rank("core.commands.train") > rank("core.bench.suite")
    assert rank("core.paths") == -1


@pytest.mark.parametrize("stage", [s for s in STAGES if s != "commands"])
def test_every_public_name_of_a_stage_resolves(stage):
    """A face that lists a renamed or removed name fails here, not in a user's page."""
    package = importlib.import_module(f"core.{stage}")
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert package.__all__ and missing == []
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        package.not_a_name


def test_importing_a_stage_loads_none_of_its_modules():
    """The faces are lazy: ``import core.learn`` must not pull Keras in (the first page depends on it)."""
    probe = "import sys, core.learn, core.use, core.data; print(sorted(m for m in ('keras', 'pandas', 'core.learn.training') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
