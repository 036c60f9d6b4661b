"""The dashboard's data model, built from the summaries and JUnit files of real
pytest runs (in process): cells, per-test outcomes, changes, trend, evidence."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence

import pytest

from testmatrix import errors
from testmatrix.dashboard import from_history, from_summaries
from testmatrix.dashboard.data import (
    Build,
    Cell,
    DashboardData,
    Entry,
    Result,
    change_kind,
    verdict,
)
from testmatrix.results import reports

# the builds conftest.tiny_builds makes once per worker: one worker for all (-n 2)
pytestmark = pytest.mark.xdist_group("dashboard-builds")

PROBE = "tests/unit/test_probe.py"
KNOWN = f"{PROBE}::test_known_bug"


def test_cells_carry_the_counts_and_words_of_the_markdown_report(tiny_builds):
    (build,) = tiny_builds(1)
    data = from_summaries([build])
    summaries = reports.read_summaries(sorted(build.rglob("summary*.json")))
    markdown = reports.matrix(summaries)
    cells = data.cells[0]
    assert set(cells) == {("sim", "unit"), ("cuda", "unit")}
    for (target, suite), cell in cells.items():
        merged = reports.merged(summaries)[(target, suite)]
        assert cell.counts == merged["counts"]
        assert cell.text in markdown  # the same words, cell by cell
    assert cells[("sim", "unit")].counts["expected_fail"] == 1
    assert cells[("sim", "unit")].status == "ok"


def test_every_test_has_its_outcome_per_target_from_junit(tiny_builds):
    (build,) = tiny_builds(1)
    data = from_summaries([build])
    # the summary's node ids, hostile parameters included, are the data's ids
    ids = set()
    for path in build.rglob("summary.json"):
        ids |= set(json.loads(path.read_text())["durations"])
    assert set(data.tests) == ids
    assert f"{PROBE}::test_hostile_ids[<img src=x onerror=alert(1)>]" in ids
    sim = json.loads((build / "sim-unit" / "summary.json").read_text())
    (entry,) = sim["entries"]  # where the summary says the entry is
    assert data.tests[KNOWN]["sim"][0] == Result(
        "expected_fail",
        "unit",
        entry,
        f"expected on sim: AssertionError: known bug in build 1 [{entry}]",
    )
    known = data.tests[KNOWN]
    assert known["cuda"][0].outcome == "failed"
    assert known["cuda"][0].message == "AssertionError: known bug in build 1"
    counted: dict[str, int] = {}
    for by_target in data.tests.values():
        result = by_target["sim"][0]
        counted[result.outcome] = counted.get(result.outcome, 0) + 1
    # the per-test outcomes add up to the summary's counts
    assert counted == {k: n for k, n in sim["counts"].items() if n and k in counted}
    assert sum(counted.values()) == len(sim["durations"])


def test_three_builds_give_changes_trend_strips_and_entry_evidence(tiny_builds):
    data = from_summaries(tiny_builds(3))
    assert [b.id for b in data.builds] == ["101", "102", "103"]
    strip = [r.outcome if r else None for r in data.tests[KNOWN]["sim"]]
    assert strip == ["expected_fail", "expected_fail", "unexpected_pass"]
    removed = data.tests[f"{PROBE}::test_removed_in_build_3"]["cuda"]
    assert [r is not None for r in removed] == [True, True, False]
    changes = {(c.kind, c.test.split("::")[1], c.target) for c in data.changes()}
    assert changes == {
        ("new_failure", "test_known_bug", "sim"),  # passed against its entry
        ("fixed", "test_known_bug", "cuda"),
        ("fixed", "test_breaks_in_build_2", "sim"),
        ("fixed", "test_breaks_in_build_2", "cuda"),
        ("missing", "test_removed_in_build_3", "sim"),
        ("missing", "test_removed_in_build_3", "cuda"),
    }
    first = {(c.kind, c.test.split("::")[1], c.target) for c in data.changes(0, 1)}
    assert ("newly_skipped", "test_self_skips", "cuda") in first
    trend = data.trend()
    assert [p.failures for p in trend["cuda"]] == [1, 2, 0]
    assert [p.skips for p in trend["cuda"]] == [0, 1, 1]
    assert [p.failures for p in trend["sim"]] == [0, 1, 1]
    (entry,) = data.entries
    evidence = data.evidence()[entry]
    assert evidence == {
        "sim": [{"expected_fail": 1}, {"expected_fail": 1}, {"unexpected_pass": 1}]
    }
    assert verdict(evidence).startswith("stale")


def test_a_summary_without_junit_is_counted_and_said(tiny_builds):
    """A summary's results show its tests with no JUnit file beside it; an older
    plugin's summary, without results, is counted and its missing file said."""
    (build,) = tiny_builds(1)
    (build / "cuda-unit" / "junit.xml").unlink()
    with_results = from_summaries([build])
    shown = {t for t, by_target in with_results.tests.items() if "cuda" in by_target}
    assert shown and not with_results.notes
    summary = build / "cuda-unit" / "summary.json"
    older = json.loads(summary.read_text())
    del older["results"]
    summary.write_text(json.dumps(older))
    data = from_summaries([build])
    assert data.cells[0][("cuda", "unit")].counts["passed"] > 0
    assert all("cuda" not in by_target for by_target in data.tests.values())
    assert any("no junit.xml beside it" in note for note in data.notes)
    # the rest as before: the same results from the JUnit file of another target
    assert {t: r for t, r in data.tests.items() if t not in shown} == {
        t: {k: v for k, v in r.items() if k != "cuda"}
        for t, r in with_results.tests.items()
        if t not in shown
    }


