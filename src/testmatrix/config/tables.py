"""The shape of a skiplist file's declaration: tables of keys, the rules between keys,
[KEY.NAME] and [[KEY]] tables, and the documents (one kind of file each)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from testmatrix.config.kinds import Fail, Kind, Pattern


@dataclass(frozen=True, eq=False)
class Key:
    """One key of a table: its kind, what it means (a sentence), whether it must be
    given (`missing`: the message when not), and its value when absent (None: unset,
    or a default `meaning` describes, computed where the model is built)."""

    kind: Kind | Table | MapOf | ArrayOf
    meaning: str
    required: bool = False
    default: Any = None
    missing: str | None = None


@dataclass(frozen=True, eq=False)
class OneOf:
    """Exactly one of two keys; with `unless`, at most one where that key is given
    (or, `unless` = "", at most one always)."""

    first: str
    second: str
    unless: str | None = None

    def check(self, data: dict, at: tuple, label: str, report: Fail) -> None:
        if self.first in data and self.second in data:
            both = f"'{self.first}' and '{self.second}'"
            report(at + (self.second,), f"{label} gives both {both}: use one")
        elif self.first not in data and self.second not in data:
            if self.unless is None:
                report(at, f"{label} has no '{self.first}' (or '{self.second}')")
            elif self.unless and self.unless not in data:
                report(
                    at,
                    f"{label} has no '{self.first}' (or '{self.second}', or "
                    f"'{self.unless}')",
                )

    def json(self) -> dict[str, Any]:
        both = {"required": [self.first, self.second]}
        if self.unless == "":
            return {"not": both}
        if self.unless is not None:
            keys = (self.first, self.second, self.unless)
            return {"not": both, "anyOf": [{"required": [k]} for k in keys]}
        return {"oneOf": [{"required": [self.first]}, {"required": [self.second]}]}


@dataclass(frozen=True, eq=False)
class AnyOf:
    """At least one of two keys; `message` from {label}."""

    first: str
    second: str
    message: str = "{label} has no '{first}' (or '{second}')"

    def check(self, data: dict, at: tuple, label: str, report: Fail) -> None:
        if self.first not in data and self.second not in data:
            text = self.message.format(
                label=label, first=self.first, second=self.second
            )
            report(at, text)

    def json(self) -> dict[str, Any]:
        return {"anyOf": [{"required": [self.first]}, {"required": [self.second]}]}


@dataclass(frozen=True, eq=False)
class Requires:
    """A key that makes sense only with another; `message` from {label}."""

    key: str
    needed: str
    message: str
    unless: str | None = None  # a key that may give `needed` instead (a group)

    def check(self, data: dict, at: tuple, label: str, report: Fail) -> None:
        if self.unless is not None and self.unless in data:
            return  # checked where the other table's keys are known
        if self.key in data and self.needed not in data:
            report(at + (self.key,), self.message.format(label=label))

    def json(self) -> dict[str, Any]:
        rule = {"dependencies": {self.key: [self.needed]}}
        if self.unless is None:
            return rule
        return {"if": {"not": {"required": [self.unless]}}, "then": rule}


Rule = OneOf | AnyOf | Requires


@dataclass(frozen=True, eq=False)
class Table:
    """A table's keys, the rules between them, and keys that belong elsewhere."""

    meaning: str
    keys: Mapping[str, Key]
    rules: tuple[Rule, ...] = ()
    elsewhere: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class MapOf:
    """[KEY.NAME] tables, each of `table`; `noun` names one, `names` checks names."""

    table: Table
    noun: str
    names: Pattern | None = None


@dataclass(frozen=True, eq=False)
class ArrayOf:
    """[[KEY]] tables, each of `table`."""

    table: Table


@dataclass(frozen=True, eq=False)
class Document:
    """One kind of skiplist file: where it lives and its top-level tables."""

    name: str  # the schema's file stem
    path: str  # where it lives in the workspace (a glob for platforms)
    root: Table
