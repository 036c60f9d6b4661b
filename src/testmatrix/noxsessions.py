"""nox adapter: one `<platform>-<suite>` session per platform file and suite.

Two ways to run a session:
  nox -s rocm-pooling            fresh machine: nox builds a virtualenv and installs the
                                 workspace's [workspace] install arguments into it
  nox --no-venv -s rocm-pooling  prebuilt CI image: no virtualenv, nothing installed, so
                                 the image's torch and vLLM stay as they are
"""

from __future__ import annotations

import inspect
import os
import shlex
import sys
from pathlib import Path

import nox
from nox.virtualenv import PassthroughEnv

from .errors import TestmatrixError
from .model import Platform, Suite, Workspace

REPORTS = "reports"


def _has_venv(session: nox.Session) -> bool:
    return not isinstance(session.virtualenv, PassthroughEnv)


def prepare(session: nox.Session, workspace: Workspace) -> None:
    """Install the workspace into a fresh virtualenv; leave a prebuilt image alone."""
    if _has_venv(session):
        session.install(*workspace.install)
    else:
        session.log(
            "no virtualenv (--no-venv): using this interpreter's packages as they are; nothing installed"
        )


def lease_gpus(workspace: Workspace, platform: Platform) -> list[str]:
    """GPUs a session of this platform leases: only for GPU platforms with an inventory."""
    if not platform.visible_devices_env:
        return []
    from .detect import detect
    from .lease import ENV_GPUS, inventory

    count = workspace.settings.get("gpus")
    if count is None and not os.environ.get(ENV_GPUS):
        found = detect()
        count = found.devices if found.hardware == platform.hardware else 0
    return inventory(count or 0)


def conflicting_posarg(
    platform: Platform, suite: Suite, posargs: list[str]
) -> str | None:
    """Why an argument after `--` would contradict the session, or None: the session fixes the
    platform and suite, and its --ignore flags come from them."""
    for i, arg in enumerate(posargs):
        name, _, value = arg.partition("=")
        if name not in ("--platform", "--suite", "--skiplists"):
            continue
        value = value or (posargs[i + 1] if i + 1 < len(posargs) else "")
        if name == "--platform" and value != platform.name:
            return (
                f"'{name} {value}' after -- contradicts this session's platform ({platform.name}), whose --ignore flags "
                f"it runs with; run nox -s {value}-{suite.name} instead"
            )
        if name == "--suite" and value != suite.name:
            return (
                f"'{name} {value}' after -- contradicts this session's suite ({suite.name}); "
                f"run nox -s {platform.name}-{value} instead"
            )
        if name == "--skiplists":
            return "'--skiplists' after -- is not for sessions: their --ignore flags come from the workspace's own skiplists"
    return None


def pytest_session(workspace: Workspace, platform: Platform, suite: Suite):
    """The function nox runs for one platform x suite."""

    def run(session: nox.Session) -> None:
        from .plan import session_argv

        posargs = list(session.posargs)
        conflict = conflicting_posarg(platform, suite, posargs)
        if conflict:
            session.error(conflict)
        prepare(session, workspace)
        apply = "--no-skiplist" not in posargs
        argv = session_argv(workspace, platform.name, suite.name, apply=apply)
        argv += [a for a in posargs if a != "--no-skiplist"]
        if not any(a.startswith("--junitxml") for a in argv):
            argv.append(f"--junitxml={REPORTS}/{session.name}/junit.xml")
        durations = suite.settings.get("durations")
        sharded = any(a.startswith("--num-shards") for a in argv) and not any(
            a.startswith("--shard-durations") for a in argv
        )
        if sharded and durations and (workspace.root / durations).is_file():
            argv.append(
                f"--shard-durations={durations}"
            )  # balance shards by recorded time
        if not any(a.startswith("--summary-json") for a in argv):
            argv.append(f"--summary-json={REPORTS}/{session.name}/summary.json")
        ignores = sum(1 for a in argv if a.startswith("--ignore="))
        session.log(
            f"{platform.name} skiplist: {ignores} ignored paths for suite {suite.name}"
            if apply
            else "skiplist OFF"
        )
        session.log("pytest command: pytest " + shlex.join(argv))
        env = {}
        lease = None
        gpus = lease_gpus(workspace, platform)
        if gpus:
            from .lease import (
                acquire,
                lease_dir,
            )  # filelock is imported only by sessions that lease

            try:
                lease = acquire(
                    gpus,
                    lease_dir(workspace.settings.get("lease_dir")),
                    say=session.log,
                    holder=session.name,
                )
            except TestmatrixError as exc:
                session.error(str(exc))
            env[platform.visible_devices_env] = lease.gpu
            session.log(
                f"leased GPU {lease.gpu}: {platform.visible_devices_env}={lease.gpu}"
            )
        try:
            session.run("pytest", *argv, env=env)
        finally:
            if lease is not None:
                lease.release()

    run.__doc__ = f"Run suite {suite.name} ({suite.path}) as {platform.name} CI does: {platform.description}."
    run.__name__ = f"{platform.name}-{suite.name}"
    return run


def export_session(workspace: Workspace):
    def pipeline(session: nox.Session) -> None:
        if _has_venv(session):
            session.install(*workspace.install, "buildkite-sdk", "PyYAML")
        session.run("python", "-m", "testmatrix", "export", *session.posargs)

    pipeline.__doc__ = "Regenerate the Buildkite pipeline from the skiplists (-- --check: fail on drift)."
    return pipeline


def lint_session(workspace: Workspace):
    def lint(session: nox.Session) -> None:
        prepare(session, workspace)
        session.run("python", "-m", "testmatrix", "lint", *session.posargs)

    lint.__doc__ = "Lint the skiplists against the collected tests (-- --paths-only: without importing tests)."
    return lint


def register(root: Path | str | None = None) -> Workspace:
    """Declare every `<platform>-<suite>` session from the skiplists; exit cleanly on bad input."""
    from . import wscache

    try:
        # `nox -l` should cost little more than a hand-written noxfile: a valid cached
        # workspace needs neither the TOML parser nor the validator
        workspace = wscache.get_for_root(Path(root) if root is not None else Path.cwd())
        if workspace is None:
            from .config import load_workspace

            workspace = load_workspace(root)
    except TestmatrixError as exc:
        sys.exit(f"nox: {exc}".replace("\n", "\nnox: "))
    nox.session(
        export_session(workspace), name="pipeline", default=False, tags=["buildkite"]
    )
    nox.session(lint_session(workspace), name="lint", default=False, tags=["lint"])
    # GPU sessions lease their GPU, so they may run together under `nox -j N` (nox >= 2026.10)
    parallel = (
        {"allow_parallel": True}
        if "allow_parallel" in inspect.signature(nox.session).parameters
        else {}
    )
    for platform in workspace.platforms.values():
        for suite in workspace.suites.values():
            nox.session(
                pytest_session(workspace, platform, suite),
                name=f"{platform.name}-{suite.name}",
                tags=[platform.name, suite.name],
                **parallel,
            )
    return workspace