def test_outcome_moves_name_the_change():
    ok, bad = Result("passed", "s"), Result("failed", "s")
    skip = Result("skipped_other", "s")
    assert change_kind(ok, bad) == "new_failure"
    assert change_kind(bad, ok) == "fixed"
    assert change_kind(ok, skip) == "newly_skipped"
    assert change_kind(skip, ok) == "unskipped"
    assert change_kind(None, ok) == "new_test"
    assert change_kind(ok, None) == "missing"
    assert change_kind(ok, ok) is None


def test_malformed_junit_is_one_line_naming_the_file(tmp_path, tiny_builds):
    """Where a summary has no results (an older plugin's), its JUnit file is read:
    a broken one is one line naming it."""
    (build,) = tiny_builds(1)
    summary = build / "sim-unit" / "summary.json"
    older = json.loads(summary.read_text())
    del older["results"]
    summary.write_text(json.dumps(older))
    junit = build / "sim-unit" / "junit.xml"
    junit.write_text('<testsuites><testcase name="x">\n<oops></testsuites>')
    with pytest.raises(
        errors.TestmatrixError, match=r"junit\.xml:2: not well-formed XML"
    ) as caught:
        from_summaries([build])
    assert "\n" not in str(caught.value)


def test_a_build_folder_without_summaries_is_refused(tmp_path):
    with pytest.raises(
        errors.TestmatrixError, match=r"no summary\*\.json in this build"
    ):
        from_summaries([tmp_path])


class StoreOf:
    """A HistorySource answering from a DashboardData, as a store would from its
    rows: what from_history rebuilds must be that data again."""

    def __init__(self, data: DashboardData):
        self.data = data

    def builds(self, last: int) -> list[Build]:
        return self.data.builds[-last:]

    def cells(self, build: Build) -> list[Cell]:
        return list(self.data.cells[self.data.builds.index(build)].values())

    def results(
        self, builds: Sequence[Build]
    ) -> Iterator[tuple[str, str, int, Result]]:
        first = self.data.builds.index(builds[0])
        for test, by_target in self.data.tests.items():
            for target, row in by_target.items():
                for i, result in enumerate(row[first:]):
                    if result is not None:
                        yield test, target, i, result

    def entries(self) -> list[Entry]:
        return list(self.data.entries.values())

    def models(self, build: Build) -> dict[str, dict[str, dict[str, int]]]:
        return self.data.models[self.data.builds.index(build)]


def test_a_history_source_gives_the_same_data_as_the_summaries(tiny_builds):
    data = from_summaries(tiny_builds(3))
    again = from_history(StoreOf(data), last=3)
    assert again.builds == data.builds and again.cells == data.cells
    assert again.tests == data.tests and again.entries == data.entries
    assert again.models == data.models
    assert again.changes() == data.changes() and again.evidence() == data.evidence()
    last_two = from_history(StoreOf(data), last=2)
    assert [b.id for b in last_two.builds] == ["102", "103"]
    assert last_two.changes() == data.changes()


def test_shards_of_a_session_make_one_cell_and_all_their_tests(
    tiny, inprocess, tmp_path
):
    root = tiny(
        {
            "tests/unit/test_many.py": """
                import pytest

                @pytest.mark.parametrize("n", range(6))
                def test_n(n):
                    assert n != 4, "four"
            """
        }
    )
    reports_dir = tmp_path / "build" / "cuda-unit"
    for shard in ("0", "1"):
        inprocess(
            root,
            "tests/unit",
            "--platform=cuda",
            "--suite=unit",
            f"--testmatrix-shard-id={shard}",
            "--testmatrix-num-shards=2",
            f"--summary-json={reports_dir}/summary-{shard}.json",
            f"--junitxml={reports_dir}/junit-{shard}.xml",
        )
    data = from_summaries([tmp_path / "build"])
    cell = data.cells[0][("cuda", "unit")]
    assert (cell.counts["passed"], cell.counts["failed"]) == (5, 1)
    assert "2 of 2 shards reported" in cell.text and cell.status == "fail"
    assert set(data.tests) == {
        f"tests/unit/test_many.py::test_n[{n}]" for n in range(6)
    }
    assert (
        data.tests["tests/unit/test_many.py::test_n[4]"]["cuda"][0].outcome == "failed"
    )
    assert data.notes == []


def test_junit_carries_each_expected_failures_expectation(tiny_builds):
    """What the plugin's expect module decided reaches the JUnit file, so per-test
    outcomes need not be guessed from messages."""
    seen = []
    for build in tiny_builds(3):
        root = ET.parse(build / "sim-unit" / "junit.xml").getroot()
        (case,) = [
            c for c in root.iter("testcase") if c.get("name") == "test_known_bug"
        ]
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        seen.append(props.get("testmatrix_expectation"))
    assert seen == ["expected-fail", "expected-fail", "stale"]
