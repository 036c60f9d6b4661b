"""The nox adapter's interpreter: `--no-venv` runs this interpreter's pytest, a
session whose interpreter cannot run testmatrix says so in one line, and a refused
session leaves no empty virtualenv behind (issue 20)."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from selftest.helpers import clean_env, run, run_nox

pytestmark = pytest.mark.slow  # every test starts nox


def test_no_venv_runs_this_interpreters_pytest_not_the_first_on_path(
    workspace, tmp_path
):
    impostor = tmp_path / "bin" / "pytest"
    impostor.parent.mkdir()
    impostor.write_text("#!/bin/sh\necho 'not this pytest'\nexit 7\n")
    impostor.chmod(0o755)
    env = clean_env()
    env["PATH"] = f"{impostor.parent}:{env['PATH']}"  # first on PATH
    result = run_nox(workspace, "--no-venv", "-s", "rocm-language", env=env)
    assert result.returncode == 0, result.output[-3000:]
    assert "not this pytest" not in result.output
    assert f"pytest runs as {sys.executable} -m pytest" in result.stderr
    assert result.counts() == {"passed": 14, "xfailed": 4}


def nox_only(folder: Path, leave_out: str, also: tuple[str, ...] = ()) -> Path:
    """A Python whose packages are nox, `also` and what they need (linked from this
    one's), less `leave_out`; no testmatrix."""
    venv = folder / "nox-only"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True
    )
    [site] = venv.glob("lib/python*/site-packages")
    todo, seen = ["nox", *also], set()
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen or name == leave_out:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        for line in dist.requires or []:
            wanted = Requirement(line)
            if wanted.marker is None or wanted.marker.evaluate({"extra": ""}):
                todo.append(wanted.name)
        for top in {f.parts[0] for f in dist.files or ()}:
            target = Path(str(dist.locate_file(top)))
            if not (site / top).exists() and target.exists() and top != "..":
                (site / top).symlink_to(target)
    return venv / "bin" / "python"


@pytest.mark.parametrize("missing", ["pytest", "filelock"])
def test_an_interpreter_without_what_testmatrix_needs_is_one_line(
    workspace, tmp_path, missing
):
    # the pytest run would load testmatrix's plugin (conftest.py) and fail there
    python = nox_only(
        tmp_path, missing, also=("pytest",) if missing != "pytest" else ()
    )
    assert run([str(python), "-c", f"import {missing}"], tmp_path).returncode == 1
    result = run(
        [str(python), "-m", "nox", "--no-venv", "-s", "rocm-language"], workspace
    )
    assert result.returncode == 1, result.output[-3000:]
    assert "INTERNALERROR" not in result.output and "Traceback" not in result.output
    [line] = [line for line in result.stderr.splitlines() if "aborted" in line]
    # nox adds how long the session took once it is a second or more (a loaded machine)
    line = re.sub(r" \(took [^)]*\)(?=\.$)", "", line)
    assert line == (
        f"nox > Session rocm-language aborted: testmatrix is not installed in this "
        f"interpreter ({python}; --no-venv): No module named '{missing}'; pip "
        "install pytest-testmatrix into it, or run the session without --no-venv."
    )
    assert "test session starts" not in result.stdout


@pytest.mark.parametrize(
    "posargs, why",
    [
        (["--", "--testmatrix-platform=cuda"], "contradicts this session's platform"),
        ([], "ignored path 'llm/gone.py' does not exist"),
    ],
    ids=["bad-posargs", "bad-skiplist"],
)
def test_a_refused_session_leaves_no_virtualenv_for_nox_r_to_reuse(
    workspace, tmp_path, posargs, why
):
    if not posargs:
        rocm = workspace / "skiplists/platforms/rocm.toml"
        rocm.write_text(
            rocm.read_text() + '\n[[ignore]]\nsuite = "pooling"\n'
            'path = "llm/gone.py"\nreason = "r"\n'
        )
    envs = tmp_path / "envs"
    command = ["-s", "rocm-pooling", "--envdir", str(envs), *posargs]
    result = run_nox(workspace, *command)
    assert result.returncode == 1 and why in result.stderr, result.output[-3000:]
    assert "Creating virtual environment" in result.stderr  # nox made one first
    assert not (envs / "rocm-pooling").exists()  # and it went with the refusal
    again = run_nox(workspace, "-R", *command)  # -R finds nothing to reuse
    assert again.returncode == 1 and why in again.stderr
    assert not (envs / "rocm-pooling").exists()
