"""vLLM's test image installs pytest-shard beside testmatrix: pytest starts, helps
and collects there, with testmatrix's short option names yielding to pytest-shard's
(`nox -s tests-pinned-oldest tests-pinned-latest` runs this on both pytest ends)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

import pytest

from selftest.helpers import REPO, Result, clean_env, run, write

SHARD = "pytest-shard==0.1.2"  # vLLM's pin; it owns --shard-id and --num-shards

# one worker installs the stack once for all of them (-n 2)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pinned-stack")]


def _installed(root: Path) -> None:
    """Installs testmatrix into `root` (a folder on PYTHONPATH) as pip would: its
    metadata with the pytest11 entry point, the code from this checkout's src."""
    info = root / "pytest_testmatrix-0.dev0.dist-info"
    write(
        info.parent,
        {
            f"{info.name}/METADATA": "Metadata-Version: 2.1\n"
            "Name: pytest-testmatrix\nVersion: 0.dev0\n",
            f"{info.name}/entry_points.txt": "[pytest11]\n"
            "testmatrix.plugin = testmatrix.plugin\n",
        },
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """This interpreter with testmatrix and pytest-shard installed: what it lacks of
    the two goes into a folder on PYTHONPATH (entry points load from there too)."""
    extra = tmp_path_factory.mktemp("site-packages")
    if importlib.util.find_spec("pytest_shard") is None:
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        result = run([*pip, "--target", str(extra), SHARD], extra)
        assert result.returncode == 0, result.output
    try:
        importlib.metadata.distribution("pytest-testmatrix")
    except importlib.metadata.PackageNotFoundError:
        _installed(extra)
    path = os.pathsep.join([str(extra), str(REPO / "src")])
    return clean_env(PYTHONPATH=path)


def _pytest(cwd: Path, env: dict[str, str], *args: str) -> Result:
    return run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd, env
    )


def test_both_plugins_load_and_pytest_helps_in_an_empty_folder(stack, tmp_path):
    result = _pytest(tmp_path, stack, "--help")
    assert result.returncode == 0, result.output
    assert "conflicting option string" not in result.output
    assert "--testmatrix-shard-id=K" in result.stdout  # ours, prefixed
    assert "--shard-id=SHARD_ID" in result.stdout  # pytest-shard's own
    plugins = _pytest(tmp_path, stack, "--co", "-q")
    assert plugins.returncode == 5, plugins.output  # no tests: pytest's own exit
    assert "INTERNALERROR" not in plugins.output


def test_a_project_without_skiplists_collects_and_runs(stack, tmp_path):
    write(tmp_path, {"test_one.py": "def test_one():\n    assert True\n"})
    result = _pytest(tmp_path, stack, "-q")
    assert result.returncode == 0, result.output
    assert result.counts() == {"passed": 1}


def test_the_bundled_suite_runs_with_pytest_shards_options(stack, workspace):
    header = _pytest(workspace, stack, "tests/kernels", "--platform=rocm", "--co")
    assert header.returncode == 0, header.output
    assert (
        "testmatrix: --shard-id, --num-shards belong to another plugin here; "
        "testmatrix's are --testmatrix-shard-id, --testmatrix-num-shards"
    ) in header.stdout
    assert "target platform: rocm" in header.stdout  # the free short name works

    def ids(*args: str) -> set[str]:
        result = _pytest(
            workspace, stack, "tests/kernels", "--platform=rocm", "-q", "--co", *args
        )
        assert result.returncode == 0, result.output
        return {line for line in result.stdout.splitlines() if "::" in line}

    every = ids()
    assert len(every) >= 4
    # each sharder by its own names: each splits the suite, every test in one shard
    for names in (
        ("--num-shards", "--shard-id"),
        ("--testmatrix-num-shards", "--testmatrix-shard-id"),
    ):
        first, second = (ids(f"{names[0]}=2", f"{names[1]}={k}") for k in (0, 1))
        assert first and second and not first & second
        assert first | second == every
    ran = _pytest(workspace, stack, "tests/kernels", "--platform=rocm", "-q")
    assert ran.returncode == 0, ran.output
    assert ran.counts()["passed"] >= 1
    # explain collects through pytest too, with every installed plugin loaded
    aiter = "tests/kernels/aiter/test_aiter_rmsnorm.py"
    explain = [sys.executable, "-m", "testmatrix", "explain", aiter]
    explained = run(explain, workspace, stack)
    assert explained.returncode == 0, explained.output
    assert "suite aiter has no session on cuda" in explained.stdout
