"""DashboardData from a history store: the protocol a store implements, and the one
function that turns what it answers into the site's data.

The history store (issue 21) answers it from its queries: `builds` from its build
table, `cells` from its per-build counts per target and suite, `results` from its
status rows (one per test, target and build), `entries` and `models` from the rows'
entry and model columns. What changed between builds and each entry's evidence are
then computed from these results by DashboardData itself, so the site cannot
disagree with the per-test outcomes it shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from .data import Build, Cell, DashboardData, Entry, Result, interned


class HistorySource(Protocol):
    """What the dashboard asks of a history store."""

    def builds(self, last: int) -> Sequence[Build]:
        """The last `last` builds, oldest first."""
        ...

    def cells(self, build: Build) -> Iterable[Cell]:
        """One cell per session (target x suite) of a build, shards merged; see
        summaries.cell_of for the words `report` gives its counts."""
        ...

    def results(
        self, builds: Sequence[Build]
    ) -> Iterable[tuple[str, str, int, Result]]:
        """(test id, target, index into `builds`, result) for every test that ran
        (or was skipped) on a target in one of these builds."""
        ...

    def entries(self) -> Iterable[Entry]:
        """Every entry a result of these builds cites."""
        ...

    def models(self, build: Build) -> Mapping[str, Mapping[str, Mapping[str, int]]]:
        """{model: {target: {outcome: count}}} over every suite of a build."""
        ...


def from_history(source: HistorySource, last: int = 30) -> DashboardData:
    """The dashboard of a store's last `last` builds."""
    builds = list(source.builds(last))
    data = DashboardData(
        builds=builds,
        cells=[{(c.target, c.suite): c for c in source.cells(b)} for b in builds],
        tests={},
        entries={e.location: e for e in source.entries()},
        models=[
            {
                m: {t: dict(c) for t, c in by.items()}
                for m, by in source.models(b).items()
            }
            for b in builds
        ],
    )
    pool: dict[Result, Result] = {}
    width = len(builds)
    for test, target, index, result in source.results(builds):
        row = data.tests.setdefault(test, {}).setdefault(target, [None] * width)
        row[index] = interned(pool, result)
    return data
