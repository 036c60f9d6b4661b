"""What each session's tox environment is configured with, from the listing and the
plan: tox reads these values through `SessionLoader`, a memory loader that loads the
workspace only when a value needs more than the session's name.

Names, labels and descriptions come from `config.listing` (read light, as `nox -l`
does); the command, its environment and what the environment installs come from
plan.session_command and plan.install_args when tox first asks for them, so `tox l`
costs what `nox -l` does and bad input stops the one environment that needs it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tox.config.loader.memory import MemoryLoader
from tox.config.types import Command
from tox.report import HandledError

from testmatrix.config import listing
from testmatrix.config.listing import Listed
from testmatrix.core import names

if TYPE_CHECKING:
    from tox.config.main import Config

    from testmatrix.core.model import Workspace
    from testmatrix.core.session import SessionCommand

# what tox reads of a session's environment beyond these keys is its own default
LAZY_KEYS = ("commands", "set_env", "ignore_errors")


@dataclass
class Sessions:
    """The sessions of the workspace at `root`, by name, loading it on demand."""

    root: Path
    listed: dict[str, Listed]
    _workspace: Workspace | None = None

    def workspace(self) -> Workspace:
        """The validated workspace; bad input is tox's one-line error."""
        if self._workspace is None:
            from testmatrix.config.loader import load_workspace
            from testmatrix.errors import TestmatrixError

            try:
                self._workspace = load_workspace(self.root)
            except TestmatrixError as exc:
                raise HandledError(str(exc)) from None
        return self._workspace


def find(start: Path) -> Sessions | None:
    """The sessions of the workspace at or above `start` (None: no skiplists/), from
    the tables that name them (cached, or read light); where that is unsure, from
    the whole workspace, whose bad input is one error that names the file."""
    root = listing.find_root(start)
    if root is None:
        return None
    skiplists = root / names.SKIPLIST_DIR
    listed = listing.listing(skiplists)
    if listed is not None:
        return Sessions(root, {s.name: s for s in listed})
    files = listing.read_files(skiplists)
    sessions = Sessions(root, {})
    workspace = sessions.workspace()
    listing.store_for(workspace, files)  # the next tox l lists from the cache
    sessions.listed = {s.name: s for s in listing.from_workspace(workspace)}
    return sessions


def command(
    sessions: Sessions, listed: Listed, posargs: Sequence[str]
) -> tuple[SessionCommand, ...]:
    """The session's commands, as nox builds them (one per run of a suite that is a
    CI job): refusals are one-line tox errors."""
    from testmatrix.core.session import session_commands
    from testmatrix.errors import TestmatrixError

    workspace = sessions.workspace()
    if listed.platform not in workspace.platforms or listed.suite not in (
        workspace.suites
    ):  # the skiplists changed since the listing
        raise HandledError(f"session {listed.name} is no longer declared")
    try:
        return session_commands(
            workspace,
            listed.platform,
            listed.suite,
            variant=listed.variant,
            posargs=posargs,
        )
    except TestmatrixError as exc:
        # plan's advice names the nox session; the tox environment has its name
        advice = str(exc).replace("; run nox -s ", "; run tox -e ")
        raise HandledError(advice) from None


def install_args(sessions: Sessions) -> list[str]:
    """What the environment installs: the workspace's `install` arguments and the
    testmatrix running tox (plan.install_args, as nox's sessions)."""
    from testmatrix.core.session import install_args as plan_install_args
    from testmatrix.system.installed import is_own_project, origin

    workspace = sessions.workspace()
    own = is_own_project(workspace.root)
    return plan_install_args(workspace, origin(), own_project=own)


class SessionLoader(MemoryLoader):
    """One session's tox settings: fixed ones given, the command and its environment
    computed when tox first reads them (tox caches what a loader returns)."""

    def __init__(
        self, sessions: Sessions, listed: Listed, posargs: Sequence[str]
    ) -> None:
        super().__init__(
            description=listed.doc,
            labels=list(listed.tags),
            # the workspace's `install` arguments install the project (see plugin):
            # tox builds no package of its own
            skip_install=True,
            package="skip",
            change_dir=sessions.root,  # the session's paths are the workspace's
            pass_env=["*"],  # as nox's sessions, which run in the caller's env
            # the GPU lease's `hold` step runs on tox's own interpreter; `env` sets
            # a run's own variables (a suite of several runs)
            allowlist_externals=[sys.executable, "env"],
        )
        self.sessions, self.listed, self.posargs = sessions, listed, tuple(posargs)
        self._commands: tuple[SessionCommand, ...] | None = None

    def session_commands(self) -> tuple[SessionCommand, ...]:
        if self._commands is None:
            self._commands = command(self.sessions, self.listed, self.posargs)
        return self._commands

    def session_command(self) -> SessionCommand:
        """The first run's command (the session's, for a suite of one run)."""
        return self.session_commands()[0]

    def shared_env(self) -> dict[str, str]:
        """The environment every run sets (tox's set_env)."""
        runs = self.session_commands()
        first = dict(runs[0].env)
        return {k: v for k, v in first.items() if all(r.env.get(k) == v for r in runs)}

    def run_args(self, command: SessionCommand) -> list[str]:
        """One run's command line; its own variables through `env`."""
        shared = self.shared_env()
        own = [f"{k}={v}" for k, v in command.env.items() if shared.get(k) != v]
        return [*(["env", *own] if own else []), "pytest", *command.argv]

    def load_raw(self, key: str, conf: Config | None, env_name: str | None) -> Any:
        if key == "commands":
            return [Command(self.run_args(c)) for c in self.session_commands()]
        if key == "set_env":
            return self.shared_env()
        if key == "ignore_errors":  # every run runs; the env fails if any did
            return len(self.session_commands()) > 1
        return super().load_raw(key, conf, env_name)

    def found_keys(self) -> set[str]:
        return super().found_keys() | set(LAZY_KEYS)
