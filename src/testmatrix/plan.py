"""Pure planning: the complete command of a session, and the fate of one test.

Everything that must agree (nox sessions, Buildkite steps, the pytest plugin, explain,
lint, audit, `testmatrix argv`) calls these functions; none of them reads TOML or
touches pytest, and no adapter decides anything these functions decide.
"""

from __future__ import annotations

import enum
import fnmatch
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath

from .detect import Detection
from .errors import UsageError, unknown
from .model import (
    DeselectEntry,
    Entry,
    FlakyEntry,
    IgnoreEntry,
    Platform,
    SkipEntry,
    Suite,
    Workspace,
)

ENV_PLATFORM = "TESTMATRIX_PLATFORM"
REPORTS_DIR = "reports"
SHARD_FLAGS = ("--shard-id", "--num-shards")


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
    params: tuple[str, ...] = ()  # string values of its parameters, fixtures' too

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class Rerun:
    """A known flake (or a suite that asks for reruns): rerun a failure this often."""

    reruns: int
    delay: float
    entry: FlakyEntry | None = None  # None: the suite's own `reruns` setting
    suite: str | None = None

    def cite(self) -> str:
        if self.entry is not None:
            return self.entry.cite()
        return f"suite {self.suite} reruns failures"


@dataclass(frozen=True)
class Fate:
    """What happens to a test on a platform, and the entry that decided it."""

    kind: FateKind
    platform: str
    entry: Entry | None = None
    model: str | None = None
    message: str = ""
    rerun: Rerun | None = None

    @property
    def runs(self) -> bool:
        return self.kind is FateKind.RUN


def models_of(test: TestCase, marker: str, rules: Rules) -> tuple[str, ...]:
    """The models a marked test uses: named on the marker, else its model-like params."""
    named = tuple(m for use in test.markers if use.name == marker for m in use.models)
    if named:
        return named
    return rules.models_in(test)


class Rules:
    """One platform's entries (one suite's ignores), indexed for per-test decisions."""

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
        self.flaky: tuple[FlakyEntry, ...] = ()
        self.runs = Fate(FateKind.RUN, self.name)  # shared: most tests simply run
        self.skip_index: dict[str, dict[str, SkipEntry]] = {}  # marker: model: entry
        # suites whose `reruns` setting applies to every failure in them
        self.rerun_suites = tuple(
            s
            for s in workspace.suites.values()
            if s.settings.get("reruns") and (suite is None or s.name == suite)
        )
        self._model_like: dict[str, bool] = {}
        self._ignore_cache: dict[str, IgnoreEntry | None] = {}
        if platform is not None and self.apply:
            # suites may share a directory: a named suite applies only its own ignores
            self.ignores = {
                e.target: e
                for e in platform.ignores
                if suite is None or e.suite == suite
            }
            self.deselects = platform.deselects
            self.flaky = platform.flaky
            for entry in platform.skips:
                self.skips.setdefault(entry.marker, []).append(entry)
                index = self.skip_index.setdefault(entry.marker, {})
                for model in entry.models:
                    index.setdefault(model, entry)

    @property
    def decides_nothing(self) -> bool:
        """No entry can change any test's fate and nothing is rerun: every test runs."""
        return not (
            self.ignores
            or self.deselects
            or self.skips
            or (self.apply and (self.flaky or self.rerun_suites))
        )

    def is_model(self, value: str) -> bool:
        """A listed model, or a value shaped like a model id (cached: params repeat)."""
        known = self._model_like.get(value)
        if known is None:
            known = value in self.known_models or bool(self.model_re.match(value))
            self._model_like[value] = known
        return known

    def models_in(self, test: TestCase) -> tuple[str, ...]:
        """The values of a test's parameters that are models."""
        return tuple(v for v in test.params if self.is_model(v))

    def listed(self, models: Iterable[str]) -> list[tuple[SkipEntry, str]]:
        """(entry, model) for each model that one of the platform's skips lists."""
        return [
            (entry, model)
            for entries in self.skips.values()
            for entry in entries
            for model in models
            if model in entry.models
        ]

    @cached_property
    def deselect_prefixes(self) -> tuple[str, ...]:
        return tuple(e.nodeid for e in self.deselects)

    def ignored_path(self, relpath: str) -> IgnoreEntry | None:
        """The entry ignoring exactly this path (pytest asks for each directory)."""
        return self.ignores.get(relpath) if self.ignores else None

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

    def rerun_for(self, test: TestCase) -> Rerun | None:
        """How often a failure of this test is rerun: a flaky entry, else its suite's."""
        if not self.apply:
            return None
        for flaky in self.flaky:
            if test.nodeid.startswith(flaky.pattern) or fnmatch.fnmatchcase(
                test.nodeid, flaky.pattern
            ):
                return Rerun(flaky.reruns, flaky.delay, entry=flaky)
        for suite in self.rerun_suites:
            if suite.holds(test.path):
                delay = float(suite.settings.get("reruns_delay", 0))
                return Rerun(suite.settings["reruns"], delay, suite=suite.name)
        return None

    def fate(self, test: TestCase) -> Fate:
        """Decide one test's fate; the first kind that matches wins: ignore, deselect,
        skip; a test that runs (or errors) carries its rerun policy."""
        if not self.apply:
            return self.runs
        ignore = self.ignore_for(test.path)
        if ignore is not None:
            message = f"{ignore.target} is ignored on {self.name}: {ignore.cite()}"
            return Fate(FateKind.IGNORED, self.name, ignore, message=message)
        if self.deselects and test.nodeid.startswith(self.deselect_prefixes):
            entry = next(e for e in self.deselects if test.nodeid.startswith(e.nodeid))
            message = f"deselected on {self.name}: {entry.cite()}"
            return Fate(FateKind.DESELECTED, self.name, entry, message=message)
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
                    message = (
                        f"{model} is skipped on {self.name} ({entry.marker}): "
                        f"{entry.cite()}"
                    )
                    return Fate(FateKind.SKIPPED, self.name, entry, model, message)
        rerun = self.rerun_for(test) if self.flaky or self.rerun_suites else None
        if missing is not None:
            message = (
                f"{test.nodeid} is marked '{missing.marker}' but its model cannot be "
                f"determined from its parameters, so {self.name}'s skiplist cannot "
                f"decide it; name it on the marker: "
                f'@pytest.mark.{missing.marker}(model="org/name") [{missing.location}]'
            )
            return Fate(FateKind.ERROR, self.name, missing, None, message, rerun)
        if rerun is not None:
            return Fate(FateKind.RUN, self.name, rerun=rerun)
        return self.runs


