"""What the plugin decided for a run and saw happen: the run's State and the records its
reports carry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from itertools import filterfalse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from testmatrix.core.fate import FateKind
from testmatrix.core.model import Workspace
from testmatrix.core.names import ENV_PLATFORM
from testmatrix.core.rules import Rules
from testmatrix.plugin.keys import (
    ENV_STRICT as ENV_STRICT,
)
from testmatrix.plugin.keys import (
    ENV_VARIANT,
    FATE,
    MODELS_SET,
    PREVIOUS_ENV,
    PROPERTIES_SET,
    PROPERTY,
    STATE,
    WORKER_OUTPUT,
)
from testmatrix.plugin.paths import RelPaths

if TYPE_CHECKING:
    from testmatrix.core.facts import Detection

__all__ = [
    "FATE",
    "MODELS_SET",
    "PREVIOUS_ENV",
    "PROPERTIES_SET",
    "PROPERTY",
    "STATE",
    "WORKER_OUTPUT",
]

Record = dict[str, str]  # a fate or an entry as plain strings (plan's records)


class LeftOut(Protocol):
    """What leaves tests out, whose record is made when it is counted (a
    function's thousands of single-test deselects need none while deciding).
    A tuple is a deselect's (`decide.LeftOutBy`: its entry first), which the
    summary counts off its entry without a record."""

    @property
    def record(self) -> Record: ...


_A_TUPLE = partial(type.__instancecheck__, tuple)  # isinstance(x, tuple), in C


def record_of(left_out: Record | LeftOut) -> Record:
    return left_out if isinstance(left_out, dict) else left_out.record


class State:
    """What the plugin decided for this run, and what it saw happen."""

    def __init__(
        self,
        workspace: Workspace,
        rules: Rules,
        detect: Callable[[], Detection],
        strict: bool,
    ):
        self.workspace = workspace
        self.rules = rules
        self._detect = detect  # the hardware probes, run on first use
        self._relpaths = RelPaths(workspace.root)
        self.strict = strict
        self.shard: tuple[int, int] | None = None
        self.durations: dict[str, float] | None = None
        # decided where tests are collected (this process, or each xdist worker):
        # paths never collected, and tests left out of the run, as records
        self.ignored: dict[str, Record] = {}  # path: its ignore entry
        self.excluded: set[str] = set()  # paths the suite leaves to other suites
        # the fate of each test left out, in the order pytest_deselected got them:
        # only counted, so no node id is built for them (pytest builds it on
        # demand); a record, or what makes it (`left_out_counts`)
        self.left_out: list[Record | LeftOut] = []
        self.worker_collected = False  # a worker's decisions were taken
        # seen in the reports, in whichever process writes the summary
        self.tests: dict[str, Record] = {}  # nodeid: its fate, and models
        self.outcomes: dict[str, str] = {}  # passed, failed, skipped, error (setup)
        self.teardown_errors: set[str] = set()  # tests whose teardown failed
        # tests that did not pass: what their JUnit testcase says (its first result
        # element, type and message), for the summary's `results`
        self.said: dict[str, tuple[str, str | None, str]] = {}
        # failed tests whose teardown failed too: junitxml's second testcase (an
        # error), its message
        self.said_again: dict[str, str] = {}
        self.durations_seen: dict[str, float] = {}
        self.reran: set[str] = set()
        # skipped by a platform skip in the test code (testmatrix inventory)
        self.in_code: set[str] = set()
        self.sorter: Any = None  # inventory.fates.SkipSorter, made on first use
        self.short_names_taken: tuple[str, ...] = ()  # our aliases other plugins own
        self.other_shards = 0  # tests this shard leaves to the other shards
        self.empty_because = ""  # set when the skiplist left nothing to run
        self.tallied: dict[str, Any] | None = None  # summary.tally, at the run's end
        # decide.Decider, made at collection: asked again for each test that runs
        # (what its report carries), so nothing is kept per collected test
        self.decider: Any = None
        self.target_properties: list[tuple[str, str]] | None = (
            None  # decide.properties_of
        )

    def relpath(self, path: Path) -> str | None:
        """The workspace-relative posix path of a path pytest collects; None outside
        the workspace. pytest's paths are absolute and normalized: below the root's
        own spelling, cutting its prefix is the answer (os.path.relpath cost 0.1 ms
        a call, for every directory and file pytest visits); others ask relpath."""
        return self._relpaths(path)

    @property
    def detection(self) -> Detection:
        """What the probes found (run once, where asked: the report header, the
        summary, a platform or variant left to detection)."""
        return self._detect()

    @property
    def simulated(self) -> bool:
        plat = self.rules.platform
        return plat is not None and plat.hardware != self.detection.hardware

    def left_out_split(self) -> tuple[Counter[int], list[Any], list[Record | LeftOut]]:
        """What left the run's tests out: how many tests each distinct one left out
        (by its id), the distinct single-test deselects' (`decide.LeftOutBy`,
        tuples that start with their entry) and the rest, each in the order first
        left out. The tests share a few (one per fate, one per single-test
        deselect): counted by identity and told apart in C, not a step in Python
        per test or per deselect."""
        left_out = self.left_out
        times = Counter(map(id, left_out))
        distinct = dict(zip(map(id, left_out), left_out, strict=True)).values()
        return (
            times,
            list(filter(_A_TUPLE, distinct)),
            list(filterfalse(_A_TUPLE, distinct)),
        )

    def left_out_counts(self) -> list[tuple[Record, int]]:
        """Each distinct record of the tests left out, made or read once, with how
        many tests it left out (`left_out_split`)."""
        times, by_entry, others = self.left_out_split()
        return [(record_of(m), times[id(m)]) for m in (*by_entry, *others)]

    def _left_out_records(self) -> list[Record]:
        """The records of the tests left out, in order, each made once."""
        left_out = self.left_out
        distinct = dict(zip(map(id, left_out), left_out, strict=True))
        made = {key: record_of(r) for key, r in distinct.items()}
        return [made[key] for key in map(id, left_out)]

    def collected(self) -> dict[str, Any]:
        """What collection decided beyond the run's reports (xdist worker output)."""
        return {
            "ignored": self.ignored,
            "excluded": sorted(self.excluded),
            "left_out": self._left_out_records(),
        }

    def add_collected(self, data: dict[str, Any]) -> None:
        """A worker's collection decisions. xdist refuses to run unless every worker
        collected the same tests, so the first worker's are the run's: the others'
        are the same again."""
        if self.worker_collected:
            return
        self.worker_collected = True
        self.ignored.update(data.get("ignored", {}))
        self.excluded.update(data.get("excluded", ()))
        self.left_out.extend(data.get("left_out", ()))


def is_worker(config: pytest.Config) -> bool:
    """An xdist worker: it collects and runs; its controller writes the summary."""
    return hasattr(config, "workerinput")


TARGET_ENV = (ENV_PLATFORM, ENV_VARIANT)


LEFT_OUT = (
    FateKind.DESELECTED,
    FateKind.IGNORED,
    FateKind.NOT_IN_SUITE,
    FateKind.NO_SESSION,
)
