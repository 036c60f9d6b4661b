"""Each job of the exported workflow, replayed as a runner runs it (expressions,
env, matrix values, bash), runs the pytest command and environment of the nox
session, and no skiplist string ever runs as code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from nox.virtualenv import PassthroughEnv

from selftest.github.hostile import ATTACK, files
from selftest.github.replay import combinations, replay_job
from selftest.helpers import REPO
from testmatrix import __version__
from testmatrix.config.loader import load_workspace
from testmatrix.core.model import Workspace
from testmatrix.core.session import SessionKey, Sharding, sessions
from testmatrix.github.export import render
from testmatrix.github.literal import job_id
from testmatrix.github.workflow import MATRIX_JOB, job_settings
from testmatrix.nox import sessions as noxsessions

pytestmark = pytest.mark.slow  # every job's steps run in bash


class _Session:
    """What a session function uses of nox.Session, run with --no-venv."""

    virtualenv = PassthroughEnv()

    def __init__(self, name: str, posargs: list[str]):
        self.name, self.posargs = name, posargs
        self.ran: list[tuple[tuple[str, ...], dict]] = []

    def log(self, *args: object) -> None:
        pass

    def error(self, message: str) -> None:
        raise AssertionError(message)

    def run(self, *args: str, env: dict | None = None, **kwargs: object) -> None:
        self.ran.append((args, env or {}))


def nox_runs(
    workspace: Workspace, key: SessionKey, posargs: list[str]
) -> tuple[list[str], dict]:
    session = _Session(key.name, posargs)
    noxsessions.pytest_session(workspace, key)(session)
    [(argv, env)] = session.ran
    assert argv[:3] == (sys.executable, "-m", "pytest")  # --no-venv: this Python's
    return ["pytest", *argv[3:]], env


def replay_every_job(root: Path, tmp_path: Path, monkeypatch) -> Workspace:
    monkeypatch.delenv("TESTMATRIX_GPUS", raising=False)  # nox leases no GPU here
    workspace = load_workspace(root)
    workflow = yaml.safe_load(render(workspace))
    replayed = 0
    for name, key in sessions(workspace).items():
        job = workflow["jobs"][job_id(name)]
        settings = job_settings(workspace, key)
        for matrix in combinations(job):
            workdir = tmp_path / f"{name}-{matrix.get('shard', 'all')}"
            workdir.mkdir(parents=True)
            ran = replay_job(job, matrix, workdir)[-1]  # after any install
            shards = settings.parallelism or 1
            posargs = (
                Sharding(str(matrix["shard"]), str(shards)).flags() if matrix else []
            )
            argv, env = nox_runs(workspace, key, posargs)
            assert ran["argv"] == argv, name
            wanted = {
                "TESTMATRIX_STRICT_PLATFORM": "1",
                **{k: str(v) for k, v in (settings.env or {}).items()},
                **env,
            }
            assert wanted.items() <= ran["env"].items(), name
            assert not list(workdir.rglob("pwned")), f"{name} ran skiplist text"
            replayed += 1
    assert replayed == sum(len(combinations(j)) for j in workflow["jobs"].values()) - 1
    return workspace


def test_every_bundled_job_runs_its_nox_sessions_command(tmp_path, monkeypatch):
    replay_every_job(REPO, tmp_path, monkeypatch)
    assert (tmp_path / "rocm-language-1").is_dir()  # a shard of a sharded suite


def test_hostile_strings_reach_pytest_as_data_never_as_code(
    tiny, tmp_path, monkeypatch
):
    root = tiny(files())
    replay_every_job(root, tmp_path / "jobs", monkeypatch)
    assert not list(root.rglob("pwned")) and not list(tmp_path.rglob("pwned"))
    workflow = yaml.safe_load(render(load_workspace(root)))
    install, ran = replay_job(workflow["jobs"]["cuda-unit"], {"shard": 1}, tmp_path)
    assert install["argv"] == [
        *("python", "-m", "pip", "install", ATTACK),
        f"pytest-testmatrix=={__version__}",
    ]
    matrix = replay_job(workflow["jobs"][MATRIX_JOB], {}, tmp_path / "matrix")
    assert [r["argv"][:4] for r in matrix] == [
        ["python", "-m", "pip", "install"],
        ["python", "-m", "testmatrix", "report"],
    ]
    assert matrix[0]["argv"][4:] == [f"pytest-testmatrix=={__version__}"]
    assert ran["env"]["HOSTILE"] == ran["env"]["MORE"] == ATTACK
    assert f"--hostile={ATTACK}" in ran["argv"] and ATTACK in ran["argv"]
    assert any(a.endswith(f"[{ATTACK}]") for a in ran["argv"])  # a deselect id
    assert "--testmatrix-shard-id=1" in ran["argv"]
