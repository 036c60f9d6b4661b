"""testmatrix inside vLLM's test environment: a fresh virtualenv with the pytest
plugins vLLM's ROCm test image installs (requirements/test/rocm.in) and the package
built from this checkout; the bundled suite runs there bare, under pytest-xdist,
with either sharder, and from nox, in this repository and in another one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from selftest.helpers import REPO, Result, clean_env, collected_ids, run, write
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_command, sessions

# one worker runs them all where loadgroup groups (pytest-xdist#1386); else the workers
# share the virtualenv (the env fixture)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("vllm-env")]

# vLLM's requirements/test/rocm.in (2026-05): its pytest plugins, and nox
VLLM_PLUGINS = [
    "pytest",
    "pytest-forked",
    "pytest-asyncio",
    "pytest-rerunfailures",
    "pytest-shard",
    "pytest-timeout",
    "pytest-cov",
    "tblib",
    "buildkite-test-collector==0.1.9",
    "pytest-xdist",
    "nox",
]
WS = load_workspace(REPO)
SESSIONS = ["rocm-language", "rocm-mi355-kernels", "rocm-pooling", "cuda-api-server"]


def _pip(python: Path, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *args],
        check=True,
        capture_output=True,
        env=clean_env(),
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Path:
    """The fresh virtualenv's python: vLLM's plugins and testmatrix's wheel.

    Under pytest-xdist the workers share one, built by the first to ask, in this run's
    base folder (their own folders' parent), under a lock; the tests only run it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _build_env(tmp_path_factory.mktemp("vllm-env"))
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "vllm-env"
    with FileLock(f"{root}.lock"):
        python = root / "venv/bin/python"
        if not (root / "built").exists():
            shutil.rmtree(root, ignore_errors=True)  # a worker that failed midway
            root.mkdir()
            _build_env(root)
            (root / "built").touch()
    return python


def _build_env(root: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", root, REPO],
        check=True,
        capture_output=True,
        env=clean_env(),
    )
    [wheel] = root.glob("pytest_testmatrix-*.whl")
    subprocess.run([sys.executable, "-m", "venv", root / "venv"], check=True)
    python = root / "venv/bin/python"
    _pip(python, *VLLM_PLUGINS, str(wheel))
    return python


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """The bundled suite as another project would hold it: skiplists, tests and a
    pytest.ini, no testmatrix source and no conftest loading the plugin (its entry
    point does), and the README's two-line noxfile."""
    root = tmp_path_factory.mktemp("checkout")
    skip = shutil.ignore_patterns("__pycache__", "selftest")
    shutil.copytree(REPO / "skiplists", root / "skiplists", ignore=skip)
    shutil.copytree(REPO / "tests", root / "tests", ignore=skip)
    ini = (REPO / "pytest.ini").read_text()
    (root / "pytest.ini").write_text(
        ini.replace("pythonpath = src tests", "pythonpath = tests")
    )
    (root / "noxfile.py").write_text(
        "from testmatrix.noxsessions import register\n\nregister()\n"
    )
    return root


def _run(python: Path, cwd: Path, *args: str, env: dict | None = None) -> Result:
    bin_dir = str(python.parent)
    return run(
        [str(python), *args],
        cwd,
        env={**clean_env(PATH=f"{bin_dir}{os.pathsep}/usr/bin:/bin"), **(env or {})},
    )


def _pytest(python: Path, cwd: Path, *args: str) -> Result:
    return _run(python, cwd, "-m", "pytest", "-p", "no:cacheprovider", *args)


def _argv(name: str, tmp: Path) -> list[str]:
    key = sessions(WS)[name]
    argv = session_command(WS, key.platform, key.suite, variant=key.variant).argv
    summary = tmp / "summary.json"
    return [a for a in argv if "summary-json" not in a and "junitxml" not in a] + [
        f"--testmatrix-summary-json={summary}",
        f"--junitxml={tmp / 'junit.xml'}",
    ]


def test_every_plugin_keeps_its_options(env, checkout):
    result = _pytest(env, checkout, "--help")
    assert result.returncode == 0, result.output[-3000:]
    assert "--testmatrix-shard-id=K" in result.stdout
    assert "Number of this shard." in result.stdout  # pytest-shard's --shard-id
    header = _pytest(env, checkout, "--collect-only", "-q", "tests/kernels")
    assert header.returncode == 0, header.output[-3000:]
    assert (
        "testmatrix: --shard-id, --num-shards belong to another plugin here; "
        "testmatrix's are --testmatrix-shard-id, --testmatrix-num-shards"
    ) in _pytest(env, checkout, "tests/kernels", "--platform=rocm").stdout


@pytest.mark.parametrize("name", SESSIONS)
def test_xdist_counts_what_a_plain_run_counts(env, checkout, tmp_path, name):
    summaries = {}
    for mode, extra in (("plain", []), ("xdist", ["-n", "2"])):
        out = tmp_path / mode
        result = _pytest(env, checkout, *_argv(name, out), *extra)
        assert result.returncode == 0, result.output[-3000:]
        summaries[mode] = json.loads((out / "summary.json").read_text())
    plain, xdist = summaries["plain"], summaries["xdist"]
    for part in ("counts", "entries", "models", "flaky"):
        assert plain[part] == xdist[part], part
    assert plain["counts"]["passed"] > 0
    if name.startswith("rocm-") and name != "rocm-mi355-kernels":
        assert plain["entries"], "rocm's entries apply"


def test_junit_properties_carry_each_tests_fate(env, checkout, tmp_path):
    result = _pytest(env, checkout, *_argv("rocm-language", tmp_path), "-n", "2")
    assert result.returncode == 0, result.output[-3000:]
    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    props = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in cases
    }
    skipped = props["test_models[BAAI/bge-base-en-v1.5]"]
    assert skipped["testmatrix_fate"] == "expected-fail"  # the entry records its error
    assert skipped["testmatrix_target"] == "rocm"
    assert skipped["testmatrix_entry"].startswith("skiplists/platforms/rocm.toml:")
    assert skipped["testmatrix_entry_kind"] == "skip"
    assert skipped["testmatrix_reason"].startswith("encoder self-attention")
    assert skipped["testmatrix_issue"].endswith("/issues/27442")
    assert skipped["testmatrix_model"] == "BAAI/bge-base-en-v1.5"
    ran = props["test_greedy_prefix_consistency[facebook/opt-125m]"]
    assert ran["testmatrix_fate"] == "runs"
    assert ran["testmatrix_models"] == "facebook/opt-125m"


