"""Ingest one build: its jobs' results into the store, in one transaction, once."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ..core.gcpause import collector_paused
from ..errors import TestmatrixError
from . import rollup
from .artifacts import Job
from .outcomes import CODE, Outcome
from .store import Store

MAX_BUILD_NAME = 200


@dataclass(frozen=True)
class BuildInfo:
    """What identifies a build: its id (Buildkite's number or UUID), commit, date
    and branch."""

    name: str
    commit: str = ""
    date: str = ""  # ISO 8601; the ingest's time where not given
    branch: str = ""


@dataclass(frozen=True)
class Ingested:
    """What an ingest did."""

    build: str
    jobs: int
    results: int
    new: bool  # False: the build was already there and nothing changed
    rebuilt: bool  # an older build than the newest: its targets' state rebuilt


def parse_date(text: str) -> str:
    """An ISO 8601 date or time, as UTC 'YYYY-MM-DDTHH:MM:SS+00:00'."""
    try:
        when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TestmatrixError(
            f"--date {text!r}: not an ISO 8601 date (2026-01-31 or "
            "2026-01-31T04:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return when.astimezone(_dt.timezone.utc).isoformat(timespec="seconds")


def ingest(store: Store, info: BuildInfo, jobs: list[Job]) -> Ingested:
    """Write a build's jobs and results, and fold them into `state`; a build already
    there is left as it is."""
    if not info.name or len(info.name) > MAX_BUILD_NAME:
        raise TestmatrixError(
            f"--build: give a build id of 1 to {MAX_BUILD_NAME} characters"
        )
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    date = parse_date(info.date or now)
    count = sum(len(j.results) for j in jobs)
    with collector_paused(), store.transaction():
        if store.value("SELECT id FROM builds WHERE name = ?", (info.name,)):
            return Ingested(info.name, len(jobs), count, new=False, rebuilt=False)
        # the rows die with _write's frame, before the collector runs again
        rebuilt = _write(store, info, date, now, jobs)
    return Ingested(info.name, len(jobs), count, new=True, rebuilt=rebuilt)


def _write(store: Store, info: BuildInfo, date: str, now: str, jobs: list[Job]) -> bool:
    """The build's rows written and folded into the state; whether its targets'
    state was rebuilt (a build older than the newest)."""
    build = (store.value("SELECT max(id) FROM builds") or 0) + 1
    newest = store.value("SELECT max(started) FROM builds")
    store.execute(
        "INSERT INTO builds (id, name, commit_sha, branch, started, ingested)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (build, info.name, info.commit[:100], info.branch[:200], date, now),
    )
    seen = rollup.ordinals(store)
    rebuilt = newest is not None and date < newest
    rows = _rows(store, build, jobs, seen, compare=not rebuilt)
    store.insert_many("jobs", _JOB_COLUMNS, rows.jobs)
    store.insert_many("results", _RESULT_COLUMNS, rows.facts)
    if rows.facts:
        store.execute(
            "UPDATE builds SET first_result = ?, last_result = ? WHERE id = ?",
            (rows.facts[0][0], rows.facts[-1][0], build),
        )
    touched = sorted(rows.previous)
    if rebuilt:
        rollup.rebuild(store, touched)
    elif touched:
        rollup.append_build(
            store, rows.changed(build, seen), rows.gone(), rows.targets(seen)
        )
    return rebuilt


_JOB_COLUMNS = (
    "id",
    "build_id",
    "target_id",
    "suite_id",
    "shard",
    "source",
    "simulated",
)
_RESULT_COLUMNS = (
    "id", "job_id", "test_id", "outcome", "entry_id", "message_id", "duration",
)  # fmt: skip


class _Ids:
    """A dimension table's ids by value: those there, loaded once, and the ones
    this build adds, numbered after them as they are met (inserted at the end)."""

    def __init__(self, store: Store, table: str, columns: tuple[str, ...]):
        self.table, self.columns = table, columns
        names = ", ".join(columns)
        rows = store.rows(f"SELECT {names}, id FROM {table}")
        if len(columns) == 1:  # keyed by the value itself, not a 1-tuple
            self.known: dict[Any, int] = dict(rows)
        else:
            self.known = {row[:-1]: row[-1] for row in rows}
        self.next = max(self.known.values(), default=0) + 1
        self.added: list[tuple[Any, ...]] = []

    def add(self, value: Any) -> int:
        """The id of a value not yet known."""
        found = self.known[value] = self.next
        self.next += 1
        values = value if isinstance(value, tuple) else (value,)
        self.added.append((found, *values))
        return found

    def get(self, value: Any) -> int:
        found = self.known.get(value)
        return self.add(value) if found is None else found

    def write(self, store: Store) -> None:
        if self.added:
            store.insert_many(self.table, ("id", *self.columns), self.added)


Key = tuple[int, int]  # (target, test)


@dataclass
class _Rows:
    jobs: list[tuple[Any, ...]]
    facts: list[tuple[Any, ...]]
    previous: dict[int, int | None]  # each target the build ran -> its last build
    # what the state says of each target's tests before this build, read as the
    # target's first job comes, and taken out as the build reports each test:
    # (suite, outcome, entry, message, its last letter); None for a backfill, whose
    # targets' state is rebuilt from the results instead
    before: dict[Key, tuple[Any, ...]] | None
    # each test's first result in the build (outcome, suite, entry, message), and
    # what the state said of it
    firsts: dict[Key, tuple[Any, ...]] = field(default_factory=dict)
    differ: list[Key] = field(default_factory=list)  # first results the state lacks
    several: dict[Key, list[rollup.Item]] = field(default_factory=dict)  # >1 job

    def targets(self, seen: dict[int, int]) -> dict[int, tuple[int, int | None]]:
        """Each target the build ran -> (its builds before this one, the last)."""
        return {t: (seen.get(t, 0), p) for t, p in self.previous.items()}

    def changed(self, build: int, seen: dict[int, int]) -> list[tuple[Any, ...]]:
        """The state rows (`rollup.build_row`'s) of the tests whose result differs
        from what the state says: most tests of a nightly have none. A test that
        several jobs ran is judged by all of its results."""
        differ = dict.fromkeys(self.differ)
        rows = {}
        for key, items in self.several.items():
            row = rollup.build_row(
                build, seen.get(key[0], 0), key, items, self.previous[key[0]]
            )
            if self.firsts[key][4] != (*row[2:6], row[12]):
                rows[key] = row
            differ.pop(key, None)
        for key in differ:
            first = self.firsts[key]
            rows[key] = rollup.build_row(
                build, seen.get(key[0], 0), key, [first[:4]], self.previous[key[0]]
            )
        return list(rows.values())

    def gone(self) -> dict[int, list[Key]]:
        """Each target's tests its last build reported and this one does not."""
        gone: dict[int, list[Key]] = {}
        for key, was in (self.before or {}).items():
            if was[4] != ".":
                gone.setdefault(key[0], []).append(key)
        return gone


_PASSED, _PASSED_CODE = Outcome.PASSED, CODE[Outcome.PASSED]


class _Dims:
    """The dimension tables' ids: targets, suites, tests, entries, messages."""

    def __init__(self, store: Store):
        self.targets = _Ids(store, "targets", ("name",))
        self.suites = _Ids(store, "suites", ("name",))
        self.tests = _Ids(store, "tests", ("nodeid",))
        self.entries = _Ids(store, "entries", ("location", "kind", "reason", "issue"))
        self.messages = _Ids(store, "messages", ("error_type", "text"))

    def write(self, store: Store) -> None:
        for ids in (self.targets, self.suites, self.tests, self.entries, self.messages):
            ids.write(store)


def _rows(
    store: Store, build: int, jobs: list[Job], seen: dict[int, int], *, compare: bool
) -> _Rows:
    """The build's job and result rows, and its new names and texts written; ids
    numbered after the last ones. With `compare`, each test's result against what
    the state says. `seen`: each target's number of builds before this one."""
    dims = _Dims(store)
    next_job = (store.value("SELECT max(id) FROM jobs") or 0) + 1
    next_result = (store.value("SELECT max(id) FROM results") or 0) + 1
    out = _Rows([], [], {}, {} if compare else None)
    for job_id, job in enumerate(jobs, next_job):
        target, suite = dims.targets.get(job.target), dims.suites.get(job.suite)
        out.jobs.append(
            (job_id, build, target, suite, job.shard, job.source[:1000],
             int(job.simulated))
        )  # fmt: skip
        if target not in out.previous:
            out.previous[target] = rollup.previous_build(store, target, build)
            if out.before is not None:
                out.before.update(rollup.state_of(store, target))
        next_result = _job_rows(dims, (job_id, target, suite), job, next_result, out)
    dims.write(store)
    return out


def _job_rows(
    dims: _Dims, head: tuple[int, int, int], job: Job, next_result: int, out: _Rows
) -> int:
    """One job's result rows, and each test's first result compared with what the
    state says (where another job of the build ran a test too, its results go to
    `several`); the next result id."""
    job_id, target, suite = head
    tests, entries, messages = dims.tests, dims.entries, dims.messages
    known_tests, known_entries = tests.known, entries.known
    known_messages = messages.known
    fact, codes, letter = out.facts.append, CODE, rollup.LETTER
    firsts, several, differ = out.firsts, out.several, out.differ.append
    before = out.before
    was_of = before.pop if before is not None else None
    # the hot loop: 50,000 rounds a nightly build, most of them plain passes that
    # change nothing in the state
    for nodeid, outcome, entry, error_type, text, duration, _ in job.results:
        test = known_tests.get(nodeid) or tests.add(nodeid)
        # an enum's hash is Python code: the common outcome by identity
        code = _PASSED_CODE if outcome is _PASSED else codes[outcome]
        entry_id = None
        if entry is not None:
            entry_id = known_entries.get(entry) or entries.add(entry)
        message = None
        if text or error_type:
            said = (error_type, text)
            message = known_messages.get(said) or messages.add(said)
        fact((next_result, job_id, test, code, entry_id, message, duration))
        next_result += 1
        if was_of is None:
            continue  # a backfill: the state is rebuilt from the results
        key = (target, test)
        first = firsts.get(key)
        if first is None:
            was = was_of(key, None)
            firsts[key] = (code, suite, entry_id, message, was)
            if was != (suite, code, entry_id, message, letter[code]):
                differ(key)
        else:  # another job ran it too: the worst of them, in `changed`
            items = several.setdefault(key, [first[:4]])
            items.append((code, suite, entry_id, message))
    return next_result
