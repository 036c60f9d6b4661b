"""Removes one in-code skip from a test file with libcst, a concrete syntax tree that
keeps every comment and every byte of format it does not touch: a decorator, a
pytest.param mark, a pytestmark element, or an `if <condition>: pytest.skip(...)`
block; then the imports that only it used."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from testmatrix.errors import TestmatrixError


class _Remove(cst.CSTTransformer):
    """Removes the node that starts at (line, column) from its container, and a
    container the removal leaves empty (a marks= list, a pytestmark list, an if)."""

    # The leave_ methods return Any: libcst's typed stubs do not let a starred list
    # element be removed, which its runtime does.
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, line: int, column: int):
        super().__init__()
        self.at = (line, column)
        self.removed: list[cst.CSTNode] = []
        self.gone: set[int] = set()  # ids of every original node removed

    def _here(self, node: cst.CSTNode) -> bool:
        start = self.get_metadata(PositionProvider, node).start
        return (start.line, start.column) == self.at

    def _take(self, node: cst.CSTNode) -> cst.RemovalSentinel:
        self.removed.append(node)
        return self._drop(node)

    def _drop(self, node: cst.CSTNode) -> cst.RemovalSentinel:
        self.gone.add(id(node))
        return cst.RemoveFromParent()

    # -- the skip itself ---------------------------------------------------------
    def leave_Decorator(self, original: cst.Decorator, updated: cst.Decorator) -> Any:
        return self._take(original) if self._here(original.decorator) else updated

    def leave_Element(self, original: cst.Element, updated: cst.Element) -> Any:
        return self._take(original) if self._here(original.value) else updated

    def leave_StarredElement(
        self, original: cst.StarredElement, updated: cst.StarredElement
    ) -> Any:
        if self._here(original) or self._here(original.value):
            return self._take(original)
        return updated

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> Any:
        if original.keyword is None or original.keyword.value != "marks":
            return updated
        if self._here(original.value):
            return self._take(original)
        if _emptied(original.value, updated.value):
            return self._drop(original)
        return updated

    def leave_If(self, original: cst.If, updated: cst.If) -> Any:
        if self._here(original):
            if original.orelse is not None:
                raise TestmatrixError(
                    "the if block that holds the skip has an else branch: remove "
                    "it by hand"
                )
            return self._take(original)
        return _if_without_empty(original, updated)

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> Any:
        statement = original.body[0] if len(original.body) == 1 else None
        if isinstance(statement, cst.Expr) and self._here(statement.value):
            return self._take(original)  # a pytest.skip call in an else branch
        value = _pytestmark_value(statement)
        if value is not None:
            if self._here(value):
                return self._take(original)
            new = _pytestmark_value(updated.body[0])
            if new is not None and _emptied(value, new):
                return self._drop(original)
        return updated

    # -- what a removal leaves ---------------------------------------------------
    def leave_List(self, original: cst.List, updated: cst.List) -> Any:
        return updated.with_changes(
            elements=self._last_comma(original.elements, updated.elements)
        )

    def leave_Tuple(self, original: cst.Tuple, updated: cst.Tuple) -> Any:
        return updated.with_changes(
            elements=self._last_comma(original.elements, updated.elements)
        )

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> Any:
        return updated.with_changes(args=self._last_comma(original.args, updated.args))

    def _last_comma(self, before: Sequence, after: Sequence) -> Sequence:
        """Where the last item went, the new last one takes its comma (none, or a
        trailing one with the line break before the bracket): `[a, b]` less b is
        `[a]`, not `[a, ]`."""
        if not after or not before or id(before[-1]) not in self.gone:
            return after
        return (*after[:-1], after[-1].with_changes(comma=before[-1].comma))

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> Any:
        return updated.with_changes(body=_not_empty(original.body, updated.body))

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> Any:
        return updated.with_changes(body=_not_empty(original.body, updated.body))


def _emptied(before: cst.BaseExpression, after: cst.BaseExpression) -> bool:
    """A list or tuple the removal emptied."""
    kinds = (cst.List, cst.Tuple)
    return (
        isinstance(before, kinds)
        and isinstance(after, kinds)
        and bool(before.elements)
        and not after.elements
    )


def _pytestmark_value(
    statement: cst.BaseSmallStatement | None,
) -> cst.BaseExpression | None:
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
    elif isinstance(statement, (cst.AnnAssign, cst.AugAssign)):
        target = statement.target
    else:
        return None
    if isinstance(target, cst.Name) and target.value == "pytestmark":
        return statement.value
    return None


def _if_without_empty(original: cst.If, updated: cst.If) -> Any:
    """An if whose branch the removal emptied: the if goes, or its else does."""
    orelse = updated.orelse
    if isinstance(orelse, cst.Else) and not orelse.body.body:
        updated = updated.with_changes(orelse=None)
    if original.body.body and not updated.body.body:
        if updated.orelse is not None:
            raise TestmatrixError(
                "the if block that holds the skip has an else branch: remove it by hand"
            )
        return cst.RemoveFromParent()
    return updated


def _not_empty(before: cst.BaseSuite, after: cst.BaseSuite) -> cst.BaseSuite:
    """A body the removal emptied holds `pass`."""
    if isinstance(after, cst.IndentedBlock) and before.body and not after.body:
        return after.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
    return after


def remove(source: str, line: int, column: int) -> tuple[str, list[str]]:
    """The source without the skip at (line, column): (new source, imported names
    dropped because nothing else uses them)."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise TestmatrixError(f"libcst cannot parse the file: {exc.message}") from None
    remover = _Remove(line, column)
    changed = MetadataWrapper(module).visit(remover)
    if not remover.removed:
        raise TestmatrixError(
            f"no decorator, mark, pytestmark element or if block starts at line "
            f"{line}, column {column + 1}: this form is not migrated; edit it by hand"
        )
    names = set()
    for node in remover.removed:
        names |= _names(module.code_for_node(node))
    unused = names - _names(changed.code)
    dropped: list[str] = []
    if unused:
        pruner = _PruneImports(unused)
        changed = changed.visit(pruner)
        dropped = sorted(pruner.dropped)
    return _no_leading_blanks(module, changed).code, dropped


