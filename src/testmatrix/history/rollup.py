"""The `state` rollup: per target and test, the build's outcome folded into the
current streak and the recent outcomes. Ingest appends a build to it; a build older
than the newest (a backfill) rebuilds its targets' rows from `results`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .outcomes import (
    BY_CODE,
    CODE,
    LETTERS,
    RANK,
    SKIPPED,
    TEST_PASSED,
    Outcome,
    letter_of,
)
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
    "seen_at",
    "recent",
)
# a job's result of one test: (outcome code, suite id, entry id, message id)
Item = tuple[int, int, "int | None", "int | None"]
# (target, test) -> the build's one result there, or a list where several jobs ran it
Pairs = dict[tuple[int, int], "Item | list[Item]"]
PASS_CODES = frozenset(CODE[o] for o in TEST_PASSED)
RUN_CODES = frozenset(CODE[o] for o in Outcome if o not in SKIPPED)
LETTER = {code: LETTERS[o] for code, o in BY_CODE.items()}
_RANK = {code: RANK[o] for code, o in BY_CODE.items()}


def advance(
    prev: Sequence[Any] | None,
    key: tuple[int, int],
    build: int,
    ordinal: int,
    items: Item | list[Item],
) -> tuple:
    """The state row after one more build (the target's `ordinal`-th) in which these
    jobs ran the test."""
    if isinstance(items, tuple):
        code, suite, entry, message = items
        letter = LETTER[code]
    else:
        code, suite, entry, message = min(items, key=lambda i: _RANK[i[0]])
        letter = letter_of([BY_CODE[i[0]] for i in items])
    passed = build if code in PASS_CODES else None
    ran = build if code in RUN_CODES else None
    if prev is None:
        return (
            *key,
            suite,
            code,
            entry,
            message,
            build,
            1,
            passed,
            ran,
            build,
            build,
            ordinal,
            letter,
        )
    same = prev[3] == code
    recent = prev[13] + "." * (ordinal - prev[12] - 1) + letter
    return (
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
        ordinal,
        recent[-RECENT_DEPTH:],
    )


def add(pairs: Pairs, key: tuple[int, int], item: Item) -> None:
    found = pairs.get(key)
    if found is None:
        pairs[key] = item
    elif isinstance(found, list):
        found.append(item)
    else:
        pairs[key] = [found, item]


_GAP = "excluded.seen_at - state.seen_at - 1"  # builds of the target without the test


def upsert(depth: int) -> str:
    """advance() in SQL, for a whole build at once: the database folds the rows in C.
    The right-hand sides read the row as it was (SQLite and PostgreSQL agree).

    `recent` keeps at least `depth` letters, cut back only once it holds twice that
    many (cutting it on every build cost a third of the upsert)."""
    return f"""INSERT INTO state ({", ".join(COLUMNS)})
VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
ON CONFLICT (target_id, test_id) DO UPDATE SET
 suite_id = excluded.suite_id, entry_id = excluded.entry_id,
 message_id = excluded.message_id, outcome = excluded.outcome,
 streak_start = CASE WHEN state.outcome = excluded.outcome
  THEN state.streak_start ELSE excluded.streak_start END,
 streak_len = CASE WHEN state.outcome = excluded.outcome
  THEN state.streak_len + 1 ELSE 1 END,
 last_pass = coalesce(excluded.last_pass, state.last_pass),
 last_run = coalesce(excluded.last_run, state.last_run),
 last_seen = excluded.last_seen, seen_at = excluded.seen_at,
 recent = CASE WHEN {_GAP} >= {depth} THEN excluded.recent
  ELSE CASE WHEN length(state.recent) >= {2 * depth}
   THEN substr(state.recent, {depth + 1}) ELSE state.recent END
   || substr('{"." * depth}', 1, {_GAP}) || excluded.recent END"""


_UPSERT = upsert(RECENT_DEPTH)


def build_row(
    build: int, ordinal: int, key: tuple[int, int], items: list[Item]
) -> tuple:
    """A state row of one build's results of a test, for the upsert (its other
    columns come from the row it updates)."""
    code, suite, entry, message = min(items, key=lambda i: _RANK[i[0]])
    letter = letter_of([BY_CODE[i[0]] for i in items])
    passed = build if code in PASS_CODES else None
    ran = build if code in RUN_CODES else None
    return (*key, suite, code, entry, message, build, passed, ran, build, build,
            ordinal, letter)  # fmt: skip


def append_build(store: Store, rows: list[tuple]) -> None:
    """Fold the newest build's rows (`build_row`'s, one per target and test) into
    the state: advance() done by the database, one upsert per test."""
    rows.sort()  # in the state's key order: the b-tree is walked once
    store.executemany(_UPSERT, rows)


def ordinals(store: Store) -> dict[int, int]:
    """Each target's number of builds so far: the next build's number there."""
    return dict(
        store.rows(
            "SELECT target_id, count(DISTINCT build_id) FROM jobs GROUP BY target_id"
        )
    )


def _replace(store: Store, targets: list[int], rows: list[Any]) -> None:
    """The targets' state rows, written anew: one bulk delete and insert costs less
    than an update per row."""
    marks = ", ".join("?" * len(targets))
    store.execute(f"DELETE FROM state WHERE target_id IN ({marks})", targets)
    rows.sort()  # in primary key order: appends to the b-tree, no page splits
    store.insert_many("state", COLUMNS, rows)


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
    # each build's number among its target's builds (a job with no results counts)
    ordinal: dict[tuple[int, int], int] = {}
    counts: dict[int, int] = {}
    for target, build, _ in store.rows(
        "SELECT DISTINCT j.target_id, j.build_id, b.started FROM jobs j"
        f" JOIN builds b ON b.id = j.build_id WHERE j.target_id IN ({marks})"
        " ORDER BY b.started, j.build_id",
        targets,
    ):
        ordinal[(target, build)] = counts[target] = counts.get(target, -1) + 1
    state: dict[tuple[int, int], tuple] = {}
    start = 0
    while start < len(rows):
        build = rows[start][0]
        end = start
        while end < len(rows) and rows[end][0] == build:
            end += 1
        pairs: Pairs = {}
        for _, target, test, code, suite, entry, message in rows[start:end]:
            add(pairs, (target, test), (code, suite, entry, message))
        for key, items in pairs.items():
            place = ordinal[(key[0], build)]
            state[key] = advance(state.get(key), key, build, place, items)
        start = end
    _replace(store, targets, list(state.values()))
