"""A test's fate on a target, and what planning reads of a collected test (TestCase):
the records every adapter shows."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from testmatrix.core.model import (
    Entry,
    FlakyEntry,
)
from testmatrix.core.names import (
    session_name as session_name,  # named once, for nox -l too
)
from testmatrix.core.record import NamedTuple, record


class FateKind(str, enum.Enum):
    RUN = "runs"
    IGNORED = "ignored"
    DESELECTED = "deselected"
    SKIPPED = "skipped"
    ERROR = "error"
    # runs, and must fail with the entry's error: a pass means the entry is stale
    EXPECTED_FAIL = "expected-fail"
    # not platform decisions: the suite's own selection leaves the test out (its
    # paths, excludes, -m, -k), or the suite has no session on this target
    NOT_IN_SUITE = "not-in-suite"
    NO_SESSION = "no-session"
    # runs by the skiplists, but a platform skip in the test code fires (inventory)
    SKIPPED_IN_CODE = "skipped-in-code"


@record
class MarkerUse:
    """A marker on a test and the models its author named on it, if any."""

    name: str
    models: tuple[str, ...] = ()


class TestCase(NamedTuple):
    """What planning needs to know of one collected test (a named tuple, not a
    dataclass: one is built per collected test, and a tuple is three times cheaper
    to build than a frozen dataclass)."""

    nodeid: str
    path: str  # workspace-relative posix path of its file
    markers: tuple[MarkerUse, ...] = ()
    params: tuple[str, ...] = ()  # string values of its parameters, fixtures' too
    # the parameter each value came from ("model_name", a record's "model_info.name")
    param_names: tuple[str, ...] = ()
    marks: frozenset[str] | None = None  # every marker name (what -m reads)
    keywords: frozenset[str] | None = None  # what -k reads (pytest's own names)
    # each marker's keyword arguments, per mark (what -m's name(k=v) reads): read
    # only where a suite's -m has arguments
    mark_args: Mapping[str, tuple[Mapping[str, object], ...]] | None = None
    # module-level string constants the test or its fixtures name, read from the
    # source: (value, constant's name, "file:line"); read for marked tests only
    constants: tuple[tuple[str, str, str], ...] = ()


TestCase.__test__ = False  # type: ignore[attr-defined]  # no test class to pytest

_NEW = tuple.__new__


def case_at(nodeid: str, path: str) -> TestCase:
    """`TestCase(nodeid, path)`, made in C (a named tuple's constructor is a
    Python call): what a test's file and node id alone decide is asked for once
    per collected file and function."""
    return _NEW(TestCase, (nodeid, path, (), (), (), None, None, None, ()))


@record
class Rerun:
    """A known flake (or a suite that asks for reruns): rerun a failure this often."""

    reruns: int
    delay: float
    entry: FlakyEntry | None = None  # None: the suite's own `reruns` setting
    suite: str | None = None

    def cite(self) -> str:
        if self.entry is not None:
            return self.entry.cite()
        return f"suite {self.suite} reruns failures"


@record
class Fate:
    """What happens to a test on a platform, and the entry that decided it."""

    kind: FateKind
    platform: str
    entry: Entry | None = None
    model: str | None = None
    message: str = ""
    rerun: Rerun | None = None
    model_from: str | None = None  # why `model` is the test's model
    # a marked test whose model was not found (it runs): the skip of its marker
    no_model: Entry | None = None

    @property
    def runs(self) -> bool:
        return self.kind is FateKind.RUN

    def record(self) -> dict[str, str]:
        """The fate as plain strings: what a test's report carries (its JUnit
        properties) and what a summary counts, in this process or another."""
        out = {"fate": self.kind.value, "target": self.platform}
        if self.entry is not None:
            out.update(entry_record(self.entry))
        if self.model is not None:
            out["model"] = self.model
        if self.rerun is not None:
            out["rerun"] = self.rerun.cite()
        if self.no_model is not None:
            out["no_model"] = str(self.no_model.location)
        return out


def deselected_record(platform: str, entry: Entry) -> dict[str, str]:
    """The record of a test a deselect entry (expecting no error) leaves out: its
    fate's `record()`, without making the fate."""
    return {
        "fate": "deselected",  # FateKind.DESELECTED.value
        "target": platform,
        "entry": str(entry.location),
        "entry_kind": entry.kind,
        "reason": entry.reason,
        "issue": entry.issue or "",
    }


def entry_record(entry: Entry) -> dict[str, str]:
    """An entry as plain strings: where it is declared, its kind, reason and issue."""
    return {
        "entry": str(entry.location),
        "entry_kind": entry.kind,
        "reason": entry.reason,
        "issue": entry.issue or "",
    }
