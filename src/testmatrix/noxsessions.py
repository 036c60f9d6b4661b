"""nox adapter: one `<platform>-<suite>` session per platform file and suite.

Two ways to run a session:
  nox -s rocm-pooling            fresh machine: nox builds a virtualenv and installs the
                                 workspace's [workspace] install arguments into it, and
                                 the testmatrix that nox runs (same version and source)
  nox --no-venv -s rocm-pooling  prebuilt CI image: no virtualenv, nothing installed, so
                                 the image's torch and vLLM stay as they are
"""

from __future__ import annotations

import inspect
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import nox
from nox.virtualenv import PassthroughEnv

from . import envdir
from .config import load_workspace
from .errors import TestmatrixError
from .installed import origin
from .model import Platform, Workspace
from .plan import (
    SessionKey,
    gpus_to_lease,
    install_args,
    session_command,
    sessions,
)

if TYPE_CHECKING:
    from .lease import Lease


def _has_venv(session: nox.Session) -> bool:
    return not isinstance(session.virtualenv, PassthroughEnv)


def prepare(session: nox.Session, workspace: Workspace, extras: str = "") -> None:
    """Install the workspace, and the testmatrix that runs this session (the same
    version, from the same place), into a fresh virtualenv; leave a prebuilt image
    alone."""
    if _has_venv(session):
        with envdir.installing(Path.cwd()):  # another nox here may be building too
            session.install(*install_args(workspace, origin(), extras))
    else:
        session.log(
            "no virtualenv (--no-venv): using this interpreter's packages as they are; "
            "nothing installed"
        )


def _lease(
    session: nox.Session, workspace: Workspace, platform: Platform, count: int
) -> Lease | None:
    """Lease `count` GPUs at once for a GPU platform's session (None where there is
    nothing to lease: no GPU detected and none configured)."""
    from .detect import detect

    detected = gpus_to_lease(workspace, platform, detect)
    if detected is None:
        return None
    from .lease import acquire, configured_gpus, inventory, lease_dir

    try:
        gpus = inventory(detected)
        if not gpus and configured_gpus() is None:
            return None  # no GPU detected: nothing to lease
        where = lease_dir(workspace.lease_dir)
        return acquire(gpus, where, count=count, say=session.log, holder=session.name)
    except TestmatrixError as exc:
        session.error(str(exc))


def pytest_session(
    workspace: Workspace, key: SessionKey
) -> Callable[[nox.Session], None]:
    """The function nox runs for one suite on one platform or variant."""
    platform = workspace.platforms[key.platform]
    suite = workspace.suites[key.suite]

    def run(session: nox.Session) -> None:
        try:
            command = session_command(
                workspace,
                key.platform,
                key.suite,
                variant=key.variant,
                posargs=session.posargs,
            )
        except TestmatrixError as exc:
            session.error(str(exc))
        prepare(session, workspace)
        if command.applied:
            session.log(
                f"{key.target} skiplist: {command.ignores} ignored paths "
                f"for suite {suite.name}"
            )
        else:
            session.log("skiplist OFF")
        session.log("pytest command: pytest " + shlex.join(command.argv))
        env = dict(command.env)
        lease = _lease(session, workspace, platform, command.gpus)
        if lease is not None:
            env[platform.visible_devices_env] = lease.gpu
            session.log(
                f"leased GPU{'s' if len(lease.gpus) > 1 else ''} {lease.gpu}: "
                f"{platform.visible_devices_env}={lease.gpu}"
            )
        try:
            if lease is None:
                session.run("pytest", *command.argv, env=env)
            else:  # under `hold`, pytest holds the lease too, so it outlives nox
                held = lease.wrap(["pytest", *command.argv], env)
                session.run(*held, env=env, external=True)
        finally:
            if lease is not None:
                lease.release()

    on = platform.description
    if key.variant is not None:
        on = platform.variants[key.variant].description
    run.__doc__ = f"Run suite {suite.name} as {key.target} CI does: {on}."
    run.__name__ = key.name
    return run


def export_session(workspace: Workspace) -> Callable[[nox.Session], None]:
    def pipeline(session: nox.Session) -> None:
        prepare(session, workspace, extras="buildkite")
        session.run("python", "-m", "testmatrix", "export", *session.posargs)

    pipeline.__doc__ = (
        "Regenerate the Buildkite pipeline from the skiplists (-- --check: fail on "
        "drift)."
    )
    return pipeline


def lint_session(workspace: Workspace) -> Callable[[nox.Session], None]:
    def lint(session: nox.Session) -> None:
        prepare(session, workspace)
        session.run("python", "-m", "testmatrix", "lint", *session.posargs)

    lint.__doc__ = (
        "Lint the skiplists against the collected tests (-- --paths-only: without "
        "importing tests)."
    )
    return lint


class _Parallel(TypedDict, total=False):
    """nox.session's allow_parallel, passed only where this nox has it."""

    allow_parallel: bool


def register(root: Path | str | None = None) -> Workspace:
    """Declare every `<platform>-<suite>` session from the skiplists; bad input exits
    with its one-line errors."""
    try:
        workspace = load_workspace(root)
    except TestmatrixError as exc:
        sys.exit(f"nox: {exc}".replace("\n", "\nnox: "))
    # a nox started while another runs in this checkout gets virtualenvs of its own
    # (nox has made the noxfile's directory the working directory)
    own = envdir.claim(Path.cwd())
    if own is not None:
        nox.options.envdir = str(own)
    # nox.session(name=...)(func): the call its overloads type (func with keywords
    # is accepted at run time but matches neither overload)
    nox.session(name="pipeline", default=False, tags=["buildkite"])(
        export_session(workspace)
    )
    nox.session(name="lint", default=False, tags=["lint"])(lint_session(workspace))
    # GPU sessions lease their GPU, so they may run together: `nox -j N` (nox 2026.10+)
    parallel: _Parallel = (
        {"allow_parallel": True}
        if "allow_parallel" in inspect.signature(nox.session).parameters
        else {}
    )
    for name, key in sessions(workspace).items():
        # -t rocm: every rocm session, variants' too; -t rocm-mi300: that variant's
        tags = [key.platform, key.suite]
        if key.variant is not None:
            tags.insert(1, f"{key.platform}-{key.variant}")
        nox.session(name=name, tags=tags, **parallel)(pytest_session(workspace, key))
    return workspace
