"""Reading JUnit files: streamed or whole, the same results; node ids from pytest's
JUnit addresses, corrected by the summary where a name misleads; and a real pytest
run of the bundled suite, recorded as its own summary counts it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from selftest.helpers import clean_env
from selftest.history import histgen as gen
from testmatrix.history import junit, open_store, status
from testmatrix.history.artifacts import read_artifacts
from testmatrix.history.ingest import BuildInfo, ingest


def test_a_streamed_file_reads_as_a_whole_one(tmp_path: Path, monkeypatch) -> None:
    build = gen.generate(builds=1)[0]
    gen.write_build(build, tmp_path)
    files = sorted(tmp_path.rglob("junit*.xml"))
    whole = [junit.read_junit(f) for f in files]
    monkeypatch.setattr(junit, "MAX_TREE_BYTES", 0)
    assert [junit.read_junit(f) for f in files] == whole
    assert sum(map(len, whole)) == sum(len(j.results) for j in build.jobs)


def test_a_class_named_like_a_module_gets_its_id_from_the_summary(
    tmp_path: Path,
) -> None:
    nodeid = "tests/unit/test_mod.py::test_suite_class::test_one"
    job = gen.JobSpec("rocm", "unit", None, False, "reports/rocm-unit")
    job.results.append(gen.Res(nodeid, "passed"))
    gen.write_build(gen.BuildSpec("1", "c", "d", [job]), tmp_path)
    [found] = read_artifacts(tmp_path, None, {}).jobs
    assert [r.nodeid for r in found.results] == [nodeid]
    # without the summary, pytest's address alone reads the class as the module
    (tmp_path / "reports/rocm-unit/summary.json").unlink()
    [plain] = read_artifacts(tmp_path, "rocm", {}).jobs
    assert [r.nodeid for r in plain.results] == [
        "tests/unit/test_mod/test_suite_class.py::test_one"
    ]


@pytest.mark.slow
def test_a_real_session_is_recorded_as_its_summary_counts(
    workspace: Path, tmp_path: Path
) -> None:
    """The bundled suite run by pytest with the plugin on rocm:mi300 (its encoder
    models expected to fail), then ingested: every outcome counted as the plugin's
    own summary counts it."""
    session = "reports/rocm-mi300-language"
    argv = [
        sys.executable, "-m", "pytest", "tests/models/language", "-q", "-p",
        "no:cacheprovider", "--testmatrix-platform=rocm",
        "--testmatrix-variant=mi300", "--testmatrix-suite=language",
        f"--junitxml={session}/junit.xml",
        f"--testmatrix-summary-json={session}/summary.json",
    ]  # fmt: skip
    done = subprocess.run(
        argv, cwd=workspace, env=clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((workspace / session / "summary.json").read_text())
    db = str(tmp_path / "h.sqlite")
    store = open_store(db, create=True)
    jobs = read_artifacts(workspace / "reports", None, {}).jobs
    ingest(store, BuildInfo("1", "c1", "2026-01-01"), jobs)
    rows = status(store)
    store.close()
    counted: dict[str, int] = {}
    for row in rows:
        counted[row.outcome] = counted.get(row.outcome, 0) + 1
    expected = {k: v for k, v in summary["counts"].items() if v and k in counted}
    assert counted == expected and counted["expected_fail"] > 0
    assert {r.test for r in rows} == set(summary["durations"])
    assert {(r.target, r.suite) for r in rows} == {("rocm:mi300", "language")}
    failing = [r for r in rows if r.outcome == "expected_fail"]
    assert all(
        r.entry and r.entry.startswith("skiplists/platforms/rocm.toml:")
        for r in failing
    )
