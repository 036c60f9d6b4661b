"""Real tox runs: `tox -e S` runs what `nox -s S` runs, with the same results, and
leases GPUs as nox does."""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from selftest.helpers import REPO, clean_env, run_nox
from selftest.plugin.test_pytest_e2e import EXPECTED
from selftest.tox.toxrun import TOXFILE, run_tox

pytestmark = pytest.mark.slow  # every test starts tox, nox and pytest


def _outcomes(junit: Path) -> dict[str, str]:
    """Each test case's outcome in a JUnit XML report."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("skipped", "failure")]
        out[f"{case.get('classname')}::{case.get('name')}"] = "|".join(kinds) or "ok"
    return out


def _logged(output: str, prefix: str) -> list[str]:
    [line] = [line for line in output.splitlines() if prefix in line]
    return shlex.split(line.split(prefix, 1)[1])


def test_tox_and_nox_run_one_pytest_command_with_the_same_results(workspace):
    junit = workspace / "reports/rocm-pooling/junit.xml"
    nox = run_nox(workspace, "--no-venv", "-s", "rocm-pooling")
    assert nox.returncode == 0, nox.output[-3000:]
    by_nox = _outcomes(junit)
    junit.unlink()
    tox = run_tox(workspace, "-e", "rocm-pooling")
    assert tox.returncode == 0, tox.output[-3000:]
    # tox built its own virtualenv and installed the workspace's `install` into it
    assert "rocm-pooling: testmatrix-install> " in tox.output
    assert "-m pip install ." in tox.output
    nox_argv = _logged(nox.stderr, "nox > pytest command: ")
    tox_argv = _logged(tox.output, "rocm-pooling: commands[0]> ")
    assert tox_argv == nox_argv and nox_argv[0] == "pytest"
    expected = EXPECTED["rocm-pooling"]
    counts = {"passed": expected.passed, "xfailed": expected.xfailed}
    assert tox.counts() == nox.counts() == counts
    assert _outcomes(junit) == by_nox and len(by_nox) == sum(counts.values())


def test_tox_leases_the_gpus_and_pytest_sees_them(tiny, tmp_path):
    leases = tmp_path / "leases"
    root = tiny(
        {
            "toxfile.py": TOXFILE,
            "skiplists/suites.toml": """
                [workspace]
                install = []  # the testmatrix running tox is installed anyway

                [suites.unit]
                path = "tests/unit"
                gpus = 2
            """,
            "tests/unit/test_gpus.py": """
                import os

                def test_sees_its_leased_gpus():
                    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1"
                    assert "TESTMATRIX_LEASE_FILES" not in os.environ  # hold took them
            """,
        }
    )
    env = clean_env(TESTMATRIX_GPUS="3", TESTMATRIX_LEASE_DIR=str(leases))
    env["PYTHONPATH"] = str(REPO / "src")  # the tiny toxfile imports the plugin
    result = run_tox(root, "-e", "cuda-unit", env=env)
    assert result.returncode == 0, result.output[-3000:]
    assert "leased GPUs 0,1: CUDA_VISIBLE_DEVICES=0,1" in result.output
    assert result.counts() == {"passed": 1}
    from testmatrix.nox.lease import acquire

    acquire(["0", "1", "2"], leases, count=3, wait=0, say=print).release()  # freed


def test_a_suite_of_several_runs_runs_every_run_and_fails_if_any_did(tiny):
    root = tiny(
        {
            "toxfile.py": TOXFILE,
            "skiplists/suites.toml": """
                [workspace]
                install = []  # the testmatrix running tox is installed anyway

                [suites.job]
                runs = [
                  { path = "tests/first" },
                  { path = "tests/second", env = { ONLY_SECOND = "1" } },
                ]
            """,
            "tests/first/test_first.py": "def test_fails():\n    assert False\n",
            "tests/second/test_second.py": """
                import os

                def test_sees_its_own_env():
                    assert os.environ["ONLY_SECOND"] == "1"
            """,
        }
    )
    env = clean_env()
    env["PYTHONPATH"] = str(REPO / "src")  # the tiny toxfile imports the plugin
    result = run_tox(root, "-e", "cuda-job", env=env)
    assert result.returncode != 0
    assert "cuda-job: commands[0]> pytest tests/first" in result.output
    assert "cuda-job: commands[1]> env ONLY_SECOND=1 pytest tests/second" in (
        result.output
    )
    assert "1 failed" in result.output and "1 passed" in result.output
