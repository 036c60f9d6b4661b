"""CI wiring: the exported pipeline's last step records the build in the history
(opt-in), and the matrix shows streaks beside red cells."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from selftest.helpers import clean_env
from selftest.history import histgen as gen
from testmatrix import errors
from testmatrix.buildkite import export as buildkite
from testmatrix.config.loader import load_workspace
from testmatrix.results import reports


def _with_history(root: Path, value: str) -> Path:
    suites = root / "skiplists/suites.toml"
    suites.write_text(
        suites.read_text().replace("retry = 2\n", f"retry = 2\nhistory = {value}\n", 1)
    )
    return root


def _last_step(root: Path) -> dict:
    return buildkite.build_pipeline(load_workspace(root))["steps"][-1]


def test_history_is_off_unless_asked(workspace: Path) -> None:
    commands = _last_step(workspace)["commands"]
    assert not any("history" in c for c in commands)


def test_artifact_history_is_downloaded_ingested_and_uploaded(workspace: Path) -> None:
    commands = _last_step(_with_history(workspace, '"artifact"'))["commands"]
    db = ".testmatrix/history.sqlite"
    assert commands[:5] == [
        "buildkite-agent artifact download 'reports/*/*' . || "
        "echo 'testmatrix: no job uploaded reports'",
        'if [ -n "$${TESTMATRIX_HISTORY_FROM:-}" ]; then buildkite-agent artifact '
        f'download {db} . --build "$$TESTMATRIX_HISTORY_FROM" || echo "testmatrix: '
        'no history in build $$TESTMATRIX_HISTORY_FROM: starting a new one"; fi',
        'testmatrix history ingest reports --build "$$BUILDKITE_BUILD_NUMBER" '
        f'--commit "$$BUILDKITE_COMMIT" --branch "$$BUILDKITE_BRANCH" --db {db}',
        f"buildkite-agent artifact upload {db}",
        "buildkite-agent artifact download 'reports/*/summary*.json' . || "
        "echo 'testmatrix: no job uploaded a summary'",
    ]
    assert "--history .testmatrix/history.sqlite -o matrix.md" in commands[5]


def test_postgresql_history_reads_its_url_from_the_environment(workspace: Path) -> None:
    commands = _last_step(_with_history(workspace, '"postgresql"'))["commands"]
    ingest = [c for c in commands if c.startswith("testmatrix history ingest")]
    assert ingest == [
        'testmatrix history ingest reports --build "$$BUILDKITE_BUILD_NUMBER" --commit '
        '"$$BUILDKITE_COMMIT" --branch "$$BUILDKITE_BRANCH"'
    ]
    assert any("TESTMATRIX_HISTORY_DB" in c for c in commands)
    assert any(
        c.startswith("testmatrix report") and " --history -o" in c for c in commands
    )


def test_an_unknown_history_setting_is_refused(workspace: Path) -> None:
    with pytest.raises(errors.TestmatrixError, match="unknown history store 'sqlite'"):
        load_workspace(_with_history(workspace, '"sqlite"'))


def test_streaks_go_beside_red_cells_only() -> None:
    summary = {
        "platform": "rocm",
        "target": "rocm",
        "suite": "s",
        "exitstatus": 1,
        "counts": {"passed": 1, "failed": 2},
    }
    green = {**summary, "suite": "t", "exitstatus": 0, "counts": {"passed": 3}}
    streaks = {
        ("rocm", "s"): "failing since #12 (2026-03-01), 3 builds; 2 tests red",
        ("rocm", "t"): "never shown",
    }
    text = reports.matrix([summary, green], None, streaks)
    assert (
        ":x: 1 passed, 2 failed (failing since #12 (2026-03-01), 3 builds; 2 tests red)"
        in text
    )
    assert "never shown" not in text


FAKE_AGENT = """#!/usr/bin/env python3
# buildkite-agent as the last step uses it: artifacts of this build's jobs from
# store/jobs/JOB/PATH, artifacts of whole builds in store/builds/BUILD/PATH
import fnmatch, os, shutil, sys
from pathlib import Path

store = Path(os.environ["FAKE_ARTIFACTS"])
args = sys.argv[1:]
if args[:2] == ["artifact", "download"]:
    pattern, dest = args[2], Path(args[3])
    jobs = sorted((store / "jobs").iterdir())
    roots = [store / "builds" / args[5]] if "--build" in args else jobs
    found = 0
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else ():
            rel = path.relative_to(root).as_posix()
            if path.is_file() and fnmatch.fnmatch(rel, pattern):
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, dest / rel)
                found += 1
    sys.exit(0 if found else "no artifacts found")
if args[:2] == ["artifact", "upload"]:
    target = store / "builds" / os.environ["BUILDKITE_BUILD_ID"] / args[2]
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(args[2], target)
    sys.exit(0)
if args[0] == "annotate":
    Path(os.environ["FAKE_ANNOTATION"]).write_text(sys.stdin.read())
    sys.exit(0)
sys.exit(f"fake buildkite-agent: unsupported {args}")
"""


@pytest.mark.slow
def test_two_builds_carry_the_history_and_the_matrix_shows_the_streak(
    workspace: Path, tmp_path: Path
) -> None:
    """The last step run for real (a stand-in agent), build after build: the second
    build's step downloads the first's history, ingests, uploads, and its matrix
    says since when the red cells fail."""
    step = _last_step(_with_history(workspace, '"artifact"'))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "buildkite-agent").write_text(FAKE_AGENT)
    (bin_dir / "testmatrix").write_text(
        f'#!/bin/sh\nexec {sys.executable} -m testmatrix "$@"\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    store, annotation = tmp_path / "store", tmp_path / "annotation.md"
    history = gen.generate(builds=7)
    said = []
    for n in (5, 6):  # builds in which 'breaks' fails on rocm (since build 5)
        shutil.rmtree(store / "jobs", ignore_errors=True)
        for job in history[n].jobs:  # each job's uploaded reports
            if not job.plain:
                gen.write_build(
                    gen.BuildSpec("x", "c", "d", [job]),
                    store / "jobs" / job.folder.replace("/", "_"),
                )
        for folder in ("reports", ".testmatrix"):
            shutil.rmtree(workspace / folder, ignore_errors=True)  # a fresh checkout
        env = clean_env(
            PATH=f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
            PYTHONPATH=str(workspace / "src"),
            FAKE_ARTIFACTS=str(store),
            FAKE_ANNOTATION=str(annotation),
            BUILDKITE_BUILD_NUMBER=str(100 + n),
            BUILDKITE_BUILD_ID=f"uuid-{n}",
            BUILDKITE_COMMIT=history[n].commit,
            BUILDKITE_BRANCH="main",
            TESTMATRIX_HISTORY_FROM=f"uuid-{n - 1}",
        )
        script = "\n".join(
            c.replace("$$", "$") for c in step["commands"]
        )  # as uploaded
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        said.append(done.stdout)
    carried = store / "builds" / "uuid-6" / ".testmatrix/history.sqlite"
    from testmatrix.history import open_store, status

    db = open_store(str(carried), create=False)
    rows = [
        r
        for r in status(db)
        if r.test == "tests/lang/test_breaks.py::test_breaks_0"
        and r.target == "rocm:mi300"
    ]
    db.close()
    assert [(r.outcome, r.since_build, r.streak) for r in rows] == [
        ("failed", "105", 2)
    ]
    assert "no history in build uuid-4: starting a new one" in said[0]
    assert "starting a new one" not in said[1]
    text = annotation.read_text()
    assert "failing since #105" in text and "2 builds" in text
