"""nox adapter: one `<platform>-<suite>` session per platform file and suite.

Two ways to run a session:
  nox -s rocm-pooling            fresh machine: nox builds a virtualenv and installs the
                                 workspace's [workspace] install arguments into it, and
                                 the testmatrix that nox runs (same version and source)
  nox --no-venv -s rocm-pooling  prebuilt CI image: no virtualenv, nothing installed, so
                                 the image's torch and vLLM stay as they are

Declaring the sessions reads only what names and describes them (`sessionlist`), so
`nox -l` costs about what a hand-written noxfile does; a session loads and validates
the whole workspace when it runs, and bad input stops it, one line a problem, before
pytest starts.
"""

from __future__ import annotations

import importlib
import inspect
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict

import nox
from nox.virtualenv import PassthroughEnv

from testmatrix.config import listing
from testmatrix.config.listing import Listed
from testmatrix.core import names
from testmatrix.nox import envdir

if TYPE_CHECKING:
    from testmatrix.core.model import Platform, Workspace
    from testmatrix.core.session import SessionCommand, SessionKey
    from testmatrix.nox.lease import Lease


class LazyWorkspace:
    """The workspace of a noxfile, loaded (validated, from its cache) the first time
    something needs more than the session names: `register` returns one. Its
    attributes are the workspace's."""

    def __init__(self, root: Path | str | None, workspace: Workspace | None = None):
        self.root_given = root
        self._workspace = workspace

    def load(self) -> Workspace:
        """The workspace; bad input raises its TestmatrixError."""
        if self._workspace is None:
            from testmatrix.config.loader import load_workspace

            self._workspace = load_workspace(self.root_given)
        return self._workspace

    def for_session(self, session: nox.Session) -> Workspace:
        """The workspace, or the session stopped with bad input's one-line errors."""
        from testmatrix.errors import TestmatrixError

        try:
            return self.load()
        except TestmatrixError as exc:
            refuse(session, str(exc))

    def __getattr__(self, name: str) -> Any:
        # what register() returned before it was lazy: the workspace itself
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.load(), name)


def _lazy(workspace: Workspace | LazyWorkspace) -> LazyWorkspace:
    if isinstance(workspace, LazyWorkspace):
        return workspace
    return LazyWorkspace(workspace.root, workspace)


PREPARED = ".testmatrix-prepared"  # in a virtualenv testmatrix installed into
# What a pytest run with the plugin imports, at startup or (reports: filelock) when
# it configures; checked in the session's interpreter, one line if missing.
NEEDED = ("pytest", "testmatrix.plugin", "testmatrix.results.reports")
PROBE = (
    f"import sys\ntry:\n import {', '.join(NEEDED)}\n"
    "except ImportError as exc:\n print(exc)\n sys.exit(3)"
)


def _has_venv(session: nox.Session) -> bool:
    return not isinstance(session.virtualenv, PassthroughEnv)


def _venv_path(session: nox.Session) -> Path | None:
    venv = getattr(session, "virtualenv", None)
    location = getattr(venv, "location", None)
    return Path(location) if location and _has_venv(session) else None


def refuse(session: nox.Session, message: str) -> NoReturn:
    """Stop the session with one line; a virtualenv nox made for it and testmatrix
    never filled goes too, so that `nox -R` does not reuse it empty."""
    venv = _venv_path(session)
    made = venv is not None and (venv / "pyvenv.cfg").is_file()
    if made and venv is not None and not (venv / PREPARED).exists():
        shutil.rmtree(venv, ignore_errors=True)
    session.error(message)


def pytest_argv(session: nox.Session) -> list[str]:
    """How the session starts pytest: the virtualenv's, or with --no-venv this
    interpreter's (not the first `pytest` on PATH, which may be another Python's)."""
    return ["pytest"] if _has_venv(session) else [sys.executable, "-m", "pytest"]


