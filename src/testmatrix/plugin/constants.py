"""Module-level string constants a test or its fixtures name, read from the source.

vLLM holds many models in constants (`MODEL_NAME = "org/x"`) that the test body or a
fixture uses, not in parameters. Reading them statically (`ast`, no import, no
evaluation) finds those models; each file is parsed once per process.
"""

from __future__ import annotations

import ast
import functools
import os
from collections.abc import Callable, Iterable

import pytest

# a constant's string values, with its name and "file:line"
Found = tuple[tuple[str, str, str], ...]
_MAX_SOURCE = 4_000_000  # bytes: a generated test file larger than this is not read


def _strings(node: ast.expr | None) -> tuple[str, ...]:
    """A string constant's value, or a list's or tuple's string items."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(
            e.value
            for e in node.elts
            if isinstance(e, ast.Constant) and isinstance(e.value, str)
        )
    return ()


def _constants(tree: ast.Module) -> dict[str, tuple[tuple[str, ...], int]]:
    """NAME: (its string values, its line) for the module's top-level assignments."""
    found: dict[str, tuple[tuple[str, ...], int]] = {}
    for stmt in tree.body:
        value: ast.expr | None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            targets, value = [stmt.target], stmt.value
        else:
            continue
        values = _strings(value)
        for target in targets:
            if isinstance(target, ast.Name) and values:
                found[target.id] = (values, stmt.lineno)
    return found


def _functions(tree: ast.Module) -> Iterable[tuple[str, ast.AST]]:
    """(qualified name, function) for module functions and class methods."""
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield stmt.name, stmt
        elif isinstance(stmt, ast.ClassDef):
            for inner in stmt.body:
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{stmt.name}.{inner.name}", inner


def module_uses(filename: str, shown: str) -> dict[str, Found]:
    """Each function of a file: the module constants its body names (the file is
    parsed once while it is unchanged; `shown` is the path messages give)."""
    try:
        stat = os.stat(filename)
    except OSError:
        return {}
    return _module_uses(filename, shown, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _module_uses(filename: str, shown: str, mtime: int, size: int) -> dict[str, Found]:
    try:
        if size > _MAX_SOURCE:
            return {}
        with open(filename, "rb") as handle:
            tree = ast.parse(handle.read(), filename)
    except (OSError, SyntaxError, ValueError):
        return {}  # pytest reports a file it cannot import; nothing to read here
    constants = _constants(tree)
    if not constants:
        return {}
    out: dict[str, Found] = {}
    for name, function in _functions(tree):
        body = getattr(function, "body", [])
        used = {
            node.id
            for stmt in body
            for node in ast.walk(stmt)
            if isinstance(node, ast.Name) and node.id in constants
        }
        out[name] = tuple(
            (value, const, f"{shown}:{constants[const][1]}")
            for const in sorted(used)
            for value in constants[const][0]
        )
    return out


def _function_key(function: object) -> tuple[str, str] | None:
    """(file, qualified name) of a Python function, for module_uses."""
    code = getattr(function, "__code__", None)
    qualname = getattr(function, "__qualname__", None)
    if code is None or not isinstance(qualname, str):
        return None
    return code.co_filename, qualname.replace(".<locals>", "")


class ConstantReader:
    """The module constants each test function and the fixtures it requests name;
    worked out once per test function (its parametrizations share them).
    `shown(file)`: the path messages give, None for files outside the workspace
    (pytest's and plugins' fixtures), which are not read."""

    def __init__(self, shown: Callable[[str], str | None]):
        self._shown = shown
        self._by_function: dict[tuple[int, str], tuple[object, Found]] = {}
        # by code object (a fixture serves many functions), and by file: within one
        # collection each file is looked at once, not once per function
        self._by_code: dict[object, Found] = {}
        self._modules: dict[str, dict[str, Found]] = {}

    def _uses(self, function: object) -> Found:
        code = getattr(function, "__code__", None)
        found = self._by_code.get(code) if code is not None else None
        if found is not None:
            return found
        key = _function_key(function)
        if key is None:
            return ()
        filename, qualname = key
        module = self._modules.get(filename)
        if module is None:
            shown = self._shown(filename)
            module = {} if shown is None else module_uses(filename, shown)
            self._modules[filename] = module
        found = module.get(qualname, ())
        self._by_code[code] = found
        return found

    def read(self, item: pytest.Item) -> Found:
        function = getattr(item, "function", None)
        if function is None:
            return ()
        parent = item.parent
        key = (id(parent), getattr(item, "originalname", item.name))
        cached = self._by_function.get(key)
        if cached is not None:  # the entry holds the parent: its id is its own
            return cached[1]
        found: dict[tuple[str, str, str], None] = dict.fromkeys(self._uses(function))
        info = getattr(item, "_fixtureinfo", None)  # pytest's, on every Function
        for defs in getattr(info, "name2fixturedefs", {}).values():
            if defs:  # the definition that applies here is the last
                found.update(dict.fromkeys(self._uses(defs[-1].func)))
        result = tuple(found)
        self._by_function[key] = (parent, result)
        return result