# -- names on the command line ---------------------------------------------------------


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


def target_platform(
    workspace: Workspace, requested: str | None, hardware: str
) -> Platform | None:
    """The platform whose skiplist applies: the one asked for (option or environment),
    else the platform of the detected hardware, else none."""
    if requested:
        return platform_named(workspace, requested)
    found = (p for p in workspace.platforms.values() if p.hardware == hardware)
    return next(found, None)


def hardware_mismatch(
    platform: Platform | None, hardware: str, found: str
) -> str | None:
    """Why strict mode refuses to run `platform` on this machine, or None."""
    if platform is None or platform.hardware == hardware:
        return None
    return (
        f"--strict-platform: target platform '{platform.name}' needs "
        f"{platform.hardware} hardware, but this machine has {found}; "
        f"drop --strict-platform to simulate {platform.name} here"
    )


def gpus_to_lease(
    workspace: Workspace, platform: Platform, detect: Callable[[], Detection]
) -> int | None:
    """How many GPUs a session of `platform` may lease from, before TESTMATRIX_GPUS
    (which the lease inventory reads) overrides it: `[workspace] gpus`, else the
    detected devices when they are the platform's own. None: it leases no GPU."""
    if not platform.visible_devices_env:
        return None
    configured = workspace.settings.get("gpus")
    if configured is not None:
        return int(configured)
    if os.environ.get("TESTMATRIX_GPUS"):
        return 0  # the inventory is the environment's; no need to probe
    detected = detect()
    return detected.devices if detected.hardware == platform.hardware else 0


# -- sessions ---------------------------------------------------------------------------


def session_name(platform: str, suite: str) -> str:
    return f"{platform}-{suite}"


def sessions(workspace: Workspace) -> dict[str, tuple[str, str]]:
    """Every session's name and its (platform, suite), in declaration order."""
    return {
        session_name(p, s): (p, s)
        for p in workspace.platforms
        for s in workspace.suites
    }


def session_named(workspace: Workspace, name: str) -> tuple[str, str]:
    """(platform, suite) of a session name as `nox -l` lists it."""
    known = sessions(workspace)
    if name not in known:
        raise UsageError(unknown("session", name, known))
    return known[name]


