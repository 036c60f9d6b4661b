"""Collected pytest items as planning's `TestCase` records."""

from __future__ import annotations

import dataclasses
import functools
import operator
import os
from pathlib import Path

import pytest

from testmatrix.core.fate import MarkerUse, TestCase
from testmatrix.core.models import ModelFinder
from testmatrix.plugin.constants import ConstantReader

# pytest's own marks never name models; reading their long argument lists is waste
_PYTEST_MARKS = frozenset(
    {
        "parametrize",
        "usefixtures",
        "filterwarnings",
        "skip",
        "skipif",
        "xfail",
        "flaky",
        "timeout",
    }
)


@functools.lru_cache(maxsize=65536)
def relpath(path: Path, root: Path) -> str | None:
    """Workspace-relative posix path, or None outside the workspace; cached, as every
    item of a file asks for the same one."""
    rel = os.path.relpath(os.path.abspath(path), root)
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def strings(value: object) -> list[str]:
    """The strings a parameter carries: itself, its items, or the fields of a model-info
    record (vLLM parametrizes by `EmbedModelInfo("BAAI/bge-base-en-v1.5", ...)`)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            v
            for f in dataclasses.fields(value)
            if isinstance(v := getattr(value, f.name, None), str)
        ]
    return []


def keywords_of(item: pytest.Item) -> frozenset[str]:
    """The names pytest's -k matches for this item: pytest's own matcher computes
    them, so a suite's -k selects here exactly what it selects in pytest."""
    from _pytest.mark import KeywordMatcher  # private, but the only exact source

    return frozenset(KeywordMatcher.from_item(item)._names)


def mark_arguments(item: pytest.Item) -> dict[str, tuple[dict[str, object], ...]]:
    """Each marker name on the item (its own and its parents'), with the keyword
    arguments of each of its marks: what pytest's -m matches `name(k=v)` against."""
    found: dict[str, list[dict[str, object]]] = {}
    for mark in item.iter_markers():
        found.setdefault(mark.name, []).append(dict(mark.kwargs))
    return {name: tuple(kwargs) for name, kwargs in found.items()}


def named_strings(name: str, value: object) -> list[tuple[str, str]]:
    """The strings a parameter carries, each with where it came from: the parameter
    itself, or a record's field ('model_info.name': a dataclass, a NamedTuple, a
    dict)."""
    fields = getattr(type(value), "_fields", None)
    if isinstance(value, tuple) and isinstance(fields, tuple):  # a NamedTuple
        return [
            (f"{name}.{f}", v)
            for f, v in zip(fields, value, strict=False)
            if isinstance(v, str)
        ]
    if isinstance(value, dict):
        return [(f"{name}.{k}", v) for k, v in value.items() if isinstance(v, str)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            (f"{name}.{f.name}", v)
            for f in dataclasses.fields(value)
            if isinstance(v := getattr(value, f.name, None), str)
        ]
    return [(name, v) for v in strings(value)]


_NAME = operator.attrgetter("name")
_Shared = tuple[str, tuple[MarkerUse, ...], frozenset[str]]
_Strings = tuple[tuple[str, ...], tuple[str, ...]]


