"""A suite that is a CI job, run by real nox and pytest: every run runs, in order,
each its own pytest process with its own selection and reports; the session fails
if any run failed."""

from __future__ import annotations

import json

import pytest

from selftest.helpers import run_nox, run_pytest, write

pytestmark = pytest.mark.slow  # starts nox and pytest

JOB = """
[suites.job]
description = "a CI step of two pytest commands"
platforms = ["cuda"]
platforms_reason = "a test of runs"
runs = [
  { path = "tests/jobfirst" },
  { path = "tests/jobsecond", keyword = "kept" },
]
"""


@pytest.fixture
def job(workspace):
    write(
        workspace,
        {
            "tests/jobfirst/test_first.py": "def test_fails():\n    assert False\n",
            "tests/jobsecond/test_second.py": (
                "def test_kept():\n    pass\n\ndef test_other():\n    pass\n"
            ),
        },
    )
    suites = workspace / "skiplists" / "suites.toml"
    suites.write_text(suites.read_text() + JOB)
    return workspace


def test_a_failing_run_does_not_stop_the_next_and_fails_the_session(job):
    result = run_nox(job, "--no-venv", "-s", "cuda-job")
    assert result.returncode != 0
    output = result.output
    assert "run 1 of 2" in output and "run 2 of 2" in output
    assert output.index("run 1 of 2") < output.index("run 2 of 2")
    assert "1 of 2 pytest runs failed (run 1); every run ran" in output
    reports = job / "reports" / "cuda-job"
    first = json.loads((reports / "summary-run1.json").read_text())
    second = json.loads((reports / "summary-run2.json").read_text())
    assert (reports / "junit-run1.xml").exists() and (
        reports / "junit-run2.xml"
    ).exists()
    assert json.dumps(first).count("test_fails") >= 1
    # run 2's own -k: test_other is not in it
    assert "test_kept" in json.dumps(second) and "1 deselected" in output


def test_the_plugin_needs_the_run_of_a_suite_of_several(job):
    result = run_pytest(
        job, "tests/jobsecond", "--testmatrix-platform=cuda", "--testmatrix-suite=job"
    )
    assert result.returncode != 0
    assert "suite job has 2 runs: name one (--testmatrix-run N)" in result.output
    second = run_pytest(
        job,
        "tests/jobsecond",
        "-k",
        "kept",
        "--testmatrix-platform=cuda",
        "--testmatrix-suite=job",
        "--testmatrix-run=2",
    )
    assert second.returncode == 0, second.output


def test_one_run_alone_after_the_double_dash(job):
    result = run_nox(job, "--no-venv", "-s", "cuda-job", "--", "--testmatrix-run=2")
    assert result.returncode == 0, result.output
    assert "1 passed, 1 deselected" in result.output
