"""The entries that hold on a target (a platform, or one of its variants) and, for a
suite's session, on that suite: every reader of entries asks this one function."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress
from operator import attrgetter
from typing import TypeVar

from testmatrix.core.model import DeselectEntry, Entry, IgnoreEntry, Platform, Suite

_E = TypeVar("_E", bound=Entry)
_VARIANTS = attrgetter("variants")  # what Entry.holds_on reads


def concerns(entry: Entry, suite: Suite) -> bool:
    """Whether an entry can touch a suite's tests: an ignore names its suite, a
    deselect a test id whose file or folder meets the suite's paths; skips and flaky
    entries name tests by marker or id, in any suite."""
    if isinstance(entry, IgnoreEntry):
        if entry.suite != suite.name:
            return False
        # one run of a suite of several: the ignores inside the paths it runs (a
        # run of just that path is the one that runs it)
        return suite.run is None or any(
            entry.target.startswith(p.split("::")[0] + "/") for p in suite.paths
        )
    if isinstance(entry, DeselectEntry):
        return _meets(entry.nodeid.split("::", 1)[0], suite)
    return True


def _meets(path: str, suite: Suite) -> bool:
    """Whether a path and the suite's paths overlap: one holds the other."""
    return suite.holds(path) or any(p.startswith(path + "/") for p in suite.paths)


def entries_holding(
    platform: Platform, variant: str | None, suite: Suite | None = None
) -> tuple[Entry, ...]:
    """The platform's entries that apply to a session of the variant (None: the
    platform-wide session, which applies platform-wide entries only) and, given a
    suite, to that suite; in declaration order, kind by kind."""
    return holding(platform.entries, variant, suite)


def holding(
    entries: Sequence[_E], variant: str | None, suite: Suite | None = None
) -> tuple[_E, ...]:
    """`entries_holding` of some of a platform's entries (one kind's): each
    entry's `holds_on` read in one comprehension, and the entries kept in C (a
    skiplist may hold thousands)."""
    holds = [not v or variant in v for v in map(_VARIANTS, entries)]
    if suite is not None:
        holds = [h and concerns(e, suite) for h, e in zip(holds, entries, strict=True)]
    return tuple(compress(entries, holds))


def describe_entries(entries: Sequence[Entry]) -> str:
    """'16 entries: 12 ignores, 1 skip, 2 deselects, 0 flaky (3 expect an error)'."""
    kinds = {"ignore": "ignores", "skip": "skips", "deselect": "deselects"}
    kinds["flaky"] = "flaky"
    parts = []
    for kind, plural in kinds.items():
        n = sum(e.kind == kind for e in entries)
        parts.append(f"{n} {kind if n == 1 else plural}")
    expecting = sum(e.fails is not None for e in entries)
    text = f"{len(entries)} entries: {', '.join(parts)}"
    return text + (f" ({expecting} expect an error)" if expecting else "")