class CaseReader:
    """Reads collected items as `TestCase`s. What an item shares with its siblings
    (its file's path, its class's and module's markers) is read once per parent
    node; per item only its own markers are read, and its parameters only where a
    marker that can decide its fate asks for its model.

    `relevant`: the markers some entry uses (None: every marker, for explain and
    lint); `selection`: the marker names -m reads; `keywords`: the names -k reads
    (costly: only where a suite uses -k); `arguments`: the marks' keyword
    arguments, which -m's `name(k=v)` reads; `models`: which parameter values are
    models (the module constants a test names are read only where neither its
    markers nor its parameters name one; None: always)."""

    def __init__(
        self,
        root: Path,
        relevant: frozenset[str] | None = None,
        *,
        selection: bool = True,
        keywords: bool = True,
        arguments: bool = False,
        models: ModelFinder | None = None,
    ):
        self.root = root
        self.relevant = relevant
        self.selection = selection
        self.keywords = keywords
        self.arguments = arguments
        self.constants = ConstantReader(self._shown)
        self.models = models
        # Caches keyed by the id of a node, a Mark or a parameter value. Each entry
        # holds its object, so the object lives as long as the cache and no other
        # object can take its id: a hit is always the object asked about.
        # by id of the parent node: (the node, what its items share)
        self._parents: dict[int, tuple[object, _Shared]] = {}
        self._uses: dict[int, tuple[object, MarkerUse]] = {}  # by id of the Mark
        self._strings: dict[tuple[str, int], tuple[object, _Strings]] = {}

    def _shown(self, filename: str) -> str | None:
        return relpath(Path(filename), self.root)  # once per file (ConstantReader)

    def _wanted(self, name: str) -> bool:
        if self.relevant is None:
            return name not in _PYTEST_MARKS
        return name in self.relevant

    def _use(self, mark: pytest.Mark) -> MarkerUse:
        """The marker and the models named on it (a mark object is shared by every
        item its decorator or parameter marks: read once)."""
        cached = self._uses.get(id(mark))
        if cached is not None:
            return cached[1]
        named = [m for arg in mark.args for m in strings(arg)]
        for key in ("model", "models"):
            named += strings(mark.kwargs.get(key))
        use = MarkerUse(mark.name, tuple(named))
        self._uses[id(mark)] = (mark, use)
        return use

    def named_strings(
        self, name: str, value: object
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """named_strings as (values, where each came from), once per parameter
        value (values are shared by every test their parametrization makes)."""
        key = (name, id(value))
        cached = self._strings.get(key)
        if cached is not None:
            return cached[1]
        pairs = named_strings(name, value)
        split = (tuple(v for _, v in pairs), tuple(n for n, _ in pairs))
        self._strings[key] = (value, split)
        return split

    def shared(self, item: pytest.Item) -> _Shared:
        """The item's file path, the uses of the wanted markers its class, module
        and folders carry, and every marker name up its chain (read once per
        parent node)."""
        parent = item.parent
        cached = self._parents.get(id(parent))
        if cached is not None:
            return cached[1]
        path = relpath(item.path, self.root) or item.nodeid.split("::", 1)[0]
        uses: list[MarkerUse] = []
        names: set[str] = set()
        node = parent
        while node is not None:  # closest first, as pytest's iter_markers
            for mark in node.own_markers:
                names.add(mark.name)
                if self._wanted(mark.name):
                    uses.append(self._use(mark))
            node = node.parent
        shared = (path, tuple(uses), frozenset(names))
        self._parents[id(parent)] = (parent, shared)
        return shared

    def read(self, item: pytest.Item) -> TestCase:
        # one call per collected test: lookups are inlined, the caches' keys are ids
        cached = self._parents.get(id(item.parent))
        if cached is not None:
            path, parent_uses, parent_names = cached[1]
        else:
            path, parent_uses, parent_names = self.shared(item)
        own = item.own_markers
        relevant = self.relevant
        uses = []
        known = self._uses
        for mark in own:
            if (
                mark.name in relevant
                if relevant is not None
                else (mark.name not in _PYTEST_MARKS)
            ):
                hit = known.get(id(mark))
                uses.append(hit[1] if hit is not None else self._use(mark))
        if parent_uses:
            uses += parent_uses
        marks = None
        if self.selection:
            marks = parent_names.union(map(_NAME, own)) if own else parent_names
        names = keywords_of(item) if self.keywords else None
        args = mark_arguments(item) if self.arguments else None
        if not uses and relevant is not None:
            return TestCase(item.nodeid, path, (), (), (), marks, names, args)
        values: tuple[str, ...] = ()
        where: tuple[str, ...] = ()
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            strings = self._strings
            for name, value in callspec.params.items():
                found = strings.get((name, id(value)))
                if found is None:
                    more, source = self.named_strings(name, value)
                else:
                    more, source = found[1]
                if more:
                    values += more
                    where += source
        # the module constants the test names, where nothing else names a model
        # (models_of reads them last): parsing source is per module, not free
        constants: tuple[tuple[str, str, str], ...] = ()
        models = self.models
        if not all(use.models for use in uses) and (
            models is None or not models.in_values(values, where)
        ):
            constants = self.constants.read(item)
        return TestCase(
            item.nodeid, path, tuple(uses), values, where, marks, names, args, constants
        )
