"""The run's outcomes by fate: counts, entries used and per-model outcomes, as the
session's summary (xdist's workers included)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any

import pytest

from testmatrix.core import options as opt
from testmatrix.core.fate import FateKind
from testmatrix.core.gcpause import collector_paused
from testmatrix.plugin.keys import AS_EXPECTED, DIFFERENT, STALE, HooksOnly
from testmatrix.plugin.state import (
    PROPERTY,
    WORKER_OUTPUT,
    LeftOut,
    Record,
    State,
    record_of,
)


def _record_of(report: pytest.TestReport) -> Record:
    """The fate a test's report carries (set where it was collected)."""
    return {
        str(name)[len(PROPERTY) :]: str(value)
        for name, value in report.user_properties
        if str(name).startswith(PROPERTY)
    }


class Outcomes(HooksOnly):
    """Records each test's final outcome, fate, reruns and duration for the summary,
    from its reports: the same in a plain run and in xdist's controller."""

    def __init__(self, state: State):
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self.state
        # pytest-rerunfailures sets outcome "rerun" at run time, outside pytest's
        # Literal["passed", "failed", "skipped"]: compare a plain str view of it
        if str(report.outcome) == "rerun":
            state.reran.add(report.nodeid)
            return
        if report.when == "call" or (
            report.when == "setup" and report.outcome != "passed"
        ):
            # a failed setup is an error, as pytest counts it
            error = report.when == "setup" and report.failed
            state.outcomes[report.nodeid] = "error" if error else report.outcome
            state.durations_seen[report.nodeid] = round(report.duration, 6)
            state.tests[report.nodeid] = _record_of(report)
            if not report.passed:
                state.said[report.nodeid] = as_junit(report)
                if report.skipped and _skipped_in_code(state, report):
                    state.in_code.add(report.nodeid)
        elif report.when == "teardown" and report.failed:
            state.teardown_errors.add(report.nodeid)  # beside its call's outcome
            if state.outcomes.get(report.nodeid) == "failed":
                # junitxml closes the failed call's testcase and opens another
                state.said_again[report.nodeid] = as_junit(report)[2]
            elif report.nodeid not in state.said:  # one testcase: its first element
                state.said[report.nodeid] = as_junit(report)  # stays, else this one


MAX_MESSAGE = 1000  # of a message in the summary: `history` keeps its first line


def as_junit(report: pytest.TestReport) -> tuple[str, str | None, str]:
    """What pytest's junitxml writes for a report that did not pass: its result
    element, that element's type and its message. Written the way junitxml writes
    them (pytest 8 and 9 alike), so that `history ingest` reads the same result
    from a summary as from the JUnit file beside it."""
    if report.skipped:
        wasxfail = getattr(report, "wasxfail", None)
        if wasxfail is not None:
            why = str(wasxfail).removeprefix("reason: ")
            return "skipped", "pytest.xfail", why[:MAX_MESSAGE]
        longrepr = report.longrepr
        why = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
        return "skipped", "pytest.skip", why.removeprefix("Skipped: ")[:MAX_MESSAGE]
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(crash.message if crash is not None else report.longrepr)
    if report.when == "call":
        if hasattr(report, "wasxfail"):  # strict: junitxml calls it a skip
            return "skipped", None, "xfail-marked test passes unexpectedly"
        return "failure", None, message[:MAX_MESSAGE]
    return "error", None, f'failed on {report.when} with "{message[:MAX_MESSAGE]}"'


def _skipped_in_code(state: State, report: pytest.TestReport) -> bool:
    """A skip not decided by an entry, that an inventoried in-code skip explains."""
    if state.tests[report.nodeid].get("fate") == FateKind.SKIPPED.value:
        return False
    from testmatrix.inventory.fates import skipped_in_code

    return skipped_in_code(state, report.nodeid, report.longrepr)


class Controller(HooksOnly):
    """xdist's controller: collection happens in the workers, which hand over what
    they left out when they finish."""

    def __init__(self, state: State):
        self.state = state

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        data = output.get(WORKER_OUTPUT)
        if isinstance(data, dict):
            self.state.add_collected(data)


