"""The pytest plugin: applies a platform's skiplist to a plain pytest run.

Load it from the root conftest.py with `pytest_plugins = ["testmatrix.plugin"]`.
Hooks only gather facts and act on `Rules.fate`, so a bare pytest run, a nox
session and `testmatrix explain` decide every test the same way.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from . import config as _config
from . import shard
from .detect import Detection, detect
from .errors import TestmatrixError
from .items import case_of, relpath
from .model import Exclude, IgnoreEntry, Workspace
from .plan import (
    ENV_PLATFORM,
    Fate,
    FateKind,
    Rerun,
    Rules,
    hardware_mismatch,
    suite_named,
    target_platform,
    target_variant,
)

FATE = pytest.StashKey[Fate]()
STATE = pytest.StashKey["State"]()
ENV_STRICT = "TESTMATRIX_STRICT_PLATFORM"
ENV_VARIANT = "TESTMATRIX_VARIANT"


class State:
    """What the plugin decided for this run, and what it did."""

    def __init__(
        self, workspace: Workspace, rules: Rules, detection: Detection, strict: bool
    ):
        self.workspace = workspace
        self.rules = rules
        self.detection = detection
        self.strict = strict
        self.ignored: dict[str, IgnoreEntry] = {}
        self.excluded: dict[str, Exclude] = {}
        self.shard: tuple[int, int] | None = None
        self.reran: set[str] = set()
        self.outcomes: dict[str, str] = {}
        self.durations_seen: dict[str, float] = {}
        self.reruns: dict[str, Rerun] = {}
        self.durations: dict[str, float] | None = None
        self.fates: dict[str, Fate] = {}

    @property
    def simulated(self) -> bool:
        plat = self.rules.platform
        return plat is not None and plat.hardware != self.detection.hardware


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testmatrix", "platform skiplists (testmatrix)")
    group.addoption(
        "--platform",
        dest="testmatrix_platform",
        metavar="NAME",
        help="target platform whose skiplist applies (skiplists/platforms/NAME.toml, "
        f"or 'none'); default: ${ENV_PLATFORM}, else the detected hardware's",
    )
    group.addoption(
        "--variant",
        dest="testmatrix_variant",
        metavar="NAME",
        help="hardware variant of the platform whose entries apply too (rocm: mi300); "
        f"default: ${ENV_VARIANT}, else the detected one, else platform-wide only",
    )
    group.addoption(
        "--strict-platform",
        dest="testmatrix_strict",
        action="store_true",
        default=None,
        help="refuse to run unless the detected hardware is the target's (CI steps)",
    )
    group.addoption(
        "--suite",
        dest="testmatrix_suite",
        metavar="NAME",
        help="apply this suite's selection and only its file-level ignores "
        "(nox sessions pass it; default: every suite's ignores)",
    )
    group.addoption(
        "--no-skiplist",
        dest="testmatrix_no_skiplist",
        action="store_true",
        default=False,
        help="apply no skiplist entry: ignore, skip and deselect nothing "
        "(reproduces the failures)",
    )
    group.addoption(
        "--skiplists",
        dest="testmatrix_skiplists",
        metavar="DIR",
        help="directory holding suites.toml and platforms/ "
        "(default: ini 'skiplists', else <rootdir>/skiplists)",
    )
    for flag, dest, help_ in (
        ("--shard-id", "testmatrix_shard_id", "run only shard K (0-based)"),
        ("--num-shards", "testmatrix_num_shards", "split the tests into N shards"),
    ):
        # pytest-shard or similar may own the flag already; then it shards
        with contextlib.suppress(ValueError):
            group.addoption(
                flag, dest=dest, type=int, default=None, metavar="N", help=help_
            )
    group.addoption(
        "--shard-durations",
        dest="testmatrix_durations",
        metavar="FILE",
        help="JSON {test id: seconds} to balance shards by time (default: by count)",
    )
    group.addoption(
        "--summary-json",
        dest="testmatrix_summary",
        metavar="PATH",
        help="write a JSON summary: counts by fate, entries used, flaky tests, "
        "durations",
    )
    parser.addini(
        "skiplists", "directory of testmatrix skiplists, relative to the rootdir"
    )
    parser.addini(
        "strict_platform",
        "refuse to run on hardware other than the target platform's",
        type="bool",
        default=False,
    )


def _registered_markers(config: pytest.Config) -> set[str]:
    return {
        line.split(":", 1)[0].split("(", 1)[0].strip()
        for line in config.getini("markers")
    }


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def _workspace(config: pytest.Config) -> Workspace:
    handed = config.hook.pytest_testmatrix_workspace(config=config)
    if handed is not None:
        return handed
    option = config.getoption("testmatrix_skiplists") or config.getini("skiplists")
    if not option:
        return _config.load_workspace(config.rootpath)
    directory = Path(option)
    if not directory.is_absolute():
        given = config.getoption("testmatrix_skiplists")
        directory = (Path.cwd() if given else config.rootpath) / directory
    return _config.load_workspace(skiplist_dir=directory)


def _load(config: pytest.Config) -> State:
    workspace = _workspace(config)
    registered = _registered_markers(config)
    for plat in workspace.platforms.values():
        for entry in plat.skips:
            if entry.marker not in registered:
                ini = config.inipath.name if config.inipath else "pytest.ini"
                raise TestmatrixError(
                    f"{entry.location}: marker '{entry.marker}' is not registered; "
                    f"add it to 'markers' in {ini}"
                )
    detection = detect()
    requested = config.getoption("testmatrix_platform") or os.environ.get(ENV_PLATFORM)
    platform = target_platform(workspace, requested, detection.hardware)
    variant = target_variant(
        platform,
        config.getoption("testmatrix_variant") or os.environ.get(ENV_VARIANT),
        detection.hardware,
        detection.models,
    )
    strict = bool(
        config.getoption("testmatrix_strict")
        or config.getini("strict_platform")
        or os.environ.get(ENV_STRICT) == "1"
    )
    refusal = hardware_mismatch(
        platform, variant, detection.hardware, detection.models, detection.describe()
    )
    if strict and refusal:
        raise TestmatrixError(refusal)
    suite = config.getoption("testmatrix_suite")
    if suite is not None:
        suite_named(workspace, suite)
    apply = not config.getoption("testmatrix_no_skiplist")
    rules = Rules(
        workspace,
        platform,
        variant=variant.name if variant else None,
        apply=apply,
        suite=suite,
    )
    state = State(workspace, rules, detection, strict)
    num = config.getoption("testmatrix_num_shards", None)
    shard_id = config.getoption("testmatrix_shard_id", None)
    if num is not None or shard_id is not None:
        shard.check(shard_id or 0, num or 1)
        state.shard = (shard_id or 0, num or 1)
    durations = config.getoption("testmatrix_durations")
    if durations:
        state.durations = shard.load_durations(Path(durations))
    return state


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help", False) or config.getoption("version", False):
        return
    try:
        state = _load(config)
    except TestmatrixError as exc:
        # pytest prefixes the first line with "ERROR: "; give every problem the same
        raise pytest.UsageError(str(exc).replace("\n", "\nERROR: ")) from None
    config.stash[STATE] = state
    config.pluginmanager.register(Outcomes(state), "testmatrix-outcomes")
    if state.shard is not None:
        config.pluginmanager.register(Sharder(state), "testmatrix-shard")
    target = state.rules.platform
    if state.rules.apply and target and any(e.fails for e in target.entries):
        from . import expect  # judges expected failures by their error

        config.pluginmanager.register(expect, "testmatrix-expect")
    # Code under test (the bundled mini-vLLM) reads these to simulate the target.
    rules = state.rules
    platform = rules.platform.name if rules.platform else "none"
    config.stash[_PREVIOUS_ENV] = {k: os.environ.get(k) for k in _TARGET_ENV}
    os.environ[ENV_PLATFORM] = platform
    if rules.variant is not None:
        os.environ[ENV_VARIANT] = rules.variant


_TARGET_ENV = (ENV_PLATFORM, ENV_VARIANT)
_KINDS = ("ignore", "skip", "deselect")
_LEFT_OUT = (FateKind.DESELECTED, FateKind.IGNORED, FateKind.NOT_IN_SUITE)
_PREVIOUS_ENV = pytest.StashKey[dict[str, "str | None"]]()


def pytest_unconfigure(config: pytest.Config) -> None:
    if STATE not in config.stash:
        return
    for name, previous in config.stash[_PREVIOUS_ENV].items():
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash.get(STATE, None)
    if state is None:
        return []
    rules = state.rules
    detected = state.detection.describe()
    plat = rules.platform
    if plat is None:
        target = "target platform: none (no skiplist applies)"
    elif state.simulated:
        target = (
            f"target platform: {rules.name} "
            f"(SIMULATED: this machine is not {plat.hardware})"
        )
    else:
        target = f"target platform: {rules.name} (running on its hardware)"
    lines = [f"testmatrix: {target}; detected hardware: {detected}"]
    if plat is not None:
        if not rules.apply:
            lines.append(
                "testmatrix: skiplist OFF (--no-skiplist): nothing is ignored, "
                "skipped or deselected"
            )
        else:
            where = os.path.relpath(state.workspace.skiplist_dir)
            entries = [e for e in plat.entries if e.holds_on(rules.variant)]
            count = {kind: sum(e.kind == kind for e in entries) for kind in _KINDS}
            lines.append(
                f"testmatrix: skiplist {where}/platforms/{plat.name}.toml: "
                f"{count['ignore']} ignores, {count['skip']} model skips, "
                f"{count['deselect']} deselects"
                + (f" (with {rules.variant}'s own)" if rules.variant else "")
            )
    return lines


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    state = config.stash.get(STATE, None)
    if state is None or not (state.rules.ignores or state.rules.selects):
        return None
    rel = relpath(collection_path, state.workspace.root)
    if rel is None:
        return None
    exclude = state.rules.excluded_path(rel)
    if exclude is not None:  # the suite's partitioning: never collected here
        state.excluded[rel] = exclude
        return True
    entry = state.rules.ignored_path(rel)
    if entry is None:
        return None
    state.ignored[rel] = entry
    return True


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(STATE, None)
    if state is None or state.rules.decides_nothing:
        return  # every test runs as it is (cuda here): cost nothing per item
    rules = state.rules
    keep, deselected = [], []
    relevant = frozenset(rules.skips)  # only these markers can change a fate here
    suite = rules.suite
    marks = bool(suite and suite.markexpr)
    keywords = bool(suite and suite.keyword)
    root = state.workspace.root
    for item in items:
        case = case_of(item, root, relevant, selection=marks, keywords=keywords)
        fate = rules.fate(case)
        if fate.rerun is not None:
            rerun = fate.rerun
            item.add_marker(
                pytest.mark.flaky(reruns=rerun.reruns, reruns_delay=rerun.delay)
            )
            state.reruns[item.nodeid] = rerun
        if fate.kind is FateKind.RUN:
            keep.append(item)
            continue
        item.stash[FATE] = fate
        state.fates[item.nodeid] = fate
        if fate.kind in _LEFT_OUT:
            deselected.append(item)
            continue
        if fate.kind is FateKind.SKIPPED:
            item.add_marker(pytest.mark.skip(reason=fate.message))
        keep.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


class Outcomes:
    """Records each test's final outcome, reruns and duration for the summary."""

    def __init__(self, state: State):
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self.state
        # pytest-rerunfailures sets outcome "rerun" at run time, outside pytest's
        # Literal["passed", "failed", "skipped"]: compare a plain str view of it
        if str(report.outcome) == "rerun":
            state.reran.add(report.nodeid)
            return
        if report.when == "call" or (
            report.when == "setup" and report.outcome != "passed"
        ):
            state.outcomes[report.nodeid] = report.outcome
            state.durations_seen[report.nodeid] = round(report.duration, 6)


