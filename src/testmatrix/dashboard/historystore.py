"""The dashboard's HistorySource answered by the history store (issue 21): builds,
per-session counts, per-test results and entries read from its tables, and each red
cell's streak from its status query."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..history.base import Context
from ..history.outcomes import BY_CODE, RANK, RED, Outcome
from ..history.store import Store
from ..history.streaks import red_streaks
from ..results import reports
from .data import OUTCOME_OF, Build, Cell, Entry, Result
from .summaries import STATUS

# ... and in a summary's counts, which `report` words a cell from
COUNT = {
    Outcome.PASSED: "passed",
    Outcome.RERUN_PASSED: "passed",  # and one more "flaky", as the plugin counts
    Outcome.FAILED: "failed",
    Outcome.ERROR: "errors",
    Outcome.UNEXPECTED_PASS: "unexpected_pass",
    Outcome.FAILS_DIFFERENTLY: "fails_differently",
    Outcome.EXPECTED_FAIL: "expected_fail",
    Outcome.SKIPPED_BY_ENTRY: "skipped_by_entry",
    Outcome.SKIPPED_IN_CODE: "skipped_in_code",
}
_ROWS = (
    "SELECT j.target_id, j.suite_id, r.test_id, r.outcome, r.entry_id, r.message_id"
    " FROM results r JOIN jobs j ON j.id = r.job_id WHERE r.id BETWEEN ? AND ?"
)


class StoreSource:
    """A history store as the dashboard asks it (dashboard.HistorySource)."""

    def __init__(self, store: Store):
        self.store = store
        self.ctx = Context(store)
        self._by_name = {b.name: b for b in self.ctx.builds.values()}
        self._streaks: dict[tuple[str, str], str] | None = None

    def builds(self, last: int) -> Sequence[Build]:
        ordered = sorted(self.ctx.builds.values(), key=lambda b: b.rank)[-last:]
        return [Build(b.name, b.commit or None, b.date or None) for b in ordered]

    def _rows(self, build: Build) -> list[tuple]:
        return self.store.rows(_ROWS, self.ctx.result_range(self._by_name[build.id]))

    def cells(self, build: Build) -> Iterable[Cell]:
        counts: dict[tuple[int, int], dict[str, int]] = {}
        used: dict[tuple[int, int], set[int]] = {}  # the entries each session cited
        for target, suite, _, code, entry, _ in self._rows(build):
            if entry:
                used.setdefault((target, suite), set()).add(entry)
            row = counts.setdefault((target, suite), {"passed": 0})
            outcome = BY_CODE[code]
            row[COUNT[outcome]] = row.get(COUNT[outcome], 0) + 1
            if outcome is Outcome.RERUN_PASSED:
                row["flaky"] = row.get("flaky", 0) + 1
        simulated = {
            (t, s): bool(flag)
            for t, s, flag in self.store.rows(
                "SELECT target_id, suite_id, max(simulated) FROM jobs"
                " WHERE build_id = ? GROUP BY target_id, suite_id",
                (self._by_name[build.id].id,),
            )
        }
        newest = self.builds(1)[0].id == build.id
        ids = set().union(*used.values()) if used else set()
        locations = self.ctx.names("entries", "location", ids)
        for (target_id, suite_id), row in sorted(counts.items()):
            target, suite = self.ctx.targets[target_id], self.ctx.suites[suite_id]
            red = sum(row.get(COUNT[o], 0) for o in RED)
            sim = simulated.get((target_id, suite_id), False)
            words = reports._cell(
                {"counts": row, "exitstatus": int(red > 0), "simulated": sim}
            )
            icon, _, text = words.partition(" ")  # as summaries.cell_of reads it
            note = self.streaks().get((target, suite)) if newest and red else None
            yield Cell(
                target,
                suite,
                row,
                int(red > 0),
                STATUS.get(icon, "warn"),
                f"{text} ({note})" if note else text,
                simulated=sim,
                entries=tuple(
                    sorted({locations[e] for e in used.get((target_id, suite_id), ())})
                ),
            )

    def results(
        self, builds: Sequence[Build]
    ) -> Iterable[tuple[str, str, int, Result]]:
        for index, build in enumerate(builds):
            rows = self._rows(build)
            tests = self.ctx.names("tests", "nodeid", {r[2] for r in rows})
            messages = self.ctx.names("messages", "text", {r[5] for r in rows if r[5]})
            entries = self.ctx.names(
                "entries", "location", {r[4] for r in rows if r[4]}
            )
            # a test several jobs ran: the build shows the worst of them
            chosen: dict[tuple[int, int], tuple] = {}
            for row in rows:
                key = (row[0], row[2])
                if key not in chosen or _worse(row[3], chosen[key][3]):
                    chosen[key] = row
            for target, suite, test, code, entry, message in chosen.values():
                yield (
                    tests[test],
                    self.ctx.targets[target],
                    index,
                    Result(
                        OUTCOME_OF[BY_CODE[code]],
                        self.ctx.suites[suite],
                        entries.get(entry) if entry else None,
                        messages.get(message) if message else None,
                    ),
                )

    def entries(self) -> Iterable[Entry]:
        for location, kind, reason, issue in self.store.rows(
            "SELECT location, kind, reason, issue FROM entries"
        ):
            yield Entry(location, kind, reason, issue or None)

    def models(self, build: Build) -> Mapping[str, Mapping[str, Mapping[str, int]]]:
        return {}  # the history keeps no per-model counts

    def streaks(self) -> dict[tuple[str, str], str]:
        """Each red session's streak: 'failing since #123 (date), 5 builds; ...'."""
        if self._streaks is None:
            self._streaks = red_streaks(self.store)
        return self._streaks


def _worse(code: int, than: int) -> bool:
    return RANK[BY_CODE[code]] < RANK[BY_CODE[than]]