def empty_because(state: State) -> str:
    """Why no test is left to run, where testmatrix left them out ('' if it did
    not: an empty selection of the user's own making stays pytest's exit 5)."""
    parts = []
    if state.ignored:
        parts.append(f"{len(state.ignored)} paths ignored on {state.rules.name}")
    entries = sum(n for r, n in state.left_out_counts() if r.get("entry"))
    if entries:
        parts.append(f"{entries} tests left out by {state.rules.name}'s entries")
    suite = len(state.left_out) - entries + len(state.excluded)
    if suite:
        parts.append(f"{suite} tests or paths in other suites")
    if state.other_shards:
        parts.append(f"{state.other_shards} tests in other shards")
    return ", ".join(parts)


def _entries(
    records: Iterable[tuple[Record | LeftOut, int]],
) -> dict[str, dict[str, Any]]:
    """Each entry used, by location: kind, reason, issue and how many tests (each
    record with how many tests share it). What leaves out the tests one of
    thousands of single-test deselects names (`decide.LeftOutBy`, a tuple that
    starts with its entry) is read off its entry, with no record made."""
    used: dict[str, dict[str, Any]] = {}
    for made, times in records:
        if isinstance(made, tuple):  # a deselect's: one test or more left out
            entry = made[0]
            at = entry.location  # as its records write it (`str(location)`)
            place = f"{at.file}:{at.line}"
            row = used.get(place)
            if row is None:
                row = used[place] = {
                    "kind": entry.kind,
                    "reason": entry.reason,
                    "issue": entry.issue or None,
                    "tests": 0,
                }
            row["tests"] += times
            continue
        record = record_of(made)
        where = record.get("entry")
        if not where:
            continue
        row = used.get(where)
        if row is None:  # one row per entry: thousands of single-test deselects
            row = used[where] = {
                "kind": record.get("entry_kind"),
                "reason": record.get("reason"),
                "issue": record.get("issue") or None,
                "tests": 0,
            }
        row["tests"] += times * ("fate" in record)  # an ignored path is no test
    return used


_EXPECTATIONS = {
    AS_EXPECTED: "expected_fail",
    STALE: "unexpected_pass",
    DIFFERENT: "fails_differently",
}


def tally(state: State) -> dict[str, Any]:
    """The run's counts, entries used and per-model outcomes, once the run has
    ended: counted once, for the summary file and the terminal summary both."""
    if state.tallied is None:
        # a location pair per entry used (thousands of single-test deselects):
        # their allocations would start collections that walk every collected node
        with collector_paused():
            state.tallied = _tally(state)
    return state.tallied


def _tally(state: State) -> dict[str, Any]:
    counts = {
        "passed": 0,
        "failed": 0,
        "skipped_by_entry": 0,
        "skipped_in_code": 0,
        "skipped_other": 0,
        "flaky": 0,
        # pytest's errors: a failed setup, and a failed teardown besides the test's
        # own outcome (pytest's "1 passed, 1 error")
        "errors": 0,
        "no_model": 0,  # marked tests whose model was not found: they ran
        # an entry's expected failures, apart: as recorded, passing now (the entry
        # is stale), or failing with another error
        "expected_fail": 0,
        "unexpected_pass": 0,
        "fails_differently": 0,
    }
    models: dict[str, dict[str, int]] = {}
    for nodeid, outcome in state.outcomes.items():
        record = state.tests.get(nodeid, {})
        fate = record.get("fate")
        expectation = record.get("expectation")
        if expectation in _EXPECTATIONS:
            kind = _EXPECTATIONS[expectation]
        elif outcome == "passed":
            kind = "passed"
            counts["flaky"] += nodeid in state.reran
        elif outcome == "failed":
            kind = "failed"
        elif outcome == "error":
            kind = "errors"
        elif fate == FateKind.SKIPPED.value:
            kind = "skipped_by_entry"
        elif nodeid in state.in_code:
            kind = "skipped_in_code"
        else:
            kind = "skipped_other"
        counts[kind] += 1
        counts["no_model"] += bool(record.get("no_model"))
        named = record.get("models") or record.get("model")
        for model in named.split(",") if named else ():
            row = models.setdefault(model, {})
            row[kind] = row.get(kind, 0) + 1
    counts["errors"] += len(state.teardown_errors)
    # the tests left out share a few records (one per fate), and a single-test
    # deselect's tuple each: counted apart, the deselects' in C
    times, by_entry, others = state.left_out_split()
    left = Counter[str | None]()
    for made in others:
        left[record_of(made).get("fate")] += times[id(made)]
    deselects = sum(map(times.__getitem__, map(id, by_entry)))
    counts["deselected"] = (
        deselects + left[FateKind.DESELECTED.value] + left[FateKind.IGNORED.value]
    )
    counts["ignored_paths"] = len(state.ignored)
    # bare pytest on a platform: what only suites of other platforms run
    counts["no_session"] = left[FateKind.NO_SESSION.value]
    # the suite's partitioning, apart from what the platform's entries keep out
    counts["not_in_suite"] = len(state.excluded) + left[FateKind.NOT_IN_SUITE.value]
    # the entries used, by location (as `entries` keys them): the deselects' read
    # off their entries in C, then the few records
    used = set(map(place_of, map(_FIRST, by_entry)))
    for record in chain(state.tests.values(), map(record_of, others)):
        where = record.get("entry")
        if where:
            used.add(_place(where))
    used.update(map(_place, map(_ENTRY, state.ignored.values())))
    return {
        "counts": counts,
        "entries_used": len(used),
        "models": dict(sorted(models.items())),
        "left_out": (times, by_entry, others),  # for `used_entries`: split once
    }


