"""What the dashboard shows, as typed data: builds, session cells, per-test results,
entries with their evidence and per-model coverage, whatever the source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..history.outcomes import Outcome

# A test's outcome on one target in one build, as issue 21's history records it.
# Each has a one-letter code for the compact strips of the site's data files.
OUTCOMES: dict[str, tuple[str, str]] = {
    # name: (code, label)
    "passed": ("P", "passed"),
    "flaky": ("R", "passed on a rerun"),
    "failed": ("F", "failed"),
    "error": ("E", "error"),
    "unexpected_pass": ("U", "passed against a stale entry"),
    "fails_differently": ("D", "failed differently"),
    "expected_fail": ("X", "expected failure"),
    "skipped_by_entry": ("S", "skipped by an entry"),
    "skipped_other": ("s", "skipped in code"),
}
# the history's outcomes in these words: what its reader makes of a session's
# results (a summary's, or its JUnit file's), and what its store holds
OUTCOME_OF = {
    Outcome.PASSED: "passed",
    Outcome.RERUN_PASSED: "flaky",
    Outcome.FAILED: "failed",
    Outcome.ERROR: "error",
    Outcome.UNEXPECTED_PASS: "unexpected_pass",
    Outcome.FAILS_DIFFERENTLY: "fails_differently",
    Outcome.EXPECTED_FAIL: "expected_fail",
    Outcome.SKIPPED_BY_ENTRY: "skipped_by_entry",
    Outcome.SKIPPED_IN_CODE: "skipped_other",
}
MISSING = "."  # the code of a test absent from a build on a target
FAILING = frozenset({"failed", "error", "unexpected_pass", "fails_differently"})
SKIPPED = frozenset({"skipped_by_entry", "skipped_other"})


@dataclass(frozen=True)
class Build:
    """One CI build; the dashboard orders builds oldest first."""

    id: str
    commit: str | None = None
    date: str | None = None  # ISO 8601


@dataclass(frozen=True)
class Cell:
    """One session (target x suite) of one build, its shards merged: the matrix cell.

    `text` is the words of `testmatrix report`'s Markdown cell (without its icon),
    `status` is its icon as a word: "ok", "fail" or "warn"."""

    target: str
    suite: str
    counts: Mapping[str, int]
    exitstatus: int
    status: str
    text: str
    simulated: bool = False
    entries: tuple[str, ...] = ()  # locations of the entries the session used


@dataclass(frozen=True, slots=True)
class Result:
    """One test on one target in one build. Results are shared between tests
    (passes mostly carry nothing else), so keep them immutable."""

    outcome: str  # a key of OUTCOMES
    suite: str
    entry: str | None = None  # the deciding entry's location (file:line)
    message: str | None = None  # first line of the failure or skip message


@dataclass(frozen=True)
class Entry:
    """A skiplist entry as the summaries and reports cite it."""

    location: str  # skiplists/platforms/rocm.toml:54
    kind: str
    reason: str
    issue: str | None


@dataclass(frozen=True)
class Change:
    """A test whose outcome on a target differs between two builds."""

    kind: str  # a key of CHANGE_KINDS
    test: str
    target: str
    before: str | None  # outcome names; None: absent from that build
    after: str | None
    message: str | None = None  # the newer result's message


CHANGE_KINDS = {
    "new_failure": "new failures",
    "fixed": "fixed",
    "newly_skipped": "newly skipped",
    "unskipped": "no longer skipped",
    "missing": "missing (ran before, not now)",
    "new_test": "new tests",
    "other": "other changes",
}


@dataclass(frozen=True)
class TrendPoint:
    """Failures and skips of one target in one build (every suite)."""

    build: str
    failures: int
    skips: int


@dataclass
class DashboardData:
    """Everything the site shows. Index lists by build: `cells[i]` and `models[i]`
    belong to `builds[i]`; `tests[id][target][i]` is that test's result there, None
    where it did not run."""

    builds: list[Build]
    cells: list[dict[tuple[str, str], Cell]]  # (target, suite): cell
    tests: dict[str, dict[str, list[Result | None]]]
    entries: dict[str, Entry]  # location: entry
    models: list[dict[str, dict[str, dict[str, int]]]]  # model: target: counts
    notes: list[str] = field(default_factory=list)  # inputs not read, and why
    # changes() and evidence(), worked out once: the site asks several times, and
    # the data is complete before anyone asks
    _memo: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def latest(self) -> int:
        return len(self.builds) - 1

    def targets(self) -> list[str]:
        return sorted({t for cells in self.cells for t, _ in cells})

    def suites(self) -> list[str]:
        return sorted({s for cells in self.cells for _, s in cells})

    def trend(self) -> dict[str, list[TrendPoint]]:
        """Per target, failures and skips in each build, from the session counts."""
        out: dict[str, list[TrendPoint]] = {}
        for target in self.targets():
            points = []
            for build, cells in zip(self.builds, self.cells, strict=True):
                fail = skip = 0
                for (t, _), cell in cells.items():
                    if t == target:
                        fail += sum(cell.counts.get(k, 0) for k in FAILING)
                        skip += sum(cell.counts.get(k, 0) for k in SKIPPED)
                points.append(TrendPoint(build.id, fail, skip))
            out[target] = points
        return out

    def changes(
        self, before: int | None = None, after: int | None = None
    ) -> list[Change]:
        """What changed per test and target between two builds (default: the last
        two), sorted by kind, target and test."""
        if after is None:
            after = self.latest
        if before is None:
            before = after - 1
        if before < 0:
            return []
        key = ("changes", before, after)
        if key not in self._memo:
            self._memo[key] = self._changes(before, after)
        return list(self._memo[key])

    def _changes(self, before: int, after: int) -> list[Change]:
        out = []
        for test, by_target in self.tests.items():
            for target, results in by_target.items():
                old, new = results[before], results[after]
                kind = change_kind(old, new)
                if kind is not None:
                    out.append(
                        Change(
                            kind,
                            test,
                            target,
                            old.outcome if old else None,
                            new.outcome if new else None,
                            new.message if new else None,
                        )
                    )
        order = list(CHANGE_KINDS)
        out.sort(key=lambda c: (order.index(c.kind), c.target, c.test))
        return out

    def evidence(self) -> dict[str, dict[str, list[dict[str, int]]]]:
        """Per entry, per target, per build: the outcomes of the tests it decided."""
        if "evidence" not in self._memo:
            self._memo["evidence"] = self._evidence()
        return self._memo["evidence"]

    def _evidence(self) -> dict[str, dict[str, list[dict[str, int]]]]:
        out: dict[str, dict[str, list[dict[str, int]]]] = {}
        for by_target in self.tests.values():
            for target, results in by_target.items():
                for i, result in enumerate(results):
                    if result is None or result.entry is None:
                        continue
                    rows = out.setdefault(result.entry, {})
                    row = rows.setdefault(target, [{} for _ in self.builds])[i]
                    row[result.outcome] = row.get(result.outcome, 0) + 1
        return {loc: dict(sorted(rows.items())) for loc, rows in sorted(out.items())}


def change_kind(old: Result | None, new: Result | None) -> str | None:
    """How a test's result moved between two builds; None: it did not."""
    if old is None and new is None:
        return None
    if old is None:
        return "new_test"
    if new is None:
        return "missing"
    if old.outcome == new.outcome:
        return None
    if new.outcome in FAILING and old.outcome not in FAILING:
        return "new_failure"
    if old.outcome in FAILING and new.outcome not in FAILING:
        return "fixed" if new.outcome not in SKIPPED else "newly_skipped"
    if new.outcome in SKIPPED and old.outcome not in SKIPPED:
        return "newly_skipped"
    if old.outcome in SKIPPED and new.outcome not in SKIPPED:
        return "unskipped"
    return "other"


def verdict(evidence: Mapping[str, Sequence[Mapping[str, int]]]) -> str:
    """What the latest build says of an entry: stale, failing differently, holding,
    or not used."""
    latest = [rows[-1] for rows in evidence.values() if rows]
    if any(row.get("unexpected_pass") for row in latest):
        return "stale: its tests passed"
    if any(row.get("fails_differently") for row in latest):
        return "fails differently"
    if any(row for row in latest):
        return "holds"
    return "no test decided in the latest build"


def outcome_code(result: Result | None) -> str:
    return MISSING if result is None else OUTCOMES[result.outcome][0]


def interned(pool: dict[Result, Result], result: Result) -> Result:
    """One shared object per distinct result: 50,000 passes cost one."""
    return pool.setdefault(result, result)


def file_of(test: str) -> str:
    """The file part of a test id (the whole id where it has no '::')."""
    return test.split("::", 1)[0]


def sorted_tests(tests: Iterable[str]) -> list[str]:
    return sorted(tests, key=lambda t: (file_of(t), t))