def pytest_sessionfinish(
    session: pytest.Session, exitstatus: int | pytest.ExitCode
) -> None:
    state = session.config.stash.get(STATE, None)
    path = session.config.getoption("testmatrix_summary", None)
    if state is None or not path:
        return
    from .reports import write_summary

    write_summary(Path(path), summarise(state, session.config, int(exitstatus)))


def summarise(state: State, config: pytest.Config, exitstatus: int) -> dict:
    counts = {
        "passed": 0,
        "failed": 0,
        "skipped_by_entry": 0,
        "skipped_other": 0,
        "flaky": 0,
        "errors": 0,
    }
    for nodeid, outcome in state.outcomes.items():
        fate = state.fates.get(nodeid)
        if outcome == "passed":
            counts["passed"] += 1
            counts["flaky"] += nodeid in state.reran
        elif outcome == "failed":
            counts["failed"] += 1
        elif outcome == "skipped":
            counts[
                "skipped_by_entry"
                if fate is not None and fate.kind is FateKind.SKIPPED
                else "skipped_other"
            ] += 1
    counts["errors"] = sum(1 for f in state.fates.values() if f.kind is FateKind.ERROR)
    counts["deselected"] = sum(
        1
        for f in state.fates.values()
        if f.kind in (FateKind.DESELECTED, FateKind.IGNORED)
    )
    counts["ignored_paths"] = len(state.ignored)
    # the suite's partitioning, apart from what the platform's entries keep out
    counts["not_in_suite"] = len(state.excluded) + sum(
        1 for f in state.fates.values() if f.kind is FateKind.NOT_IN_SUITE
    )
    used: dict[str, dict] = {}
    for fate in state.fates.values():
        if fate.entry is not None:
            row = used.setdefault(
                str(fate.entry.location),
                {
                    "kind": fate.entry.kind,
                    "reason": fate.entry.reason,
                    "issue": fate.entry.issue,
                    "tests": 0,
                },
            )
            row["tests"] += 1
    for entry in state.ignored.values():
        used.setdefault(
            str(entry.location),
            {
                "kind": "ignore",
                "reason": entry.reason,
                "issue": entry.issue,
                "tests": 0,
            },
        )
    return {
        "platform": state.rules.platform.name if state.rules.platform else "none",
        "variant": state.rules.variant,
        "target": state.rules.name,
        "suite": config.getoption("testmatrix_suite"),
        "simulated": state.simulated,
        "hardware": state.detection.hardware,
        "exitstatus": exitstatus,
        "counts": counts,
        "flaky": sorted(n for n in state.reran if state.outcomes.get(n) == "passed"),
        "entries": used,
        "durations": state.durations_seen,
        "total_seconds": round(sum(state.durations_seen.values()), 6),
    }


