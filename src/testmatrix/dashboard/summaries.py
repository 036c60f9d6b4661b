"""DashboardData from builds' session summaries (what `testmatrix report` merges)
and the JUnit files beside them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import TestmatrixError
from ..history.artifacts import session_results
from ..results import reports
from .data import OUTCOME_OF, Build, Cell, DashboardData, Entry, Result, interned

# what `report`'s Markdown cell starts with, as a word for the site's colours
STATUS = {":white_check_mark:": "ok", ":x:": "fail", ":warning:": "warn"}

BuildInput = Path | Sequence[Path]


def summary_files(build: BuildInput) -> list[Path]:
    """A build's summaries: a directory's summary*.json at any depth (a Buildkite
    build's artifacts: reports/<session>/summary-K.json), or the files given."""
    if isinstance(build, Path):
        if build.is_dir():
            found = sorted(build.rglob("summary*.json"))
            if not found:
                raise TestmatrixError(f"{build}: no summary*.json in this build folder")
            return found
        return [build]
    return list(build)


def junit_beside(summary: Path) -> Path:
    """summary.json's JUnit file is junit.xml; a shard's summary-K.json, junit-K.xml."""
    suffix = summary.name[len("summary") : -len(".json")]
    return summary.with_name(f"junit{suffix}.xml")


def cell_of(target: str, suite: str, merged: reports.Summary) -> Cell:
    """A merged session as a matrix cell, in `report`'s own words."""
    words = reports._cell(merged)  # the Markdown cell: "<icon> <counts>"
    icon, _, text = words.partition(" ")
    return Cell(
        target=target,
        suite=suite,
        counts=dict(merged["counts"]),
        exitstatus=int(merged["exitstatus"]),
        status=STATUS.get(icon, "warn"),
        text=text,
        simulated=bool(merged.get("simulated")),
        entries=tuple(sorted(merged.get("entries", {}))),
    )


def from_summaries(
    builds: Sequence[BuildInput], labels: Sequence[str] | None = None
) -> DashboardData:
    """The dashboard of one or more builds, oldest first. Each build is a folder of
    its artifacts or a list of its summary files; its label is `labels[i]`, else
    the folder's name, else its position."""
    if not builds:
        raise TestmatrixError("no build to show: give at least one build's summaries")
    if labels is not None and len(labels) != len(builds):
        raise TestmatrixError(f"{len(labels)} labels for {len(builds)} builds")
    data = DashboardData([], [], {}, {}, [])
    pool: dict[Result, Result] = {}
    for i, build in enumerate(builds):
        if labels is not None:
            label = labels[i]
        elif isinstance(build, Path) and build.is_dir():
            label = build.resolve().name
        else:
            label = str(i + 1)
        _add_build(data, Build(label), summary_files(build), pool)
    # every row as long as the builds: a test absent from a build is None there
    width = len(data.builds)
    for by_target in data.tests.values():
        for row in by_target.values():
            row.extend([None] * (width - len(row)))
    return data


def _add_build(
    data: DashboardData, build: Build, paths: list[Path], pool: dict[Result, Result]
) -> None:
    """One build's cells, coverage, entries and per-test results, appended."""
    index = len(data.builds)
    data.builds.append(build)
    summaries = reports.read_summaries(paths)
    sessions = reports.merged(summaries)
    data.cells.append(
        {key: cell_of(*key, merged) for key, merged in sorted(sessions.items())}
    )
    data.models.append(reports.coverage(sessions))
    for summary in summaries:
        for where, entry in summary.get("entries", {}).items():
            data.entries.setdefault(
                where,
                Entry(
                    where,
                    str(entry.get("kind") or ""),
                    str(entry.get("reason") or ""),
                    entry.get("issue") or None,
                ),
            )
    for path, summary in zip(paths, summaries, strict=True):
        junit = junit_beside(path)
        if "results" not in summary and not junit.is_file():
            data.notes.append(
                f"{path}: no {junit.name} beside it: its tests' outcomes are counted "
                "in the matrix but not shown per test"
            )
            continue
        _add_results(data, index, path, summary, pool)
    read = {junit_beside(p) for p in paths}
    for folder in {p.parent for p in paths}:
        for other in sorted(folder.glob("junit*.xml")):
            if other not in read:
                data.notes.append(f"{other}: no summary beside it: not read")


def _add_results(
    data: DashboardData,
    index: int,
    path: Path,
    summary: reports.Summary,
    pool: dict[Result, Result],
) -> None:
    """A session's tests, as `testmatrix history` reads them (its summary's
    `results`, else its JUnit file): one reader, one verdict per test."""
    target = reports.target_of(summary)
    suite = reports.suite_of(summary)
    width = len(data.builds)
    for test in session_results(summary, path, junit_beside(path)):
        result = interned(
            pool,
            Result(
                OUTCOME_OF[test.outcome],
                suite,
                test.entry.location if test.entry is not None else None,
                test.message or None,
            ),
        )
        row = data.tests.setdefault(test.nodeid, {}).setdefault(target, [])
        row.extend([None] * (width - len(row)))
        row[index] = result