@pytest.mark.parametrize(
    "flags",
    [
        ("--testmatrix-shard-id", "--testmatrix-num-shards"),  # testmatrix's
        ("--shard-id", "--num-shards"),  # pytest-shard's, which owns them here
    ],
)
def test_either_sharder_is_exact(env, checkout, flags):
    base = ["--collect-only", "-q", "tests/models", "--platform=rocm"]
    whole = collected_ids(_pytest(env, checkout, *base))
    shards = [
        collected_ids(_pytest(env, checkout, *base, f"{flags[0]}={k}", f"{flags[1]}=3"))
        for k in range(3)
    ]
    assert sorted(i for shard in shards for i in shard) == whole
    assert all(shards) and len(whole) > 3


def test_a_session_shards_with_testmatrix_whatever_owns_the_short_flag(env, checkout):
    shutil.rmtree(checkout / "reports", ignore_errors=True)
    for job in range(2):
        result = _run(
            env,
            checkout,
            "-m",
            "nox",
            "--no-venv",
            "-s",
            "rocm-language",
            "--",
            f"--shard-id={job}",
            "--num-shards=2",
        )
        assert result.returncode == 0, result.output[-3000:]
        assert f"--testmatrix-shard-id={job} --testmatrix-num-shards=2" in (
            result.stderr
        )
    shards = [
        json.loads((checkout / f"reports/rocm-language/summary-{job}.json").read_text())
        for job in range(2)
    ]
    assert [s["shard"] for s in shards] == [
        {"id": 0, "count": 2},
        {"id": 1, "count": 2},
    ]
    whole = _pytest(env, checkout, *_argv("rocm-language", checkout / "whole"))
    total = json.loads((checkout / "whole/summary.json").read_text())["counts"]
    assert whole.returncode == 0
    for count in ("passed", "skipped_by_entry"):
        assert sum(s["counts"][count] for s in shards) == total[count]


def test_a_project_without_skiplists_hears_nothing(env, tmp_path):
    write(tmp_path, {"test_plain.py": "def test_ok():\n    assert True\n"})
    loaded = _pytest(env, tmp_path, "-n", "2")
    assert loaded.returncode == 0, loaded.output
    assert "testmatrix-0.1.0" in loaded.stdout  # the entry point loaded the plugin
    said = [line for line in loaded.output.splitlines() if "testmatrix" in line]
    assert said == [next(line for line in said if line.startswith("plugins:"))]
    assert not (tmp_path / "reports").exists()
    asked = _pytest(env, tmp_path, "--testmatrix-platform=rocm")
    assert asked.returncode == 4
    assert "--testmatrix-platform needs skiplists, but there is no" in asked.stderr


def test_a_nox_session_in_another_repository_installs_testmatrix(env, tmp_path):
    root = tmp_path / "project"
    write(
        root,
        {
            "skiplists/suites.toml": """
                [workspace]
                install = ["-r", "requirements.txt"]

                [suites.unit]
                path = "tests/unit"
            """,
            "skiplists/platforms/cuda.toml": '[platform]\nhardware = "cuda"\n',
            "requirements.txt": "pytest-timeout\n",
            "tests/unit/test_one.py": "def test_one():\n    pass\n",
            "noxfile.py": "from testmatrix.noxsessions import register\n\nregister()\n",
        },
    )
    result = _run(env, root, "-m", "nox", "-s", "cuda-unit")
    assert result.returncode == 0, result.output[-4000:]
    assert "pytest_testmatrix-" in result.stderr  # the wheel this env runs
    summary = json.loads((root / "reports/cuda-unit/summary.json").read_text())
    assert summary["counts"]["passed"] == 1 and summary["target"] == "cuda"