class Sharder:
    """Keeps one shard of what every other plugin selected (so it runs last)."""

    def __init__(self, state: State):
        self.state = state
        assert state.shard is not None  # registered only for a sharded run
        self.shard: tuple[int, int] = state.shard

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        shard_id, num = self.shard
        owner = shard.assign([i.nodeid for i in items], num, self.state.durations)
        keep = [item for item, s in zip(items, owner, strict=True) if s == shard_id]
        other = [item for item, s in zip(items, owner, strict=True) if s != shard_id]
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = keep

    def pytest_report_header(self, config: pytest.Config) -> str:
        shard_id, num = self.shard
        how = "recorded durations" if self.state.durations else "test count"
        return f"testmatrix: shard {shard_id} of {num} (0-based), balanced by {how}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    fate = item.stash.get(FATE, None)
    if fate is not None and fate.kind is FateKind.ERROR:
        pytest.fail(f"testmatrix: {fate.message}", pytrace=False)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter,
    exitstatus: pytest.ExitCode,
    config: pytest.Config,
) -> None:
    state = config.stash.get(STATE, None)
    if state is None or (state.rules.platform is None and not state.rules.selects):
        return
    counts = dict.fromkeys(FateKind, 0)
    entries = {entry.location for entry in state.ignored.values()}
    for fate in state.fates.values():
        counts[fate.kind] += 1
        if fate.entry is not None:
            entries.add(fate.entry.location)
    write = terminalreporter.write_line
    terminalreporter.section(f"testmatrix: {state.rules.name}", sep="-")
    suite = state.rules.suite
    if suite is not None and (state.excluded or counts[FateKind.NOT_IN_SUITE]):
        write(
            f"suite {suite.name}: {len(state.excluded)} paths excluded, "
            f"{counts[FateKind.NOT_IN_SUITE]} tests outside its selection "
            "(partitioning: they run in other suites)"
        )
    if state.rules.platform is None:
        return
    if not state.rules.apply:
        write(
            "skiplist OFF (--no-skiplist): every test ran as it would without "
            "testmatrix"
        )
        return
    write(
        f"{len(state.ignored)} paths ignored, "
        f"{counts[FateKind.SKIPPED]} tests skipped by model entries, "
        f"{counts[FateKind.DESELECTED] + counts[FateKind.IGNORED]} deselected, "
        f"{counts[FateKind.ERROR]} marked tests with no model; "
        f"{len(entries)} skiplist entries used"
    )
    for rel, entry in sorted(state.ignored.items()):
        write(f"  ignored {rel}: {entry.cite()}")
    for nodeid in sorted(state.reran):
        if state.outcomes.get(nodeid) == "passed":
            rerun = state.reruns.get(nodeid)
            why = f": {rerun.cite()}" if rerun else ""
            write(f"  FLAKY (passed on rerun) {nodeid}{why}", yellow=True)
    if counts[FateKind.ERROR]:
        write(
            f"  {counts[FateKind.ERROR]} tests are marked but name no model: "
            "see the errors above",
            red=True,
        )
