"""Check a parsed skiplist file against its declaration: every problem located, the
values converted and defaults filled in."""

from __future__ import annotations

import json
import re
from typing import Any

from testmatrix.config import tomlpos
from testmatrix.config.kinds import Kind, show
from testmatrix.config.tables import ArrayOf, Document, Key, MapOf, Table
from testmatrix.errors import Problem, did_you_mean


def _bare(name: str) -> str:
    """A key as a table header writes it."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _header(label: str | None, name: str) -> str:
    """[suites.pooling] from [suites] and 'pooling'; [workspace] at the top."""
    if label is None:
        return f"[{_bare(name)}]"
    if not label.endswith("]"):  # inside an array entry: "'fails' in [[skip]] entry"
        return f"'{name}' in {label}"
    return f"{label[:-1]}.{_bare(name)}]"


def _expected(root: Table) -> str:
    """'[platform], [variants.NAME], [[ignore]] or [[skip]]': a file's tables."""
    tables = []
    for name, key in root.keys.items():
        if isinstance(key.kind, MapOf):
            tables.append(f"[{name}.NAME]")
        elif isinstance(key.kind, ArrayOf):
            tables.append(f"[[{name}]]")
        else:
            tables.append(f"[{name}]")
    if len(tables) == 1:
        return tables[0]
    return ", ".join(tables[:-1]) + f" or {tables[-1]}"


def _absent(key: Key) -> Any:
    if isinstance(key.kind, Table):
        return {name: _absent(k) for name, k in key.kind.keys.items()}
    if isinstance(key.kind, MapOf):
        return {}
    if isinstance(key.kind, ArrayOf):
        return []
    if isinstance(key.default, list):
        return tuple(key.default)
    return key.default


class Checker:
    """Walks one parsed file against its declaration, collecting located problems."""

    def __init__(self, file: str, positions: dict[tuple, int]):
        self.file = file
        self.positions = positions
        self.problems: list[Problem] = []

    def report(self, at: tuple, message: str) -> None:
        line = tomlpos.line_of(self.positions, *at)
        self.problems.append(Problem(self.file, line, message))

    def document(self, document: Document, data: dict) -> dict[str, Any]:
        return self.table(document.root, data, (), None)

    def table(
        self, decl: Table, data: dict, at: tuple, label: str | None
    ) -> dict[str, Any]:
        """The table's values: converted where valid, else (and where absent) the
        declared default; nested tables as dicts, [x.NAME] as {name: dict},
        [[x]] as [(index, dict)]."""
        values: dict[str, Any] = {}
        for name, value in data.items():  # in the file's order
            key = decl.keys.get(name)
            if key is None:
                self.report(at + (name,), self.unknown(decl, name, label))
                continue
            value = self.value(key, name, value, at + (name,), label)
            values[name] = _absent(key) if value is None else value
        # then what is missing: often the consequence of a misspelt key above
        for name, key in decl.keys.items():
            if name not in data:
                if key.required:
                    self.report(at, key.missing or f"{label} has no '{name}'")
                values[name] = _absent(key)
        for rule in decl.rules:
            rule.check(data, at, label or "", self.report)
        return values

    def unknown(self, decl: Table, name: str, label: str | None) -> str:
        if label is None:
            hint = did_you_mean(name, decl.keys)
            return f"unknown table '{name}'{hint}; expected {_expected(decl)}"
        if name in decl.elsewhere:
            return (
                f"'{name}' does not belong in {label}: set it in {decl.elsewhere[name]}"
            )
        hint = did_you_mean(name, decl.keys)
        known = "" if hint else f"; known: {', '.join(decl.keys)}"
        return f"unknown key '{name}' in {label}{hint}{known}"

    def value(
        self, key: Key, name: str, value: object, at: tuple, label: str | None
    ) -> Any:
        subject = f"'{name}'" if label is None else f"'{name}' in {label}"
        kind = key.kind
        if isinstance(kind, Kind):

            def fail(path: tuple, message: str) -> None:
                self.report(at + path, message)

            return kind.convert(value, subject, fail)
        if isinstance(kind, ArrayOf):
            if not isinstance(value, list) or not all(
                isinstance(v, dict) for v in value
            ):
                self.report(
                    at, f"'{name}' must be an array of tables: write [[{name}]]"
                )
                return None
            entry = f"[[{name}]] entry"
            return [
                (i, self.table(kind.table, v, at + (i,), entry))
                for i, v in enumerate(value)
            ]
        if not isinstance(value, dict):
            self.report(at, f"{subject} must be a table, got {show(value)}")
            return None
        header = _header(label, name)
        if isinstance(kind, Table):
            return self.table(kind, value, at, header)
        if key.required and not value:
            self.report(at, key.missing or f"{header} declares no {kind.noun}")
        tables: dict[str, dict[str, Any]] = {}
        for item, table in value.items():
            if kind.names is not None and not kind.names.accepts(item):
                rule = "must be lower-case letters, digits, '-' or '_'"
                self.report(at + (item,), f"{kind.noun} name '{item}' {rule}")
            if not isinstance(table, dict):
                got = show(table)
                self.report(
                    at + (item,), f"'{item}' in {header} must be a table, got {got}"
                )
                continue
            tables[item] = self.table(
                kind.table, table, at + (item,), _header(header, item)
            )
        return tables


def check(
    document: Document, data: dict, file: str, positions: dict[tuple, int]
) -> tuple[dict[str, Any], list[Problem]]:
    """A parsed file's values (converted, defaults filled in) and its problems."""
    checker = Checker(file, positions)
    return checker.document(document, data), checker.problems
