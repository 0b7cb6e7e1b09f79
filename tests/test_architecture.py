"""The shape of the code: imports run one way (kotacerdas ← assets ← sensors ← pipelines) and no module imports
itself back through others. Read from the source with `ast`, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("kotacerdas", "assets", "sensors", "pipelines")  # each may import only those before it
PACKAGES = set(LAYERS)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in sorted((REPO / layer).rglob("*.py"))}


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports: `from a.b import c` counts as a.b.c when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] in PACKAGES)
    found.discard(name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def test_imports_run_one_way_from_pipelines_down_to_the_library(graph):
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = [
        f"{mod} imports {dep}"
        for mod, deps in graph.items()
        for dep in deps
        if rank[dep.split(".")[0]] > rank[mod.split(".")[0]]
    ]
    assert upward == []


def test_the_core_library_never_imports_dagster():
    offenders = []
    for path in sorted((REPO / "kotacerdas").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0].startswith("dagster")]
    assert offenders == []


def test_no_import_cycle_in_any_package(graph):
    """A package's __init__ re-exporting its modules is not a cycle; a module importing back its importer is."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def edges(mod: str) -> list[str]:
        # a module reaching its own package's __init__ (or an ancestor's) is how re-exports load, not a cycle
        return sorted(d for d in graph[mod] if d in graph and not mod.startswith(d + "."))

    def visit(mod: str, stack: list[str]) -> None:
        state[mod] = 1
        for dep in edges(mod):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[mod] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    assert [" → ".join(c) for c in cycles] == []
