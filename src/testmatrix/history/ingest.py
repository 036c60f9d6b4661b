"""Ingest one build: its jobs' results into the store, in one transaction, once."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import TestmatrixError
from . import rollup
from .artifacts import Job
from .outcomes import CODE
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


def _ids(
    store: Store, table: str, columns: tuple[str, ...], wanted: Iterable[tuple]
) -> dict[tuple, int]:
    """Ids of dimension rows by their values, inserting the ones missing (the
    writer's lock is held: nobody else assigns ids meanwhile)."""
    wanted = set(wanted)
    names = ", ".join(columns)
    known: dict[tuple, int] = {}
    for row in store.rows(f"SELECT id, {names} FROM {table}"):
        known[tuple(row[1:])] = row[0]
    missing = sorted(wanted - known.keys())
    if missing:
        first = (store.value(f"SELECT max(id) FROM {table}") or 0) + 1
        rows = [(first + i, *values) for i, values in enumerate(missing)]
        store.insert_many(table, ("id", *columns), rows)
        known.update({tuple(r[1:]): r[0] for r in rows})
    return known


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
    with store.transaction():
        if store.value("SELECT id FROM builds WHERE name = ?", (info.name,)):
            return Ingested(info.name, len(jobs), count, new=False, rebuilt=False)
        build = (store.value("SELECT max(id) FROM builds") or 0) + 1
        newest = store.value("SELECT max(started) FROM builds")
        store.execute(
            "INSERT INTO builds (id, name, commit_sha, branch, started, ingested)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (build, info.name, info.commit[:100], info.branch[:200], date, now),
        )
        rows = _rows(
            store, build, jobs, _dimensions(store, jobs), rollup.ordinals(store)
        )
        store.insert_many("jobs", _JOB_COLUMNS, rows.jobs)
        store.insert_many("results", _RESULT_COLUMNS, rows.facts)
        if rows.facts:
            store.execute(
                "UPDATE builds SET first_result = ?, last_result = ? WHERE id = ?",
                (rows.facts[0][0], rows.facts[-1][0], build),
            )
        touched = sorted({r[2] for r in rows.jobs})
        rebuilt = newest is not None and date < newest
        if rebuilt:
            rollup.rebuild(store, touched)
        elif touched:
            rollup.append_build(store, rows.state)
    return Ingested(info.name, len(jobs), count, new=True, rebuilt=rebuilt)


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


@dataclass
class _Dimensions:
    """Ids of the build's names, texts and entries (new ones inserted)."""

    targets: dict[tuple, int]
    suites: dict[tuple, int]
    tests: dict[str, int]
    entries: dict[tuple, int]
    messages: dict[tuple, int]


def _dimensions(store: Store, jobs: list[Job]) -> _Dimensions:
    results = [r for j in jobs for r in j.results]
    tests = _ids(
        store, "tests", ("nodeid",), {(n,) for n in {r.nodeid for r in results}}
    )
    return _Dimensions(
        _ids(store, "targets", ("name",), ((j.target,) for j in jobs)),
        _ids(store, "suites", ("name",), ((j.suite,) for j in jobs)),
        {k[0]: v for k, v in tests.items()},
        _ids(
            store,
            "entries",
            ("location", "kind", "reason", "issue"),
            (r.entry for r in results if r.entry is not None),
        ),
        _ids(
            store,
            "messages",
            ("error_type", "text"),
            ((r.error_type, r.message) for r in results if r.message or r.error_type),
        ),
    )


@dataclass
class _Rows:
    jobs: list[tuple[Any, ...]]
    facts: list[tuple[Any, ...]]
    state: list[tuple[Any, ...]]  # rollup.build_row's, one per target and test


def _rows(
    store: Store, build: int, jobs: list[Job], dims: _Dimensions, seen: dict[int, int]
) -> _Rows:
    """The build's job, result and state rows; ids numbered after the last ones.
    `seen`: each target's number of builds before this one."""
    next_job = (store.value("SELECT max(id) FROM jobs") or 0) + 1
    next_result = (store.value("SELECT max(id) FROM results") or 0) + 1
    out = _Rows([], [], [])
    tests, entries, messages, codes = dims.tests, dims.entries, dims.messages, CODE
    fact, state = out.facts.append, out.state
    letter, passes, runs = rollup.LETTER, rollup.PASS_CODES, rollup.RUN_CODES
    where: dict[tuple[int, int], int] = {}  # (target, test) -> its state row
    several: dict[tuple[int, int], list[rollup.Item]] = {}
    for job_id, job in enumerate(jobs, next_job):
        target, suite = dims.targets[(job.target,)], dims.suites[(job.suite,)]
        out.jobs.append(
            (
                job_id,
                build,
                target,
                suite,
                job.shard,
                job.source[:1000],
                int(job.simulated),
            )
        )
        ordinal = seen.get(target, 0)
        for r in job.results:  # the hot loop: 50,000 rounds a nightly build
            test, code = tests[r.nodeid], codes[r.outcome]
            entry = None if r.entry is None else entries[r.entry]
            message = (
                messages.get((r.error_type, r.message))
                if r.message or r.error_type
                else None
            )
            fact((next_result, job_id, test, code, entry, message, r.duration))
            next_result += 1
            key = (target, test)
            if key not in where:
                where[key] = len(state)
                state.append(
                    (target, test, suite, code, entry, message, build,
                     build if code in passes else None,
                     build if code in runs else None,
                     build, build, ordinal, letter[code])
                )  # fmt: skip
            else:  # another job ran it too: the worst of them, below
                first = state[where[key]]
                items = several.setdefault(key, [first[3:4] + first[2:3] + first[4:6]])
                items.append((code, suite, entry, message))
    for key, items in several.items():
        state[where[key]] = rollup.build_row(build, seen.get(key[0], 0), key, items)
    return out
