"""The typed, validated form of `skiplists/`: what every adapter reads."""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """Where a declaration stands: a skiplist file (workspace-relative) and line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Suite:
    """A named test directory that gets one nox session per platform."""

    name: str
    path: str  # workspace-relative, posix, no trailing slash
    description: str
    location: Location
    settings: dict = field(default_factory=dict, compare=False, hash=False)

    def holds(self, path: str) -> bool:
        """Whether a workspace-relative path (a file, or a node id's file) is in the suite."""
        return path == self.path or path.startswith(self.path + "/")


@dataclass(frozen=True)
class ModelList:
    """A named list of model ids, defined once and referenced by entries."""

    name: str
    models: tuple[str, ...]
    description: str
    location: Location


@dataclass(frozen=True)
class Entry:
    """What every skiplist entry carries: why, where it is tracked, where it stands."""

    platform: str
    reason: str
    issue: str | None
    expires: _dt.date | None
    location: Location

    kind = "entry"

    @property
    def subject(self) -> str:
        """What the entry names, for messages: a path, a marker, a test id."""
        raise NotImplementedError

    def cite(self) -> str:
        """The reason as users see it: reason, issue link and declaration."""
        issue = f" ({self.issue})" if self.issue else " (no issue link)"
        return f"{self.reason}{issue} [{self.location}]"


@dataclass(frozen=True)
class IgnoreEntry(Entry):
    """A file or directory of one suite that is never collected on the platform."""

    suite: str
    path: str  # relative to the suite directory, as written
    target: str  # workspace-relative path that pytest --ignore receives

    kind = "ignore"

    @property
    def subject(self) -> str:
        return f"'{self.target}'"


@dataclass(frozen=True)
class SkipEntry(Entry):
    """Tests carrying `marker` are skipped when their model is one of `models`."""

    marker: str
    models: frozenset[str]
    model_lists: tuple[str, ...]

    kind = "skip"

    @property
    def subject(self) -> str:
        return f"marker '{self.marker}'"


@dataclass(frozen=True)
class DeselectEntry(Entry):
    """One test id (a pytest node id prefix, as --deselect takes it)."""

    nodeid: str

    kind = "deselect"

    @property
    def subject(self) -> str:
        return f"'{self.nodeid}'"


@dataclass(frozen=True)
class FlakyEntry(Entry):
    """Tests known to be flaky on the platform: rerun up to `reruns` times."""

    pattern: str
    reruns: int
    delay: float

    kind = "flaky"

    @property
    def subject(self) -> str:
        return f"'{self.pattern}'"


@dataclass(frozen=True)
class Platform:
    """One hardware platform and its entries."""

    name: str
    description: str
    hardware: str  # what detection must report for --strict-platform
    visible_devices_env: str
    location: Location
    ignores: tuple[IgnoreEntry, ...] = ()
    skips: tuple[SkipEntry, ...] = ()
    deselects: tuple[DeselectEntry, ...] = ()
    flaky: tuple[FlakyEntry, ...] = ()
    settings: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return (*self.ignores, *self.skips, *self.deselects, *self.flaky)


@dataclass(frozen=True)
class Workspace:
    """Everything `skiplists/` declares, with paths resolved against `root`."""

    root: Path
    skiplist_dir: Path
    suites: dict[str, Suite]
    platforms: dict[str, Platform]
    model_lists: dict[str, ModelList]
    install: tuple[str, ...]
    model_pattern: str
    settings: dict = field(default_factory=dict, compare=False, hash=False)

    def suites_holding(self, path: str) -> tuple[str, ...]:
        """The names of the suites whose directory holds a workspace-relative path."""
        return _holding(tuple(self.suites.values()), path)

    @property
    def known_models(self) -> frozenset[str]:
        """Every model named anywhere in the skiplists."""
        models: set[str] = set()
        for model_list in self.model_lists.values():
            models.update(model_list.models)
        for platform in self.platforms.values():
            for skip in platform.skips:
                models.update(skip.models)
        return frozenset(models)


@functools.lru_cache(maxsize=65536)
def _holding(suites: tuple[Suite, ...], path: str) -> tuple[str, ...]:
    # cached per file: a file holds many tests
    return tuple(suite.name for suite in suites if suite.holds(path))
