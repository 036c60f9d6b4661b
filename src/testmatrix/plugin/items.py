"""Collected pytest items as planning's `TestCase` records."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Container, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testmatrix.core.fate import MarkerUse, TestCase
from testmatrix.core.models import MAYBE, MODEL, ModelFinder
from testmatrix.plugin.paths import RelPaths as RelPaths
from testmatrix.plugin.paths import relpath as relpath

if TYPE_CHECKING:
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
_NO_STRINGS = frozenset({int, float, bool, type(None), bytes})  # name no model
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
        self.relpath = RelPaths(root)
        self.relevant = relevant
        self.selection = selection
        self.keywords = keywords
        self.arguments = arguments
        self.models = models
        # Caches keyed by the id of a node, a Mark or a parameter value. Each entry
        # holds its object, so the object lives as long as the cache and no other
        # object can take its id: a hit is always the object asked about.
        # by id of the parent node: (the node, what its items share)
        self._parents: dict[int, tuple[object, _Shared]] = {}
        self._uses: dict[int, tuple[object, MarkerUse]] = {}  # by id of the Mark
        self._bare: dict[str, MarkerUse] = {}  # a marker without arguments
        # by id of a node: (the node, its chain's uses and marker names)
        self._chains: dict[
            int, tuple[object, tuple[tuple[MarkerUse, ...], frozenset[str]]]
        ] = {}
        self._strings: dict[tuple[str, int], tuple[object, _Strings]] = {}

    @cached_property
    def constants(self) -> ConstantReader:
        """The module constants' reader, made (and its module loaded) when a test
        first needs its constants read: a run with no marked test never does."""
        from testmatrix.plugin.constants import ConstantReader

        return ConstantReader(self._shown)

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
        if not mark.args and not mark.kwargs:  # a bare marker names no model
            use = self._bare.get(mark.name)
            if use is None:
                use = self._bare[mark.name] = MarkerUse(mark.name)
            self._uses[id(mark)] = (mark, use)
            return use
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
        if value.__class__ is str:  # most parameters: nothing to look up
            return (value,), (name,)
        key = (name, id(value))
        cached = self._strings.get(key)
        if cached is not None:
            return cached[1]
        pairs = named_strings(name, value)
        split = (tuple(v for _, v in pairs), tuple(n for n, _ in pairs))
        self._strings[key] = (value, split)
        return split

    def names_listed(
        self, item: pytest.Item, listed: Mapping[str, Container[str]]
    ) -> bool:
        """Whether the item may name a model that a skip of one of its markers
        lists (`listed`: each marker's listed models): on the marker, in its
        parameters or, where no parameter is a model, in the module constants it
        names. False: no skip of its markers can decide it, whatever its full
        reading holds. A value listed anywhere says True, even where the full
        reading would not take it."""
        relevant = self.relevant
        models = self.models
        if relevant is None or models is None:
            return True  # a reader for explain or lint: read it in full
        indexes: list[Container[str]] = []
        for use in self.uses(item):
            index = listed.get(use.name)
            if index is None:
                continue
            if not use.models:
                indexes.append(index)  # its parameters or constants name it
            elif any(model in index for model in use.models):
                return True
        if not indexes:
            return False
        callspec = getattr(item, "callspec", None)
        a_model = False  # a parameter is a model: constants are not read
        if callspec is not None:
            rule = models.rule
            for name, value in callspec.params.items():
                if value.__class__ in _NO_STRINGS:
                    continue
                values, where = self.named_strings(name, value)
                for text, field in zip(values, where, strict=True):
                    for index in indexes:
                        if text in index:
                            return True
                    if not a_model:
                        a_model = rule(field, text) is not None
        if a_model:
            return False
        return any(
            value in index
            for value, _, _ in self.constants.read(item)
            for index in indexes
        )

    def uses(self, item: pytest.Item) -> tuple[MarkerUse, ...]:
        """The uses of the wanted markers on the item, its own first, then its
        class's, module's and folders' (closest first)."""
        return self.own_uses(item) + self.shared(item)[1]

    def own_uses(self, item: pytest.Item) -> tuple[MarkerUse, ...]:
        """The uses of the wanted markers the item carries itself."""
        relevant = self.relevant
        return tuple(
            self._use(m)
            for m in item.own_markers
            if (m.name in relevant if relevant is not None else self._wanted(m.name))
        )

    def models_named(self, params: Mapping[str, object]) -> list[tuple[str, str]]:
        """The (parameter or record field, value) pairs of a test's parameters
        that the workspace's model rule takes (ModelFinder.rule, in its two
        halves, each answered once per value or name), in the order `read` gives
        them: what `Rules.fate` reads of its parameters."""
        models = self.models
        assert models is not None  # models_named is for a reader with the rule
        kind_of, model_name = models.value_kind, models.model_name
        kinds = models.kinds  # value_kind's answers so far: a lookup, not a call
        found: list[tuple[str, str]] = []
        for name, value in params.items():
            if value.__class__ is str:
                kind = kinds.get(value)
                if kind is None:
                    kind = kind_of(value)
                if kind == MODEL or (kind == MAYBE and model_name(name)):
                    found.append((name, value))
            elif value.__class__ not in _NO_STRINGS:
                values, where = self.named_strings(name, value)
                for text, field in zip(values, where, strict=True):
                    kind = kinds.get(text)
                    if kind is None:
                        kind = kind_of(text)
                    if kind == MODEL or (kind == MAYBE and model_name(field)):
                        found.append((field, text))
        return found

    def shared(self, item: pytest.Item) -> _Shared:
        """The item's file path, the uses of the wanted markers its class, module
        and folders carry, and every marker name up its chain (read once per
        parent node)."""
        parent = item.parent
        cached = self._parents.get(id(parent))
        if cached is not None:
            return cached[1]
        path = self.relpath(item.path) or item.nodeid.split("::", 1)[0]
        if parent is None:
            shared: _Shared = (path, (), frozenset())
        else:
            shared = (path, *self._chain(parent))
        self._parents[id(parent)] = (parent, shared)
        return shared

    def _chain(
        self, node: pytest.Item | pytest.Collector
    ) -> tuple[tuple[MarkerUse, ...], frozenset[str]]:
        """The uses of the wanted markers a node and the nodes above it carry
        (closest first, as pytest's iter_markers), and every marker name among
        them: once per node, so a folder's are read once for all its files."""
        cached = self._chains.get(id(node))
        if cached is not None:
            return cached[1]
        up = node.parent
        up_uses, up_names = self._chain(up) if up is not None else ((), frozenset())
        own = node.own_markers
        uses = tuple(self._use(m) for m in own if self._wanted(m.name))
        names = up_names.union([m.name for m in own]) if own else up_names
        chain = (uses + up_uses if uses else up_uses, names)
        self._chains[id(node)] = (node, chain)
        return chain

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
