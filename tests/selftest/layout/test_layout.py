"""The package's shape, read from its code: modules of one job stay small, functions
stay short, and no import cycle forms, counting imports inside functions and under
TYPE_CHECKING (the layer order itself is import-linter's contract, `nox -s check`)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from selftest.helpers import REPO

SRC = REPO / "src" / "testmatrix"
MODULES = sorted(SRC.rglob("*.py"))
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


@functools.cache
def _tree(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once for every test here (they only read it)."""
    return ast.parse(path.read_text(encoding="utf-8"))


def _name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_is_over_600_lines():
    long = {
        str(p.relative_to(REPO)): n
        for p in MODULES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_80_lines():
    long = []
    for path in MODULES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}")
    assert long == []


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every testmatrix module `path` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            # `from package import module` imports the module (as grimp reads it)
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                for a in node.names
            ]
        else:
            continue
        found |= {t for t in targets if t in known}
    return found - {name}


def test_no_import_cycle():
    known = {_name(p) for p in MODULES}
    graph = {_name(p): _imports(p, _name(p), known) for p in MODULES}
    # a package's __init__ importing its own submodule is how packages work; the
    # reverse direction too would be a cycle, and is caught below
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize("layer", ["core"])
def test_the_core_imports_no_adapter_and_no_private_pytest(layer):
    for path in (SRC / layer).rglob("*.py"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("_pytest"), path
                if node.module.startswith("testmatrix."):
                    top = node.module.split(".")[1]
                    assert top in {"core", "errors", "jsonio"}, (path, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("_pytest"), path
