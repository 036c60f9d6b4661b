"""The tox hooks: declare the sessions as environments, configure them, and run each
one as nox runs the session (install, GPU lease, the plan's pytest command).

tox calls `tox_extend_envs` before it knows its root, but consumes the names only
when it lists environments, after `tox_add_core_config` has told the root: the
names are a generator that looks for skiplists/ from there (else from the working
directory). A project's own environments of other names are untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tox.execute.request import StdinSource
from tox.plugin import impl
from tox.report import HandledError

from testmatrix.tox import envs

if TYPE_CHECKING:
    from tox.config.sets import ConfigSet, EnvConfigSet
    from tox.execute import Outcome
    from tox.session.state import State
    from tox.tox_env.api import ToxEnv

    from testmatrix.core.model import Platform, Workspace
    from testmatrix.nox.lease import Lease

LOG = logging.getLogger("testmatrix")
_found: dict[Path, envs.Sessions | None] = {}  # by tox root: one tox run, one root
_roots: list[Path] = []  # the root tox_add_core_config saw, once it has
_leases: dict[int, Lease] = {}  # by id of the tox environment holding it
# The hooks may be registered twice (an entry point found through an egg-info on
# sys.path, and a toxfile importing them): each acts once per run or environment.
_listed: set[str] = set()  # names declared this run
_left_out: set[str] = set()  # names the project's own configuration declares
_prepared: set[int] = set()  # ids of the environments installed and leased for


def _sessions() -> envs.Sessions | None:
    root = _roots[-1] if _roots else Path.cwd()
    if root not in _found:
        _found[root] = envs.find(root)
    return _found[root]


def _names() -> Iterator[str]:
    sessions = _sessions()
    for name in sessions.listed if sessions is not None else ():
        if name not in _listed:
            _listed.add(name)
            yield name


@impl
def tox_extend_envs() -> Iterator[str]:
    # a new run (tox in-process, as tests run it, may start several): look afresh
    _found.clear()
    _roots.clear()
    _listed.clear()
    _left_out.clear()
    return _names()


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    _roots.append(Path(core_conf["tox_root"]))


@impl
def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
    sessions = _sessions()
    if sessions is None or env_conf.name not in sessions.listed:
        return
    if any(isinstance(loader, envs.SessionLoader) for loader in env_conf.loaders):
        return  # configured by the other registration of these hooks
    if any(
        getattr(getattr(loader, "section", None), "name", None) == env_conf.name
        for loader in env_conf.loaders
    ):  # the project's own tox configuration declares it: theirs, as written
        if env_conf.name in _left_out:
            return
        _left_out.add(env_conf.name)
        LOG.warning(
            "the project's tox configuration defines this environment; "
            "testmatrix's session of that name is left out"
        )
        return
    posargs = state.conf.pos_args(sessions.root) or ()
    listed = sessions.listed[env_conf.name]
    env_conf.loaders.insert(0, envs.SessionLoader(sessions, listed, posargs))


def _loader(tox_env: ToxEnv) -> envs.SessionLoader | None:
    loaders = tox_env.conf.loaders
    found = [x for x in loaders if isinstance(x, envs.SessionLoader)]
    return found[0] if found else None


@impl
def tox_before_run_commands(tox_env: ToxEnv) -> None:
    """Install as nox does, then lease the session's GPUs and run pytest holding
    them (the lease outlives tox, as it outlives nox)."""
    loader = _loader(tox_env)
    if loader is None or id(tox_env) in _prepared:
        return
    _prepared.add(id(tox_env))
    command = loader.session_command()
    _install(tox_env, loader.sessions)
    if command.applied:
        LOG.warning(
            "%s skiplist: %d ignored paths for suite %s",
            command.key.target,
            sum(c.ignores for c in loader.session_commands()),
            command.key.suite,
        )
    else:
        LOG.warning("skiplist OFF")
    workspace = loader.sessions.workspace()
    platform = workspace.platforms[command.key.platform]
    lease = _lease(tox_env, workspace, platform, command.gpus)
    if lease is None:
        return
    _leases[id(tox_env)] = lease
    env = loader.shared_env()
    env[platform.visible_devices_env] = lease.gpu
    held = [lease.wrap(loader.run_args(c), env) for c in loader.session_commands()]
    LOG.warning(
        "leased GPU%s %s: %s=%s",
        "s" if len(lease.gpus) > 1 else "",
        lease.gpu,
        platform.visible_devices_env,
        lease.gpu,
    )
    tox_env.conf["set_env"].update(env)
    from tox.config.types import Command

    tox_env.conf["commands"][:] = [Command(h) for h in held]  # its cached list


def _install(tox_env: ToxEnv, sessions: envs.Sessions) -> None:
    """pip install the workspace's `install` arguments and this testmatrix, one pip
    at a time in a checkout (nox's sessions take the same lock)."""
    from testmatrix.nox import envdir

    args = envs.install_args(sessions)
    if not args:
        return
    python = getattr(tox_env, "env_python", None)
    interpreter = str(python()) if python is not None else "python"
    with envdir.installing(sessions.root):
        outcome = tox_env.execute(
            [interpreter, "-m", "pip", "install", *args],
            stdin=StdinSource.OFF,
            show=True,
            run_id="testmatrix-install",
        )
    if outcome.exit_code != 0:
        raise HandledError(f"installing {' '.join(args)} failed")


def _lease(
    tox_env: ToxEnv, workspace: Workspace, platform: Platform, count: int
) -> Lease | None:
    from testmatrix.errors import TestmatrixError
    from testmatrix.nox.lease import for_session

    try:
        return for_session(
            workspace, platform, count, say=LOG.warning, holder=tox_env.name
        )
    except TestmatrixError as exc:
        raise HandledError(str(exc)) from None


@impl
def tox_after_run_commands(
    tox_env: ToxEnv, exit_code: int, outcomes: list[Outcome]
) -> None:
    _prepared.discard(id(tox_env))
    lease = _leases.pop(id(tox_env), None)
    if lease is not None:
        lease.release()  # a pytest still running keeps its own locks