_FIRST, _ENTRY = itemgetter(0), itemgetter("entry")
# an entry's location as a pair (in C): how the summaries count entries by place
place_of = attrgetter("location.file", "location.line")


def _place(where: str) -> tuple[str, int]:
    """A record's entry ('file:line', `str(Location)`) as the pair `place_of` reads."""
    file, _, line = where.rpartition(":")
    return file, int(line)


def used_entries(state: State) -> dict[str, dict[str, Any]]:
    """Each entry used, by location, with how many tests (`_entries`): what the
    summary file gives (the terminal summary counts them: `tally`)."""
    times, by_entry, others = tally(state)["left_out"]
    records = [
        *((r, 1) for r in state.tests.values()),
        *((made, times[id(made)]) for made in (*by_entry, *others)),
        *((r, 1) for r in state.ignored.values()),
    ]
    with collector_paused():
        return _entries(records)


def summarise(state: State, config: pytest.Config, exitstatus: int) -> dict:
    tallied = tally(state)
    shard_of = None
    if state.shard is not None:
        shard_of = {"id": state.shard[0], "count": state.shard[1]}
    return {
        "platform": state.rules.platform.name if state.rules.platform else "none",
        "variant": state.rules.variant,
        "target": state.rules.name,
        "suite": config.getoption(opt.SUITE.dest),
        "simulated": state.simulated,
        "hardware": state.detection.hardware,
        "exitstatus": exitstatus,
        "shard": shard_of,
        "counts": tallied["counts"],
        "entries": used_entries(state),
        "models": tallied["models"],
        "flaky": sorted(n for n in state.reran if state.outcomes.get(n) == "passed"),
        "durations": state.durations_seen,
        "total_seconds": round(sum(state.durations_seen.values()), 6),
        "results": results(state),
    }


# what `history` reads of a test's record: its fate, how an expected failure went,
# and the entry that decided it
_RESULT_KEYS = (
    "fate", "expectation", "target", "entry", "entry_kind", "reason", "issue", "rerun",
)  # fmt: skip


def results(state: State) -> dict[str, Any]:
    """The summary's `results` (`results_block`) from what the run's reports said.
    `history ingest` reads a session from this instead of its JUnit file."""
    said = state.said
    tests = ((nodeid, said.get(nodeid), r) for nodeid, r in state.tests.items())
    return results_block(tests, state.said_again)


Said = tuple[str, "str | None", str]  # a JUnit result element, its type and message


def results_block(
    tests: Iterable[tuple[str, Said | None, Record]], teardown: dict[str, str]
) -> dict[str, Any]:
    """Each test that did not pass (what its JUnit testcase says: `as_junit`), or
    that an entry (a flaky one too) decided, with its record (one copy of each
    record): every other test of `durations` passed. `teardown`: the failed tests
    whose teardown failed too, which junitxml writes as a second testcase (an
    error), and its message. The one writer of this block (the history's test and
    benchmark generators call it too)."""
    records: list[dict[str, str]] = []
    index: dict[tuple[tuple[str, str], ...], int] = {}
    rows: dict[str, list[Any]] = {}
    for nodeid, told, record in tests:
        if told is None and "entry" not in record and "rerun" not in record:
            continue  # passed, as nothing decided: most tests
        kept = tuple((k, record[k]) for k in _RESULT_KEYS if k in record)
        at = index.get(kept)
        if at is None:
            at = index[kept] = len(records)
            records.append(dict(kept))
        tag, kind, message = told or (None, None, None)
        rows[nodeid] = [tag, kind, message, at]
    return {"records": records, "tests": rows, "teardown": teardown}