def _check_installed(session: nox.Session) -> None:
    """One line where the session's interpreter cannot run testmatrix's plugin (a
    dependency missing, or testmatrix itself), instead of pytest's INTERNALERROR."""
    if _has_venv(session):
        said = session.run(
            "python", "-c", PROBE, silent=True, success_codes=[0, 3], log=False
        )
        where = "this session's virtualenv"
        fix = "install it there (nox without -R/--no-install rebuilds it)"
    else:
        try:
            for module in NEEDED:
                importlib.import_module(module)
            said = ""
        except ImportError as exc:
            said = str(exc)
        where = f"this interpreter ({sys.executable}; --no-venv)"
        fix = (
            "pip install pytest-testmatrix into it, or run the session without "
            "--no-venv"
        )
    if isinstance(said, str) and said.strip():
        problem = said.strip().splitlines()[-1]
        refuse(
            session,
            f"testmatrix is not installed in {where}: {problem}; {fix}",
        )


def prepare(session: nox.Session, workspace: Workspace, extras: str = "") -> None:
    """Install the workspace, and the testmatrix that runs this session (the same
    version, from the same place), into a fresh virtualenv; leave a prebuilt image
    alone. Either way, testmatrix must import in the session's interpreter."""
    venv = _venv_path(session)
    if _has_venv(session):
        from testmatrix.core.session import install_args
        from testmatrix.system.installed import is_own_project, origin

        with envdir.installing(Path.cwd()):  # another nox here may be building too
            own = is_own_project(workspace.root)
            session.install(*install_args(workspace, origin(), extras, own_project=own))
    else:
        session.log(
            "no virtualenv (--no-venv): using this interpreter's packages as they are; "
            "nothing installed"
        )
    _check_installed(session)
    if venv is not None and venv.is_dir():
        (venv / PREPARED).touch()


def _lease(
    session: nox.Session, workspace: Workspace, platform: Platform, count: int
) -> Lease | None:
    """Lease `count` GPUs at once for a GPU platform's session (None where there is
    nothing to lease: no GPU detected and none configured)."""
    from testmatrix.errors import TestmatrixError
    from testmatrix.nox.lease import for_session

    try:
        return for_session(
            workspace, platform, count, say=session.log, holder=session.name
        )
    except TestmatrixError as exc:
        session.error(str(exc))  # raises: the session ends here


def _run_suite(session: nox.Session, workspace: Workspace, key: SessionKey) -> None:
    """Run one suite on one platform or variant, as its CI does: each of its pytest
    runs in order, all of them whatever an earlier one gave; the session fails if
    any run failed."""
    from testmatrix.core.session import session_commands
    from testmatrix.errors import TestmatrixError

    platform = workspace.platforms.get(key.platform)
    suite = workspace.suites.get(key.suite)
    if platform is None or suite is None:  # the skiplists changed since nox -l
        refuse(session, f"session {key.name} is no longer declared by the skiplists")
    try:
        commands = session_commands(
            workspace,
            key.platform,
            key.suite,
            variant=key.variant,
            posargs=session.posargs,
        )
    except TestmatrixError as exc:
        refuse(session, str(exc))
    prepare(session, workspace)
    first = commands[0]
    if first.applied:
        ignores = sum(c.ignores for c in commands)
        session.log(
            f"{key.target} skiplist: {ignores} ignored paths for suite {suite.name}"
        )
    else:
        session.log("skiplist OFF")
    lease = _lease(session, workspace, platform, first.gpus)
    failed: list[str] = []
    try:
        for command in commands:
            if not _run_one(session, platform, command, lease):
                failed.append(f"run {command.run}")
    finally:
        if lease is not None:
            lease.release()
    if failed:
        session.error(
            f"{len(failed)} of {len(commands)} pytest runs failed ({', '.join(failed)})"
            "; every run ran"
        )


