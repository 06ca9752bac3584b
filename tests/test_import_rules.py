"""The floor plan, read from the code: flows over reports over sources and warehouse, no cycles, no
Prefect below flows, and the publisher emulation (`sources.replay`) reached only from `eim demo`.

Imports are read with `ast` from every module of the four packages, function-local ones included, so
a lazy import cannot slip past the rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("flows", "reports", "sources", "warehouse")
# What each layer may import from the project; a layer never imports one above it.
ALLOWED = {
    "flows": {"flows", "reports", "sources", "warehouse"},
    "reports": {"reports", "warehouse"},
    "sources": {"sources"},
    "warehouse": {"warehouse"},
}
# The emulation serves the demo; the real code path never reaches it.
REPLAY_IMPORTERS = {"flows.cli"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from reports.delivery import subscribers` imports the module reports.delivery.subscribers
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    return {name: {i for i in _imports(path) if i in modules} for name, path in modules.items()}, {
        name: _imports(path) for name, path in modules.items()
    }


GRAPH, ALL_IMPORTS = _graph()


def test_the_graph_covers_every_package() -> None:
    assert {name.split(".")[0] for name in GRAPH} == set(PACKAGES)
    assert len(GRAPH) > 40


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_layer_imports_one_above_it(module: str) -> None:
    layer = module.split(".")[0]
    upward = sorted(i for i in GRAPH[module] if i.split(".")[0] not in ALLOWED[layer])
    assert upward == [], f"{module} imports {upward}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if not m.startswith("flows")))
def test_nothing_below_flows_imports_prefect(module: str) -> None:
    assert not any(i == "prefect" or i.startswith("prefect.") for i in ALL_IMPORTS[module])


def test_only_the_demo_reaches_the_replay_servers() -> None:
    importers = {
        module
        for module, imported in GRAPH.items()
        if not module.startswith("sources.replay") and any(i.startswith("sources.replay") for i in imported)
    }
    assert importers == REPLAY_IMPORTERS


def test_there_are_no_import_cycles() -> None:
    # Module-level cycles between packages' modules (a package's `__init__` importing its children
    # is not one): depth-first search with colours.
    graph = {m: {i for i in deps if i != m and not m.startswith(i + ".")} for m, deps in GRAPH.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target] if target in trail else [target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