def session_argv(
    workspace: Workspace, platform: str, suite: str, *, apply: bool = True
) -> list[str]:
    """The pytest arguments that select a session's tests: the suite, the platform and
    the suite's ignore and deselect flags (what a bare pytest run reproduces)."""
    plat = platform_named(workspace, platform)
    target = suite_named(workspace, suite)
    argv = [target.path, f"--platform={platform}", f"--suite={suite}"]
    if not apply:
        return argv + ["--no-skiplist"]
    if plat is None:
        return argv
    argv += [
        f"--ignore={e.target}{'/' if e.path.endswith('/') else ''}"
        for e in plat.ignores
        if e.suite == target.name
    ]
    argv += [
        f"--deselect={e.nodeid}"
        for e in plat.deselects
        if target.holds(e.nodeid.split("::", 1)[0])
    ]
    return argv


@dataclass(frozen=True)
class SessionCommand:
    """The complete command of one session: pytest's arguments and its environment."""

    name: str
    platform: str
    suite: str
    argv: tuple[str, ...]  # after `pytest`
    env: Mapping[str, str] = field(default_factory=dict)
    applied: bool = True  # the skiplist applies (no --no-skiplist)

    @property
    def ignores(self) -> int:
        return sum(1 for a in self.argv if a.startswith("--ignore="))

    def as_dict(self) -> dict:
        return {"argv": list(self.argv), "env": dict(self.env)}


@dataclass(frozen=True)
class Sharding:
    """Parallel jobs: shard `shard_id` of `num_shards` (strings: may be $$VARs)."""

    shard_id: str
    num_shards: str

    def flags(self) -> list[str]:
        return [f"--shard-id={self.shard_id}", f"--num-shards={self.num_shards}"]


def conflicting_posarg(platform: str, suite: str, posargs: Sequence[str]) -> str | None:
    """Why an argument given after `--` would contradict the session, or None: the
    session fixes the platform and suite, and its --ignore flags come from them."""
    for i, arg in enumerate(posargs):
        name, _, value = arg.partition("=")
        if name not in ("--platform", "--suite", "--skiplists"):
            continue
        value = value or (posargs[i + 1] if i + 1 < len(posargs) else "")
        if name == "--platform" and value != platform:
            return (
                f"'{name} {value}' after -- contradicts this session's platform "
                f"({platform}), whose --ignore flags it runs with; "
                f"run nox -s {session_name(value, suite)} instead"
            )
        if name == "--suite" and value != suite:
            return (
                f"'{name} {value}' after -- contradicts this session's suite ({suite}); "
                f"run nox -s {session_name(platform, value)} instead"
            )
        if name == "--skiplists":
            return (
                "'--skiplists' after -- is not for sessions: their --ignore flags come "
                "from the workspace's own skiplists"
            )
    return None


def session_command(
    workspace: Workspace,
    platform: str,
    suite: str,
    *,
    posargs: Sequence[str] = (),
    sharding: Sharding | None = None,
    exists: Callable[[str], bool] | None = None,
) -> SessionCommand:
    """The one builder of a session's command: nox, Buildkite (either style),
    `testmatrix argv` and `sessions` all run exactly this.

    `posargs` are the user's extra pytest arguments (`nox -s S -- ...`); `--no-skiplist`
    among them turns the skiplist off. Reports go to reports/<session>/ unless the
    user names their own. `exists` tells whether a workspace-relative file exists
    (default: look in the workspace); it decides whether recorded durations balance
    the shards.
    """
    conflict = conflicting_posarg(platform, suite, posargs)
    if conflict:
        raise UsageError(conflict)
    name = session_name(platform, suite)
    apply = "--no-skiplist" not in posargs
    argv = session_argv(workspace, platform, suite, apply=apply)
    argv += [a for a in posargs if a != "--no-skiplist"]
    if sharding is not None:
        argv += sharding.flags()
    given = {a.split("=", 1)[0] for a in argv}
    reports = f"{REPORTS_DIR}/{name}"
    if "--junitxml" not in given and "--junit-xml" not in given:
        argv.append(f"--junitxml={reports}/junit.xml")
    durations = suite_named(workspace, suite).settings.get("durations")
    if exists is None:
        root = workspace.root
        exists = lambda rel: os.path.isfile(os.path.join(root, rel))  # noqa: E731
    if (
        "--num-shards" in given
        and durations
        and "--shard-durations" not in given
        and exists(durations)
    ):
        argv.append(f"--shard-durations={durations}")  # balance shards by recorded time
    if "--summary-json" not in given:
        argv.append(f"--summary-json={reports}/summary.json")
    return SessionCommand(name, platform, suite, tuple(argv), {}, apply)
