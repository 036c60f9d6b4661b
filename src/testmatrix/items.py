"""Collected pytest items as planning's `TestCase` records."""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import pytest

from .plan import MarkerUse, TestCase

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


def named_strings(name: str, value: object) -> list[tuple[str, str]]:
    """The strings a parameter carries, each with where it came from: the parameter
    itself, or a record's field ('model_info.name')."""
    if isinstance(value, dict):
        return [(f"{name}.{k}", v) for k, v in value.items() if isinstance(v, str)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            (f"{name}.{f.name}", v)
            for f in dataclasses.fields(value)
            if isinstance(v := getattr(value, f.name, None), str)
        ]
    return [(name, v) for v in strings(value)]


def case_of(
    item: pytest.Item,
    root: Path,
    relevant: frozenset[str] | None = None,
    *,
    selection: bool = True,
    keywords: bool = True,
) -> TestCase:
    """The facts planning needs from a collected item. With `relevant` markers (those
    some entry uses) only what they need; `selection`: the marker names -m reads;
    `keywords`: the names -k reads (costly: only where a suite uses -k)."""
    path = relpath(item.path, root) or item.nodeid.split("::", 1)[0]
    marks = frozenset(m.name for m in item.iter_markers()) if selection else None
    names = keywords_of(item) if keywords else None
    if relevant is not None and not relevant:
        return TestCase(item.nodeid, path, marks=marks, keywords=names)
    markers = []
    for mark in item.iter_markers():
        if mark.name in _PYTEST_MARKS or (
            relevant is not None and mark.name not in relevant
        ):
            continue
        named = [m for arg in mark.args for m in strings(arg)]
        for key in ("model", "models"):
            named += strings(mark.kwargs.get(key))
        markers.append(MarkerUse(mark.name, tuple(named)))
    pairs: list[tuple[str, str]] = []
    callspec = getattr(item, "callspec", None)
    if callspec is not None and (relevant is None or markers):
        for name, value in callspec.params.items():
            pairs += named_strings(name, value)
    return TestCase(
        item.nodeid,
        path,
        tuple(markers),
        tuple(v for _, v in pairs),
        tuple(n for n, _ in pairs),
        marks=marks,
        keywords=names,
    )