def _no_leading_blanks(before: cst.Module, after: cst.Module) -> cst.Module:
    """A file whose first statements went does not start with their blank lines."""
    if not after.body or after.header or before.code.startswith("\n"):
        return after
    first = after.body[0]
    lines = getattr(first, "leading_lines", ())
    if lines and all(line.comment is None for line in lines):
        first = first.with_changes(leading_lines=[])
        return after.with_changes(body=[first, *after.body[1:]])
    return after


def _names(code: str) -> set[str]:
    """The names a piece of code reads (an attribute's root included): a statement,
    a decorator, an argument or a list element."""
    text = code.strip().rstrip(",")
    for candidate in (text, f"{text}\ndef _(): pass", f"_({text})", f"[{text}]"):
        try:
            tree = ast.parse(candidate)
        except SyntaxError:
            continue
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {"_"}
    return set()


class _PruneImports(cst.CSTTransformer):
    """Drops imported names (module level) that nothing uses any more."""

    def __init__(self, unused: set[str]):
        super().__init__()
        self.unused = unused
        self.dropped: set[str] = set()
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def leave_ImportFrom(
        self, original: cst.ImportFrom, updated: cst.ImportFrom
    ) -> Any:
        if isinstance(updated.names, cst.ImportStar):
            return updated
        return self._prune(updated, list(updated.names))

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> Any:
        return self._prune(updated, list(updated.names))

    def _prune(self, node: cst.Import | cst.ImportFrom, names: list) -> Any:
        keep = []
        for alias in names:
            bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
            if bound in self.unused:
                self.dropped.add(bound)
            else:
                keep.append(alias)
        if len(keep) == len(names):
            return node
        if not keep:
            return cst.RemoveFromParent()  # an import of nothing else
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(names=keep)
