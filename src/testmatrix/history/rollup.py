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


# A row is written only when its test's result changes (outcome, letter, suite,
# entry or message) or the test goes missing: an unchanged row stands for every build
# of its target since `seen_at` (its last letter repeated; '.': still missing), and
# readers catch it up (base.caught_up). Most of a nightly build's 50,000 results
# change nothing, and rewriting each row with its recent letters was most of an
# ingest's database work.
_LAST = "substr({t}.recent, length({t}.recent))"  # the letter the row continues


def _fill(count: str, letter: str, depth: int) -> str:
    """`count` (at most `depth`) copies of `letter`, in SQL."""
    return f"replace(substr('{'.' * depth}', 1, {count}), '.', {letter})"


def _extended(recent: str, gap: str, letter: str, depth: int) -> str:
    """`recent` and `gap` more builds of `letter` after it, in SQL: cut back once it
    holds twice `depth` letters (cutting it on every write cost a third of it), and
    only the filler where the gap alone fills the window."""
    kept = (
        f"CASE WHEN length({recent}) >= {2 * depth} THEN substr({recent}, {depth + 1})"
        f" ELSE {recent} END"
    )
    return (
        f"CASE WHEN {gap} >= {depth} THEN {_fill(str(depth), letter, depth)}"
        f" ELSE {kept} || {_fill(gap, letter, depth)} END"
    )


def _codes(codes: frozenset[int]) -> str:
    return ", ".join(str(c) for c in sorted(codes))


def upsert(depth: int, postgres: bool = False) -> str:
    """The build's results folded into the state, one row per target and test, by
    the database (in C): new tests inserted, changed ones advanced, unchanged ones
    not written at all (the WHERE of DO UPDATE). The right-hand sides read the row as
    it was (SQLite and PostgreSQL agree). Two parameters follow the row's: the
    target's previous build, for the builds the row stood for unwritten."""
    last = _LAST.format(t="state")
    gap = "(excluded.seen_at - state.seen_at - 1)"  # builds the row stood for
    stood = f"({gap} > 0 AND {last} <> '.')"
    differs = "IS DISTINCT FROM" if postgres else "IS NOT"
    return f"""INSERT INTO state ({", ".join(COLUMNS)})
VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
ON CONFLICT (target_id, test_id) DO UPDATE SET
 suite_id = excluded.suite_id, entry_id = excluded.entry_id,
 message_id = excluded.message_id, outcome = excluded.outcome,
 streak_start = CASE WHEN state.outcome = excluded.outcome
  THEN state.streak_start ELSE excluded.streak_start END,
 streak_len = CASE WHEN state.outcome = excluded.outcome
  THEN state.streak_len + CASE WHEN {last} <> '.' THEN {gap} ELSE 0 END + 1
  ELSE 1 END,
 last_pass = coalesce(excluded.last_pass, CASE WHEN {stood}
  AND state.outcome IN ({_codes(PASS_CODES)}) THEN ? ELSE state.last_pass END),
 last_run = coalesce(excluded.last_run, CASE WHEN {stood}
  AND state.outcome IN ({_codes(RUN_CODES)}) THEN ? ELSE state.last_run END),
 last_seen = excluded.last_seen, seen_at = excluded.seen_at,
 recent = {_extended("state.recent", gap, last, depth)} || excluded.recent
WHERE state.outcome <> excluded.outcome OR state.suite_id <> excluded.suite_id
 OR state.entry_id {differs} excluded.entry_id
 OR state.message_id {differs} excluded.message_id OR {last} <> excluded.recent"""


def missing(depth: int, ordinal: int, previous: int | None) -> str:
    """The state of a test that a target's new build (its `ordinal`-th, after build
    `previous`) did not report and its last build did: a '.' written after the
    builds the row stood for. Parameters: the target and the test. The integers are
    ours, written into the statement."""
    last = _LAST.format(t="state")
    gap = f"({int(ordinal)} - seen_at - 1)"
    before = "NULL" if previous is None else str(int(previous))
    return f"""UPDATE state SET
 streak_len = streak_len + {gap},
 last_pass = CASE WHEN {gap} > 0 AND outcome IN ({_codes(PASS_CODES)})
  THEN {before} ELSE last_pass END,
 last_run = CASE WHEN {gap} > 0 AND outcome IN ({_codes(RUN_CODES)})
  THEN {before} ELSE last_run END,
 last_seen = CASE WHEN {gap} > 0 THEN {before} ELSE last_seen END,
 recent = {_extended("recent", gap, last, depth)} || '.',
 seen_at = {int(ordinal)}
WHERE target_id = ? AND test_id = ? AND seen_at < {int(ordinal)} AND {last} <> '.'"""


