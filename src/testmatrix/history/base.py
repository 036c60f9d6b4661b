"""What every query reads first: builds in order, names by id, each target's
builds, and the `state` rows decoded and caught up to their target's newest build."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import TestmatrixError
from .outcomes import BY_CODE, CODE, SKIPPED, TEST_PASSED, Outcome
from .store import RECENT_DEPTH, Store


@dataclass(frozen=True)
class Build:
    id: int
    name: str
    date: str
    commit: str
    branch: str
    rank: int  # its place in build order (date, then ingest order)


@dataclass
class StateRow:
    """One target and test's rollup, decoded."""

    target: int
    test: int
    suite: int
    outcome: Outcome
    entry: int | None
    message: int | None
    streak_start: int
    streak_len: int
    last_pass: int | None
    last_run: int | None
    first_seen: int
    last_seen: int
    seen_at: int  # the target's build number (0: its first) of last_seen
    recent: str  # one letter per build of the target, ending at seen_at


class Context:
    """Dimension tables the queries name things by, loaded once per query."""

    def __init__(self, store: Store):
        self.store = store
        rows = store.rows(
            "SELECT id, name, started, commit_sha, branch FROM builds"
            " ORDER BY started, id"
        )
        self.builds = {
            r[0]: Build(r[0], r[1], r[2], r[3], r[4], n) for n, r in enumerate(rows)
        }
        self.by_name = {b.name: b for b in self.builds.values()}
        self.targets = dict(store.rows("SELECT id, name FROM targets"))
        self.suites = dict(store.rows("SELECT id, name FROM suites"))
        self._target_builds: dict[int, list[int]] | None = None

    def result_range(self, build: Build) -> tuple[int, int]:
        """The ids of a build's results (an empty range for a build with none)."""
        row = self.store.rows(
            "SELECT first_result, last_result FROM builds WHERE id = ?", (build.id,)
        )[0]
        return (row[0], row[1]) if row[0] is not None else (1, 0)

    def build(self, name: str) -> Build:
        found = self.by_name.get(name)
        if found is None:
            raise TestmatrixError(
                f"{self.store.name}: no build {name!r} in the history"
            )
        return found

    def target_builds(self) -> dict[int, list[int]]:
        """Each target's builds, oldest first."""
        if self._target_builds is None:
            out: dict[int, list[int]] = {}
            for target, build in self.store.rows(
                "SELECT DISTINCT target_id, build_id FROM jobs"
            ):
                out.setdefault(target, []).append(build)
            for builds in out.values():
                builds.sort(key=lambda b: self.builds[b].rank)
            self._target_builds = out
        return self._target_builds

    def window(self, target: int, size: int) -> set[int]:
        """The target's last `size` builds."""
        return set(self.target_builds().get(target, [])[-size:])

    def builds_of(self, target: int) -> list[int]:
        """The target's builds, oldest first."""
        return self.target_builds().get(target, [])

    def target_ids(self, names: tuple[str, ...]) -> list[int] | None:
        """Ids of targets by name (None: every target); an unknown one is an error."""
        if not names:
            return None
        by_name = {v: k for k, v in self.targets.items()}
        missing = [n for n in names if n not in by_name]
        if missing:
            known = ", ".join(sorted(by_name)) or "none"
            raise TestmatrixError(
                f"no target {missing[0]!r} in the history (known: {known})"
            )
        return [by_name[n] for n in names]

    def state(
        self, targets: list[int] | None = None, where: str = ""
    ) -> list[StateRow]:
        sql = (
            "SELECT target_id, test_id, suite_id, outcome, entry_id, message_id,"
            " streak_start, streak_len, last_pass, last_run, first_seen, last_seen,"
            " seen_at, recent FROM state"
        )
        params: list[Any] = []
        clauses = [where] if where else []
        if targets is not None:
            clauses.append(f"target_id IN ({', '.join('?' * len(targets))})")
            params += targets
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        out = []
        for r in self.store.rows(sql, params):
            builds = self.builds_of(r[0])
            streak, passed, ran, seen, seen_at, recent = caught_up(
                builds, r[3], r[7], r[8], r[9], r[11], r[12], r[13]
            )
            out.append(
                StateRow(
                    r[0],
                    r[1],
                    r[2],
                    BY_CODE[r[3]],
                    r[4],
                    r[5],
                    r[6],
                    streak,
                    passed,
                    ran,
                    r[10],
                    seen,
                    seen_at,
                    recent,
                )
            )
        return out

    def names(self, table: str, column: str, ids: set[int]) -> dict[int, Any]:
        """Rows of a dimension table by id, fetched for these ids only."""
        out: dict[int, Any] = {}
        wanted = sorted(i for i in ids if i is not None)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ", ".join("?" * len(part))
            for row in self.store.rows(
                f"SELECT id, {column} FROM {table} WHERE id IN ({marks})", part
            ):
                out[row[0]] = row[1] if len(row) == 2 else row[1:]
        return out


def check_window(name: str, size: int) -> None:
    if not 1 <= size <= RECENT_DEPTH:
        raise TestmatrixError(
            f"{name} {size}: give 1 to {RECENT_DEPTH} builds (the history keeps each "
            f"test's last {RECENT_DEPTH} outcomes per target)"
        )


def in_window(row: StateRow, builds: list[int], size: int) -> list[tuple[int, str]]:
    """(build id, letter) of each build among the target's last `size` (`builds`:
    the target's builds, oldest first) that reported the test, oldest first."""
    first = row.seen_at - len(row.recent) + 1  # the target build number of recent[0]
    skip = max(0, len(builds) - size - first)
    return [
        (builds[first + i], letter)
        for i, letter in enumerate(row.recent[skip:], skip)
        if letter != "."
    ]


def letters(row: StateRow, builds: list[int], size: int) -> str:
    """The letters of `in_window`, without the builds: a string slice, no list."""
    first = row.seen_at - len(row.recent) + 1
    return row.recent[max(0, len(builds) - size - first) :].replace(".", "")


PASSING = frozenset(CODE[o] for o in TEST_PASSED)
RUNNING = frozenset(CODE[o] for o in Outcome if o not in SKIPPED)


def caught_up(
    builds: list[int],
    code: int,
    streak: int,
    last_pass: int | None,
    last_run: int | None,
    last_seen: int,
    seen_at: int,
    recent: str,
) -> tuple[int, int | None, int | None, int, int, str]:
    """A state row's streak, last pass, last run, last seen, build number and recent
    letters as of its target's newest build (`builds`: the target's, oldest first).
    An ingest writes a row only when its test's result changes (rollup.py): a row
    stands for every build of its target since `seen_at`, with its last letter
    ('.': the test is still missing)."""
    gap = len(builds) - 1 - seen_at
    if gap <= 0:
        return streak, last_pass, last_run, last_seen, seen_at, recent
    letter = recent[-1]
    recent = letter * RECENT_DEPTH if gap >= RECENT_DEPTH else recent + letter * gap
    if letter != ".":
        newest = builds[-1]
        streak, last_seen = streak + gap, newest
        if code in PASSING:
            last_pass = newest
        if code in RUNNING:
            last_run = newest
    return streak, last_pass, last_run, last_seen, len(builds) - 1, recent
