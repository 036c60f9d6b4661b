"""The dashboard built from the history store: the three probe builds (real pytest
runs) ingested, then read back through StoreSource, agree with the dashboard built
from their summaries; `report --html DIR --history` writes the site with each red
cell's streak."""

from __future__ import annotations

from pathlib import Path

import pytest

from testmatrix.cli import main
from testmatrix.dashboard import from_history, from_summaries
from testmatrix.dashboard.historystore import StoreSource
from testmatrix.history import ingest, open_store
from testmatrix.history.artifacts import read_artifacts
from testmatrix.history.ingest import BuildInfo

# the builds conftest.tiny_builds makes once per worker: one worker for all (-n 2)
pytestmark = pytest.mark.xdist_group("dashboard-builds")

PROBE = "tests/unit/test_probe.py"


def _history(builds: list[Path], db: Path) -> str:
    store = open_store(str(db), create=True)
    try:
        for n, folder in enumerate(builds):
            date = f"2026-05-0{n + 1}T04:00:00+00:00"
            jobs = read_artifacts(folder, None, {}).jobs
            ingest(store, BuildInfo(folder.name, f"c{n}", date), jobs)
    finally:
        store.close()
    return str(db)


@pytest.fixture
def three(tiny_builds, tmp_path: Path) -> tuple[list[Path], str]:
    builds = tiny_builds(3)
    return builds, _history(builds, tmp_path / "history.sqlite")


def test_the_store_gives_the_outcomes_and_changes_the_summaries_give(three) -> None:
    builds, db = three
    want = from_summaries(builds)
    store = open_store(db, create=False)
    try:
        got = from_history(StoreSource(store), last=3)
    finally:
        store.close()
    assert [b.id for b in got.builds] == ["101", "102", "103"]
    assert [b.commit for b in got.builds] == ["c0", "c1", "c2"]

    # every test's outcome on every target in every build, and the entry deciding it
    def outcomes(data):
        return {
            (test, target): [(r.outcome, r.entry) if r else None for r in row]
            for test, by_target in data.tests.items()
            for target, row in by_target.items()
        }

    assert len(outcomes(want)) >= 10  # two targets, the probe's tests
    assert outcomes(got) == outcomes(want)
    assert [(c.kind, c.test, c.target) for c in got.changes()] == [
        (c.kind, c.test, c.target) for c in want.changes()
    ]
    assert got.evidence() == want.evidence()
    assert set(got.entries) == set(want.entries)
    # the matrix: the same run counts per session in each build
    for mine, theirs in zip(got.cells, want.cells, strict=True):
        assert mine.keys() == theirs.keys()
        for key, cell in mine.items():
            for count in ("passed", "failed", "expected_fail", "unexpected_pass"):
                assert cell.counts.get(count, 0) == theirs[key].counts[count], key
            assert cell.status == theirs[key].status, key
            assert cell.simulated == theirs[key].simulated, key
            assert set(cell.entries) <= set(theirs[key].entries), key
    assert any(cell.entries for cells in got.cells for cell in cells.values())


def test_last_takes_the_newest_builds(three) -> None:
    _, db = three
    store = open_store(db, create=False)
    try:
        got = from_history(StoreSource(store), last=2)
    finally:
        store.close()
    assert [b.id for b in got.builds] == ["102", "103"]
    assert all(len(row) == 2 for by in got.tests.values() for row in by.values())


def test_report_html_history_writes_the_site_with_streaks_beside_red_cells(
    three, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, db = three
    site = tmp_path / "site"
    code = main(["report", "--html", str(site), "--history", "--db", db])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith(f"wrote {site / 'index.html'}")
    index = (site / "index.html").read_text()
    # build 103: test_known_bug passes against its entry on sim, red since 103
    assert "failing since #103 (2026-05-03), 1 builds; 1 tests red" in index
    assert (site / "changes.html").is_file()
    # the same streak in the Markdown matrix from the same history
    code = main(
        ["report", "--history", db, *map(str, (three[0][-1]).rglob("summary*.json"))]
    )
    out = capsys.readouterr().out
    assert code == 0 and "failing since #103 (2026-05-03), 1 builds" in out


def test_history_options_that_disagree_are_one_line(
    three, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, db = three
    site = str(tmp_path / "site")
    assert main(["report", "--html", site, "--db", db]) == 2
    assert "--db without --history" in capsys.readouterr().err
    assert main(["report", "--html", site, "--history", db, "--db", "x.sqlite"]) == 2
    assert "name two histories" in capsys.readouterr().err
    missing = str(tmp_path / "none.sqlite")
    assert main(["report", "--html", site, "--history", missing]) == 2
    assert "no history database here" in capsys.readouterr().err
    assert not Path(site).exists()
