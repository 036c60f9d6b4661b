"""The `state` rollup: per target and test, the build's outcome folded into the
current streak and the recent outcomes. Ingest appends a build to it; a build older
than the newest (a backfill) rebuilds its targets' rows from `results`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .outcomes import BY_CODE, CODE, RANK, SKIPPED, TEST_PASSED, Outcome, letter_of
from .store import RECENT_DEPTH, Store

COLUMNS = (
    "target_id",
    "test_id",
    "suite_id",
    "outcome",
    "entry_id",
    "message_id",
    "streak_start",
    "streak_len",
    "last_pass",
    "last_run",
    "first_seen",
    "last_seen",
    "recent_builds",
    "recent",
)
# a job's result of one test: (outcome code, suite id, entry id, message id)
Item = tuple[int, int, "int | None", "int | None"]
_PASS_CODES = frozenset(CODE[o] for o in TEST_PASSED)
_RUN_CODES = frozenset(CODE[o] for o in Outcome if o not in SKIPPED)


def advance(
    prev: Sequence[Any] | None, key: tuple[int, int], build: int, items: list[Item]
) -> list[Any]:
    """The state row after one more build in which these jobs ran the test."""
    if len(items) == 1:
        code, suite, entry, message = items[0]
        letter = letter_of([BY_CODE[code]])
    else:
        outcomes = [BY_CODE[i[0]] for i in items]
        code, suite, entry, message = min(items, key=lambda i: RANK[BY_CODE[i[0]]])
        letter = letter_of(outcomes)
    passed = build if code in _PASS_CODES else None
    ran = build if code in _RUN_CODES else None
    if prev is None:
        return [*key, suite, code, entry, message, build, 1, passed, ran, build, build,
                str(build), letter]  # fmt: skip
    same = prev[3] == code
    builds = f"{prev[12]} {build}"
    recent = prev[13] + letter
    if len(recent) > RECENT_DEPTH:
        recent = recent[-RECENT_DEPTH:]
        builds = builds.split(" ", 1)[1]
    return [
        *key,
        suite,
        code,
        entry,
        message,
        prev[6] if same else build,
        prev[7] + 1 if same else 1,
        passed or prev[8],
        ran or prev[9],
        prev[10],
        build,
        builds,
        recent,
    ]


def by_pair(rows: Iterable[Sequence[Any]]) -> dict[tuple[int, int], list[Item]]:
    """(target id, test id, outcome, suite id, entry id, message id) rows of one
    build, grouped by target and test."""
    out: dict[tuple[int, int], list[Item]] = {}
    for target, test, code, suite, entry, message in rows:
        item = (code, suite, entry, message)
        found = out.get((target, test))
        if found is None:
            out[(target, test)] = [item]
        else:
            found.append(item)
    return out


def append_build(
    store: Store, build: int, targets: list[int], pairs: dict[tuple[int, int], list[Item]]
) -> None:
    """Fold the newest build into the state rows of its targets."""
    marks = ", ".join("?" * len(targets))
    rows = store.rows(
        f"SELECT {', '.join(COLUMNS)} FROM state WHERE target_id IN ({marks})", targets
    )
    current = {(r[0], r[1]): r for r in rows}
    changed = [
        advance(current.get(key), key, build, items) for key, items in pairs.items()
    ]
    _replace(store, targets, changed, keep=[r for k, r in current.items() if k not in pairs])


def _replace(
    store: Store, targets: list[int], rows: list[list[Any]], keep: list[Any]
) -> None:
    """The targets' state rows, written anew: one bulk delete and insert costs less
    than an update per row."""
    marks = ", ".join("?" * len(targets))
    store.execute(f"DELETE FROM state WHERE target_id IN ({marks})", targets)
    store.insert_many("state", COLUMNS, [*keep, *rows])


def rebuild(store: Store, targets: list[int]) -> None:
    """The targets' state rows from every result, oldest build first."""
    marks = ", ".join("?" * len(targets))
    rows = store.rows(
        "SELECT j.build_id, j.target_id, r.test_id, r.outcome, j.suite_id,"
        " r.entry_id, r.message_id FROM results r JOIN jobs j ON j.id = r.job_id"
        " JOIN builds b ON b.id = j.build_id"
        f" WHERE j.target_id IN ({marks}) ORDER BY b.started, b.id",
        targets,
    )
    state: dict[tuple[int, int], list[Any]] = {}
    start = 0
    while start < len(rows):
        build = rows[start][0]
        end = start
        while end < len(rows) and rows[end][0] == build:
            end += 1
        for key, items in by_pair(r[1:] for r in rows[start:end]).items():
            state[key] = advance(state.get(key), key, build, items)
        start = end
    _replace(store, targets, list(state.values()), keep=[])