def build_row(
    build: int, ordinal: int, key: tuple[int, int], items: list[Item], previous: Any
) -> tuple:
    """A state row of one build's results of a test, for the upsert (its other
    columns come from the row it updates), and the target's previous build twice."""
    code, suite, entry, message = min(items, key=lambda i: _RANK[i[0]])
    letter = letter_of([BY_CODE[i[0]] for i in items])
    passed = build if code in PASS_CODES else None
    ran = build if code in RUN_CODES else None
    return (*key, suite, code, entry, message, build, passed, ran, build, build,
            ordinal, letter, previous, previous)  # fmt: skip


def previous_build(store: Store, target: int, build: int) -> int | None:
    """The target's newest build before `build` (None: its first)."""
    return store.value(
        "SELECT b.id FROM builds b WHERE b.id <> ? AND EXISTS (SELECT 1 FROM jobs j"
        " WHERE j.build_id = b.id AND j.target_id = ?)"
        " ORDER BY b.started DESC, b.id DESC LIMIT 1",
        (build, target),
    )


def state_of(store: Store, target: int) -> dict[tuple[int, int], tuple[Any, ...]]:
    """What the state says of a target's tests, to compare a build's results with:
    (target, test) -> (suite, outcome, entry, message, the letter the row continues).
    One pass over its rows: comparing in Python costs a tenth of letting the
    database look every row up."""
    return {
        (target, row[0]): row[1:]
        for row in store.rows(
            "SELECT test_id, suite_id, outcome, entry_id, message_id,"
            " substr(recent, length(recent)) FROM state WHERE target_id = ?",
            (target,),
        )
    }


def append_build(
    store: Store,
    rows: list[tuple],
    gone: dict[int, list[tuple[int, int]]],
    targets: dict[int, tuple[int, int | None]],
) -> None:
    """Fold the newest build into the state: the rows whose result changed and the
    new ones (`build_row`'s) upserted, a '.' for the tests (`gone`, per target) its
    targets' last builds had and it has not, nothing written for the rest.
    `targets`: each target the build ran -> (its number of builds before this one,
    its previous build)."""
    rows.sort()  # in the state's key order: the b-tree is walked once
    store.executemany(upsert(RECENT_DEPTH, store.postgres), rows)
    for target, keys in sorted(gone.items()):
        ordinal, previous = targets[target]
        store.executemany(missing(RECENT_DEPTH, ordinal, previous), sorted(keys))


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
    """The targets' state rows from every result, oldest build first: read a build
    at a time (its results are the range `first_result..last_result`), so memory
    holds one build's rows and the state, whatever the history's size, and the
    database sorts nothing."""
    marks = ", ".join("?" * len(targets))
    # each build's number among its target's builds (a job with no results counts)
    ordinal: dict[tuple[int, int], int] = {}
    counts: dict[int, int] = {}
    # each build's result range, oldest build first (the query's order)
    ranges: dict[int, tuple[int | None, int | None]] = {}
    for target, build, first, last, _ in store.rows(
        "SELECT DISTINCT j.target_id, j.build_id, b.first_result, b.last_result,"
        " b.started FROM jobs j JOIN builds b ON b.id = j.build_id"
        f" WHERE j.target_id IN ({marks}) ORDER BY b.started, j.build_id",
        targets,
    ):
        ordinal[(target, build)] = counts[target] = counts.get(target, -1) + 1
        ranges.setdefault(build, (first, last))
    state: dict[tuple[int, int], tuple] = {}
    get = state.get
    for build, (first, last) in ranges.items():
        if first is None:
            continue  # its jobs reported no test
        pairs: Pairs = {}
        for target, test, code, suite, entry, message in store.execute(
            "SELECT j.target_id, r.test_id, r.outcome, j.suite_id, r.entry_id,"
            " r.message_id FROM results r JOIN jobs j ON j.id = r.job_id"
            f" WHERE r.id BETWEEN ? AND ? AND j.target_id IN ({marks})",
            (first, last, *targets),
        ):
            add(pairs, (target, test), (code, suite, entry, message))
        for key, items in pairs.items():
            place = ordinal[(key[0], build)]
            state[key] = advance(get(key), key, build, place, items)
    for key, row in state.items():  # missing from the target's newest builds
        gap = counts[key[0]] - row[12]
        if gap > 0:
            dots = "." * RECENT_DEPTH if gap >= RECENT_DEPTH else row[13] + "." * gap
            state[key] = (*row[:12], counts[key[0]], dots[-2 * RECENT_DEPTH :])
    _replace(store, targets, list(state.values()))
