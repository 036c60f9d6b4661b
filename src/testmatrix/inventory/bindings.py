"""What a test module's names hold, for reading its skip conditions: names bound
once, names gated by an `if`, imports under another name, and argument-less
predicate helpers, with the transformer that puts their values in place."""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator

Defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
ALIAS_DEPTH = 4  # names bound to names bound to ...: enough for real code


def imported_as(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """`from vllm.platforms import current_platform as cp`: cp is current_platform."""
    return {
        alias.asname: ast.Name(alias.name, ast.Load())
        for stmt in body
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
        if alias.asname and alias.asname != alias.name
    }


def bound_once(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """Names a block binds exactly once, by a plain assignment, at its own level
    (a name bound twice, or in a branch, has no one value to read)."""
    counts: dict[str, int] = {}
    for stmt in body:
        for node in walk_level(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
            elif isinstance(node, Defs):
                counts[node.name] = counts.get(node.name, 0) + 1
    out = {}
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name) and counts.get(target.id) == 1:
                out[target.id] = stmt.value
        elif (
            isinstance(stmt, ast.AnnAssign)
            and stmt.value is not None
            and isinstance(stmt.target, ast.Name)
            and counts.get(stmt.target.id) == 1
        ):
            out[stmt.target.id] = stmt.value
    return out


def bound_if(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """`X = False` then `if C: X = V` (no else, X bound nowhere else): X is `C and
    V`, the way vLLM gates a variant (`if ROCM: GFX950 = on_gfx950()`)."""
    first: dict[str, int] = {}
    for index, stmt in enumerate(body):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Constant)
            and stmt.value.value is False
        ):
            first.setdefault(stmt.targets[0].id, index)
    out: dict[str, ast.expr] = {}
    counts: dict[str, int] = {}
    for stmt in body:
        for node in walk_level(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
    for index, stmt in enumerate(body):
        if not isinstance(stmt, ast.If) or stmt.orelse:
            continue
        for inner in stmt.body:
            if (
                isinstance(inner, ast.Assign)
                and len(inner.targets) == 1
                and isinstance(inner.targets[0], ast.Name)
                and first.get(inner.targets[0].id, index) < index
                and counts.get(inner.targets[0].id) == 2
            ):
                out[inner.targets[0].id] = ast.BoolOp(
                    ast.And(), [stmt.test, inner.value]
                )
    return out


def walk_level(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a statement, not entering function or class bodies."""
    yield node
    if isinstance(node, Defs):
        return
    for child in ast.iter_child_nodes(node):
        yield from walk_level(child)


def helper(fn: ast.FunctionDef) -> ast.expr | None:
    """What a module's argument-less predicate helper returns, as one condition:
    `if not A: return False` guards and a final `return B` read as `A and B`."""
    if fn.args.args or fn.args.posonlyargs or fn.args.kwonlyargs or fn.args.vararg:
        return None
    parts: list[ast.expr] = []
    for stmt in fn.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # the docstring
        if isinstance(stmt, ast.If) and not stmt.orelse and len(stmt.body) == 1:
            ret = stmt.body[0]
            if (
                isinstance(ret, ast.Return)
                and isinstance(ret.value, ast.Constant)
                and ret.value.value is False
            ):
                parts.append(ast.UnaryOp(ast.Not(), stmt.test))
                continue
            return None
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            parts.append(stmt.value)
            return parts[0] if len(parts) == 1 else ast.BoolOp(ast.And(), parts)
        return None
    return None


class Resolve(ast.NodeTransformer):
    """Replaces names bound once (and calls of predicate helpers) by their values."""

    def __init__(self, names: dict[str, ast.expr], helpers: dict[str, ast.expr]):
        self.names, self.helpers, self.depth = names, helpers, 0

    def visit_Name(self, node: ast.Name) -> ast.AST:
        value = self.names.get(node.id)
        if value is None or self.depth >= ALIAS_DEPTH:
            return node
        self.depth += 1
        try:
            return self.visit(copy.deepcopy(value))
        finally:
            self.depth -= 1

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and not node.args and not node.keywords:
            value = self.helpers.get(node.func.id)
            if value is not None and self.depth < ALIAS_DEPTH:
                self.depth += 1
                try:
                    return self.visit(copy.deepcopy(value))
                finally:
                    self.depth -= 1
        return self.generic_visit(node)
