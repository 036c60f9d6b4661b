"""A suite of several runs is one Buildkite step: nox runs them all; the pytest
style joins their commands so every run runs and the step fails if any failed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testmatrix.buildkite import export as buildkite
from testmatrix.config.loader import load_workspace

SUITES = """
[suites.job]
env = { SHARED = "1" }
runs = [
  { path = "tests/a" },
  { path = "tests/b", env = { ONLY_B = "yes" } },
]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("tests/a/test_a.py", "tests/b/test_b.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("def test_x(): pass\n")
    (tmp_path / "skiplists" / "platforms").mkdir(parents=True)
    (tmp_path / "skiplists" / "suites.toml").write_text(SUITES)
    (tmp_path / "skiplists" / "platforms" / "cuda.toml").write_text(
        '[platform]\nhardware = "cuda"\n'
    )
    return tmp_path


def _step(pipeline: dict) -> dict:
    every = [s for g in pipeline["steps"] for s in g.get("steps", [g])]
    steps = [s for s in every if s.get("key") == "cuda-job"]
    assert len(steps) == 1, pipeline  # one step for the suite, not one per run
    return steps[0]


def test_the_nox_style_step_runs_the_session(root):
    step = _step(buildkite.build_pipeline(load_workspace(root)))
    assert step["command"] == "nox --no-venv -s cuda-job"
    assert step["env"]["SHARED"] == "1" and "ONLY_B" not in step["env"]


def test_the_pytest_style_step_joins_every_run(root):
    step = _step(buildkite.build_pipeline(load_workspace(root), style="pytest"))
    command = step["command"]
    assert command.startswith("failed=0; pytest tests/a ")
    assert "|| failed=1; ONLY_B=yes pytest tests/b " in command
    assert command.endswith("|| failed=1; (( failed == 0 ))")
    assert "$" not in command  # nothing for the upload or a wrapper to expand
    assert "--testmatrix-run=1" in command and "--testmatrix-run=2" in command


@pytest.mark.slow  # starts bash
def test_as_the_agent_runs_it_a_failed_run_lets_the_next_run_and_fails_the_step(
    root,
):
    step = _step(buildkite.build_pipeline(load_workspace(root), style="pytest"))
    # with a pytest whose run of tests/a fails
    fake = 'pytest() { echo "$1"; [ "$1" != tests/a ]; }; '
    script = fake + step["command"]
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["tests/a", "tests/b"]
    assert done.returncode == 1
    passing = 'pytest() { echo "$1"; }; ' + step["command"]
    assert subprocess.run(["bash", "-c", passing], capture_output=True).returncode == 0
