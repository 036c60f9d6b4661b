"""Pure planning: the pytest argv of a session, and the fate of one test on one platform.

Everything that must agree (nox sessions, the pytest plugin, explain, lint, audit)
calls these functions; none of them reads TOML or touches pytest.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

from .errors import UsageError, unknown
from .model import (
    DeselectEntry,
    Entry,
    IgnoreEntry,
    Platform,
    SkipEntry,
    Suite,
    Workspace,
)


class FateKind(str, enum.Enum):
    RUN = "runs"
    IGNORED = "ignored"
    DESELECTED = "deselected"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class MarkerUse:
    """A marker on a test and the models its author named on it, if any."""

    name: str
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestCase:
    """What planning needs to know of one collected test."""

    nodeid: str
    path: str  # workspace-relative posix path of its file
    markers: tuple[MarkerUse, ...] = ()
    params: tuple[
        str, ...
    ] = ()  # string values of its parametrization, fixture params included

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class Fate:
    """What happens to a test on a platform, and the entry that decided it."""

    kind: FateKind
    platform: str
    entry: Entry | None = None
    model: str | None = None
    message: str = ""

    @property
    def runs(self) -> bool:
        return self.kind is FateKind.RUN


def models_of(test: TestCase, marker: str, rules: Rules) -> tuple[str, ...]:
    """The models a marked test uses: named on the marker, else its model-like params."""
    named = tuple(m for use in test.markers if use.name == marker for m in use.models)
    if named:
        return named
    return tuple(v for v in test.params if rules.is_model(v))


class Rules:
    """One platform's entries, indexed for fast per-test decisions."""

    def __init__(
        self,
        workspace: Workspace,
        platform: Platform | None,
        *,
        apply: bool = True,
        suite: str | None = None,
    ):
        self.workspace = workspace
        self.platform = platform
        self.name = platform.name if platform else "none"
        self.apply = apply and platform is not None
        self.known_models = workspace.known_models
        self.model_re = re.compile(workspace.model_pattern)
        self.ignores: dict[str, IgnoreEntry] = {}
        self.deselects: tuple[DeselectEntry, ...] = ()
        self.skips: dict[str, list[SkipEntry]] = {}
        self.runs = Fate(FateKind.RUN, self.name)  # shared: most tests simply run
        self.skip_index: dict[
            str, dict[str, SkipEntry]
        ] = {}  # marker -> model -> entry
        self._model_like: dict[str, bool] = {}
        self._ignore_cache: dict[str, IgnoreEntry | None] = {}
        if self.apply:
            # suites may share a directory (steps split by -m); a named suite applies only its own ignores
            self.ignores = {
                e.target: e
                for e in platform.ignores
                if suite is None or e.suite == suite
            }
            self.deselects = platform.deselects
            for entry in platform.skips:
                self.skips.setdefault(entry.marker, []).append(entry)
                index = self.skip_index.setdefault(entry.marker, {})
                for model in entry.models:
                    index.setdefault(model, entry)

    @property
    def decides_nothing(self) -> bool:
        """No entry can change any test's fate: every test runs."""
        return not (self.ignores or self.deselects or self.skips)

    def is_model(self, value: str) -> bool:
        """A listed model, or a value shaped like a model id (cached: params repeat)."""
        known = self._model_like.get(value)
        if known is None:
            known = self._model_like[value] = value in self.known_models or bool(
                self.model_re.match(value)
            )
        return known

    @cached_property
    def deselect_prefixes(self) -> tuple[str, ...]:
        return tuple(e.nodeid for e in self.deselects)

    def ignore_for(self, relpath: str) -> IgnoreEntry | None:
        """The ignore entry covering a workspace-relative path (itself or a parent)."""
        if not self.ignores:
            return None
        if relpath in self._ignore_cache:
            return self._ignore_cache[relpath]
        entry = self.ignores.get(relpath)
        if entry is None:
            for parent in PurePosixPath(relpath).parents:
                entry = self.ignores.get(str(parent))
                if entry is not None:
                    break
        self._ignore_cache[relpath] = entry
        return entry

    def fate(self, test: TestCase) -> Fate:
        """Decide one test's fate; the first matching kind wins: ignore, deselect, skip."""
        if not self.apply:
            return self.runs
        ignore = self.ignore_for(test.path)
        if ignore is not None:
            return Fate(
                FateKind.IGNORED,
                self.name,
                ignore,
                message=f"{ignore.target} is ignored on {self.name}: {ignore.cite()}",
            )
        if self.deselects and test.nodeid.startswith(self.deselect_prefixes):
            entry = next(e for e in self.deselects if test.nodeid.startswith(e.nodeid))
            return Fate(
                FateKind.DESELECTED,
                self.name,
                entry,
                message=f"deselected on {self.name}: {entry.cite()}",
            )
        missing: SkipEntry | None = None
        for use in test.markers:
            index = self.skip_index.get(use.name)
            if index is None:
                continue
            models = models_of(test, use.name, self)
            if not models:
                missing = missing or self.skips[use.name][0]
                continue
            for model in models:
                entry = index.get(model)
                if entry is not None:
                    return Fate(
                        FateKind.SKIPPED,
                        self.name,
                        entry,
                        model,
                        f"{model} is skipped on {self.name} ({entry.marker}): {entry.cite()}",
                    )
        if missing is not None:
            return Fate(
                FateKind.ERROR,
                self.name,
                missing,
                message=(
                    f"{test.nodeid} is marked '{missing.marker}' but its model cannot be determined "
                    f"from its parameters, so {self.name}'s skiplist cannot decide it; name it on the marker: "
                    f'@pytest.mark.{missing.marker}(model="org/name") [{missing.location}]'
                ),
            )
        return self.runs


def platform_named(workspace: Workspace, name: str) -> Platform | None:
    """The declared platform `name`; None for 'none' (no skiplist applies)."""
    if name == "none":
        return None
    if name not in workspace.platforms:
        raise UsageError(unknown("platform", name, [*workspace.platforms, "none"]))
    return workspace.platforms[name]


def suite_named(workspace: Workspace, name: str) -> Suite:
    if name not in workspace.suites:
        raise UsageError(unknown("suite", name, workspace.suites))
    return workspace.suites[name]


def session_name(platform: str, suite: str) -> str:
    return f"{platform}-{suite}"


def session_argv(
    workspace: Workspace, platform: str, suite: str, *, apply: bool = True
) -> list[str]:
    """The pytest arguments a `<platform>-<suite>` session runs, ignore flags included."""
    plat = platform_named(workspace, platform)
    target = suite_named(workspace, suite)
    argv = [target.path, f"--platform={platform}", f"--suite={suite}"]
    if not apply:
        return argv + ["--no-skiplist"]
    if plat is None:
        return argv
    inside = lambda path: path == target.path or path.startswith(target.path + "/")  # noqa: E731
    argv += [
        f"--ignore={e.target}{'/' if e.path.endswith('/') else ''}"
        for e in plat.ignores
        if e.suite == target.name
    ]
    argv += [
        f"--deselect={e.nodeid}"
        for e in plat.deselects
        if inside(e.nodeid.split("::", 1)[0])
    ]
    return argv
