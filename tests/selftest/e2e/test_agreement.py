"""Every road to a session's command agrees: the nox session, the tox environment, the
pytest-style Buildkite step, `testmatrix argv --json`, and what the plugin selects in a
bare pytest run."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shlex
import sys

import pytest
from nox.virtualenv import PassthroughEnv

from selftest.helpers import REPO, run_nox
from selftest.tox.toxrun import tox_config
from testmatrix import cli
from testmatrix.buildkite import export as buildkite
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import conflicting_posarg, session_command, sessions
from testmatrix.nox import sessions as noxsessions

WS = load_workspace(REPO)
SESSIONS = sorted(sessions(WS))
PARALLEL = tuple(buildkite.PARALLEL.flags())
OWN = ("--testmatrix-", "--junitxml")


class _Session:
    """Just enough of nox.Session for a session function run with --no-venv."""

    def __init__(self, name: str, posargs: tuple[str, ...] = ()):
        self.name = name
        self.posargs = list(posargs)
        self.virtualenv = PassthroughEnv()
        self.ran: list[tuple[tuple[str, ...], dict]] = []

    def log(self, *args: object) -> None:
        pass

    def error(self, message: str) -> None:
        raise AssertionError(message)

    def run(self, *args: str, env: dict | None = None, **kwargs: object) -> None:
        self.ran.append((args, env or {}))


def nox_command(name: str, posargs: tuple[str, ...] = ()) -> tuple[list[str], dict]:
    session = _Session(name, posargs)
    noxsessions.pytest_session(WS, sessions(WS)[name])(session)
    [(args, env)] = session.ran
    assert args[:3] == (sys.executable, "-m", "pytest")  # --no-venv: this Python's
    return list(args[3:]), env


def argv_json(name: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--root", str(REPO), "argv", "--json", name]) == 0
    return json.loads(out.getvalue())


@functools.cache
def pytest_steps() -> dict[str, dict]:
    """{step key: the pytest-style step}."""
    pipeline = buildkite.build_pipeline(WS, style="pytest")
    return {s["key"]: s for g in pipeline["steps"] for s in g.get("steps", ())}


@pytest.mark.parametrize("name", SESSIONS)
def test_nox_step_and_argv_json_run_the_same_command(name):
    argv, env = nox_command(name)
    printed = argv_json(name)
    assert printed == {"argv": argv, "env": env}
    step = pytest_steps()[name]
    words = shlex.split(step["command"])
    assert words[0] == "pytest", step["command"]
    # a parallel step is the nox session given the shard flags of its jobs
    sharded = nox_command(name, PARALLEL)[0] if "parallelism" in step else argv
    assert words[1:] == sharded
    assert argv[0] == WS.suites[sessions(WS)[name].suite].path
    assert any(a.startswith("--testmatrix-summary-json=reports/") for a in argv)


@functools.cache
def tox_envs(posargs: tuple[str, ...] = ()) -> dict[str, dict]:
    return tox_config(REPO, SESSIONS, posargs)


@pytest.mark.parametrize("posargs", [(), ("-k", "classif", "--platform=rocm", "-x")])
@pytest.mark.parametrize("name", SESSIONS)
def test_tox_environment_runs_the_nox_sessions_command(name, posargs):
    """`tox -e S -- ARGS` is configured with the command and environment `nox -s S
    -- ARGS` runs (`--platform=rocm` is refused where it contradicts the session)."""
    key = sessions(WS)[name]
    env = tox_envs(posargs)[name]
    refused = conflicting_posarg(key, posargs)
    if refused:  # plan's refusal, naming the tox environment to run instead
        assert key.platform != "rocm"
        told = refused.replace("run nox -s ", "run tox -e ")
        assert env["commands"] == {"error": f"HandledError({told!r})"}
        assert f"run tox -e rocm-{key.suite} instead" in told
        return
    argv, nox_env = nox_command(name, posargs)
    [command] = env["commands"]
    assert shlex.split(command) == ["pytest", *argv]
    assert nox_env.items() <= env["set_env"].items()
    assert env["labels"] == sorted(sessions_tags(name))
    assert env["change_dir"] == str(REPO)


def sessions_tags(name: str) -> list[str]:
    key = sessions(WS)[name]
    variant = [f"{key.platform}-{key.variant}"] if key.variant else []
    return [key.platform, *variant, key.suite]


class _Selected:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ids = [item.nodeid for item in session.items]  # as every hook left it


@functools.cache
def _select(args: tuple[str, ...]) -> list[str]:
    """The ids a collection with these arguments selects (cached: variant sessions
    without entries of their own share their flags with the platform-wide one)."""
    recorder = _Selected()
    cwd = os.getcwd()
    try:
        os.chdir(REPO)
        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main(
                [*args, "--collect-only", "-q", "-p", "no:cacheprovider"],
                plugins=[recorder],
            )
    finally:
        os.chdir(cwd)
    assert recorder.ids, f"nothing selected by {args}"
    return sorted(recorder.ids)


# The fast tier's sample: its argv carries every kind of flag the builder writes
# (--ignore, -m, --deselect, and a variant's entries on top of the platform's).
SELECTS_FAST = "rocm-mi355-kernels"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            # two collections of the bundled suite each, in this process: the
            # full tier checks every session, the fast tier its sample
            marks=pytest.mark.slow if name != SELECTS_FAST else (),
        )
        for name in SESSIONS
    ],
)
def test_plugin_selects_what_the_session_command_selects(name):
    """The session's flags with no skiplist applied select exactly what the plugin
    selects from the platform and suite alone: a changed argv builder fails here.

    Every session in the full tier; in the fast tier one whose argv has every kind of
    flag (SELECTS_FAST)."""
    key = sessions(WS)[name]
    argv = argv_json(name)["argv"]
    paths = list(WS.suites[key.suite].paths)
    # everything but testmatrix's own options: what plain pytest would be given
    flags = [a for a in argv[len(paths) :] if not a.startswith(OWN)]
    by_flags = _select((*paths, *flags, "--platform=none"))
    target = [f"--platform={key.platform}", f"--suite={key.suite}"]
    if key.variant:
        target.append(f"--variant={key.variant}")
    by_plugin = _select((*paths, *target))
    assert by_flags == by_plugin


def test_the_fast_sample_is_a_session_with_every_kind_of_flag():
    argv = argv_json(SELECTS_FAST)["argv"]
    assert SELECTS_FAST in SESSIONS
    for flag in ("--ignore=", "-m", "--deselect", "--testmatrix-variant="):
        assert any(a.startswith(flag) for a in argv), (flag, argv)


@pytest.mark.slow
def test_real_nox_runs_the_command_argv_prints(workspace):
    """`nox -s S` logs and runs what `testmatrix argv S` prints, for every session."""
    # in a copy: the sessions write reports/, which is the user's in this checkout
    command = ("--no-venv", "-s", *SESSIONS, "--", "--collect-only", "-q")
    result = run_nox(workspace, *command)
    assert result.returncode == 0, result.output[-3000:]
    logged = {}
    current = None
    for line in result.stderr.splitlines():
        if line.startswith("nox > Running session "):
            current = line.removeprefix("nox > Running session ").strip()
        elif line.startswith("nox > pytest command: pytest "):
            logged[current] = shlex.split(line.removeprefix("nox > pytest command: "))
    assert sorted(logged) == SESSIONS
    for name, key in sessions(WS).items():
        extra = ["--collect-only", "-q"]
        expected = session_command(
            WS, key.platform, key.suite, variant=key.variant, posargs=extra
        ).argv
        assert logged[name] == ["pytest", *expected]
        assert [a for a in expected if a not in extra] == argv_json(name)["argv"]