def _run_one(
    session: nox.Session,
    platform: Platform,
    command: SessionCommand,
    lease: Lease | None,
) -> bool:
    """One pytest run of a session; False where it failed (a suite of several runs
    goes on with the next, as vLLM's CI step would report all of them)."""
    from nox.command import CommandFailed

    if command.runs > 1:
        session.log(f"run {command.run} of {command.runs}")
    session.log("pytest command: pytest " + shlex.join(command.argv))
    pytest = pytest_argv(session)
    if pytest[0] != "pytest":
        session.log(f"pytest runs as {shlex.join(pytest)}: this interpreter's")
    env = dict(command.env)
    if lease is not None:
        env[platform.visible_devices_env] = lease.gpu
        session.log(
            f"leased GPU{'s' if len(lease.gpus) > 1 else ''} {lease.gpu}: "
            f"{platform.visible_devices_env}={lease.gpu}"
        )
    try:
        if lease is None:
            session.run(*pytest, *command.argv, env=env, external=True)
        else:  # under `hold`, pytest holds the lease too, so it outlives nox
            held = lease.wrap([*pytest, *command.argv], env)
            session.run(*held, env=env, external=True)
    except CommandFailed:
        if command.runs == 1:
            raise
        return False
    return True


def pytest_session(
    workspace: Workspace | LazyWorkspace, key: SessionKey | Listed
) -> Callable[[nox.Session], None]:
    """The function nox runs for one suite on one platform or variant: a listed
    session (`listing.Listed`) of a lazy workspace loads it when it runs."""
    lazy = _lazy(workspace)
    if isinstance(key, Listed):
        listed = key
    else:
        listed = next(
            s for s in listing.from_workspace(lazy.load()) if s.name == key.name
        )

    def run(session: nox.Session) -> None:
        from testmatrix.core.session import SessionKey

        loaded = lazy.for_session(session)
        _run_suite(session, loaded, SessionKey(key.platform, key.variant, key.suite))

    run.__doc__ = listed.doc
    run.__name__ = listed.name
    return run


def export_session(
    workspace: Workspace | LazyWorkspace,
) -> Callable[[nox.Session], None]:
    lazy = _lazy(workspace)

    def pipeline(session: nox.Session) -> None:
        prepare(session, lazy.for_session(session), extras="buildkite")
        session.run("python", "-m", "testmatrix", "export", *session.posargs)

    pipeline.__doc__ = (
        "Regenerate the Buildkite pipeline from the skiplists (-- --check: fail on "
        "drift)."
    )
    return pipeline


def lint_session(workspace: Workspace | LazyWorkspace) -> Callable[[nox.Session], None]:
    lazy = _lazy(workspace)

    def lint(session: nox.Session) -> None:
        prepare(session, lazy.for_session(session))
        session.run("python", "-m", "testmatrix", "lint", *session.posargs)

    lint.__doc__ = (
        "Lint the skiplists against the collected tests (-- --paths-only: without "
        "importing tests)."
    )
    return lint


class _Parallel(TypedDict, total=False):
    """nox.session's allow_parallel, passed only where this nox has it."""

    allow_parallel: bool


def _listing(root: Path | str | None) -> tuple[LazyWorkspace, list[Listed]]:
    """The sessions from the tables that name them (cached, or read light); where
    that is unsure, from the whole workspace, whose bad input exits with its
    one-line errors."""
    found = listing.find_root(Path(root) if root is not None else Path.cwd())
    if found is not None:
        listed = listing.listing(found / names.SKIPLIST_DIR)
        if listed is not None:
            return LazyWorkspace(found), listed
    from testmatrix.config.loader import load_workspace
    from testmatrix.errors import TestmatrixError

    skiplists = found / names.SKIPLIST_DIR if found else None
    files = listing.read_files(skiplists) if skiplists else None
    try:
        workspace = load_workspace(root)
    except TestmatrixError as exc:
        sys.exit(f"nox: {exc}".replace("\n", "\nnox: "))
    listing.store_for(workspace, files)  # the next nox -l lists from the cache
    return LazyWorkspace(root, workspace), listing.from_workspace(workspace)


def register(root: Path | str | None = None) -> LazyWorkspace:
    """Declare every `<platform>-<suite>` session from the skiplists, and the
    pipeline and lint sessions; returns the workspace, loaded when first used.
    Bad input in what names the sessions exits with its one-line errors; elsewhere
    it stops a session when it runs."""
    workspace, listed = _listing(root)
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
    for session in listed:
        # -t rocm: every rocm session, variants' too; -t rocm-mi300: that variant's
        nox.session(name=session.name, tags=list(session.tags), **parallel)(
            pytest_session(workspace, session)
        )
    return workspace
