"""The pytest plugin: applies a platform's skiplist to a plain pytest run.

Load it from the root conftest.py with `pytest_plugins = ["testmatrix.plugin"]`.
Hooks only gather facts and act on `Rules.fate`, so a bare pytest run, a nox
session and `testmatrix explain` decide every test the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import config as _config
from . import shard
from .detect import Detection, detect
from .errors import TestmatrixError
from .items import case_of, relpath
from .model import IgnoreEntry, Workspace
from .plan import (
    ENV_PLATFORM,
    Fate,
    FateKind,
    Rerun,
    Rules,
    hardware_mismatch,
    suite_named,
    target_platform,
)

FATE = pytest.StashKey[Fate]()
STATE = pytest.StashKey["State"]()
ENV_STRICT = "TESTMATRIX_STRICT_PLATFORM"


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
        help=f"target platform whose skiplist applies (a skiplists/platforms/NAME.toml, or 'none'); "
        f"default: ${ENV_PLATFORM}, else the detected hardware",
    )
    group.addoption(
        "--strict-platform",
        dest="testmatrix_strict",
        action="store_true",
        default=None,
        help="refuse to run unless the detected hardware is the target platform's (for CI steps)",
    )
    group.addoption(
        "--suite",
        dest="testmatrix_suite",
        metavar="NAME",
        help="apply only this suite's file-level ignores (nox sessions pass it; default: every suite's)",
    )
    group.addoption(
        "--no-skiplist",
        dest="testmatrix_no_skiplist",
        action="store_true",
        default=False,
        help="apply no skiplist entry: ignore, skip and deselect nothing (reproduces the failures)",
    )
    group.addoption(
        "--skiplists",
        dest="testmatrix_skiplists",
        metavar="DIR",
        help="directory holding suites.toml and platforms/ (default: ini 'skiplists', else <rootdir>/skiplists)",
    )
    for flag, dest, help_ in (
        (
            "--shard-id",
            "testmatrix_shard_id",
            "run only shard K (0-based) of the selected tests",
        ),
        (
            "--num-shards",
            "testmatrix_num_shards",
            "split the selected tests into N shards",
        ),
    ):
        try:
            group.addoption(
                flag, dest=dest, type=int, default=None, metavar="N", help=help_
            )
        except (
            ValueError
        ):  # pytest-shard or similar already owns the flag; let it shard
            pass
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
        help="write a JSON summary: counts by fate, entries used, flaky tests, durations",
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
    strict = bool(
        config.getoption("testmatrix_strict")
        or config.getini("strict_platform")
        or os.environ.get(ENV_STRICT) == "1"
    )
    refusal = hardware_mismatch(platform, detection.hardware, detection.describe())
    if strict and refusal:
        raise TestmatrixError(refusal)
    suite = config.getoption("testmatrix_suite")
    if suite is not None:
        suite_named(workspace, suite)
    apply = not config.getoption("testmatrix_no_skiplist")
    rules = Rules(workspace, platform, apply=apply, suite=suite)
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
    # Code under test (the bundled mini-vLLM) reads this to simulate the platform.
    config.stash[_PREVIOUS_ENV] = os.environ.get(ENV_PLATFORM)
    os.environ[ENV_PLATFORM] = state.rules.name


_PREVIOUS_ENV = pytest.StashKey["str | None"]()


def pytest_unconfigure(config: pytest.Config) -> None:
    if STATE not in config.stash:
        return
    previous = config.stash[_PREVIOUS_ENV]
    if previous is None:
        os.environ.pop(ENV_PLATFORM, None)
    else:
        os.environ[ENV_PLATFORM] = previous


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
            lines.append(
                f"testmatrix: skiplist {where}/platforms/{plat.name}.toml: "
                f"{len(plat.ignores)} ignores, {len(plat.skips)} model skips, "
                f"{len(plat.deselects)} deselects"
            )
    return lines


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    state = config.stash.get(STATE, None)
    if state is None or not state.rules.ignores:
        return None
    rel = relpath(collection_path, state.workspace.root)
    entry = state.rules.ignored_path(rel) if rel else None
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
    for item in items:
        fate = rules.fate(case_of(item, state.workspace.root, relevant))
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
        if fate.kind in (FateKind.DESELECTED, FateKind.IGNORED):
            deselected.append(item)
            continue
        if fate.kind is FateKind.SKIPPED:
            item.add_marker(pytest.mark.skip(reason=fate.message))
        keep.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


class Outcomes:
    """Records each test's final outcome, reruns and duration for the summary (hooks without config)."""

    def __init__(self, state: State):
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self.state
        if report.outcome == "rerun":
            state.reran.add(report.nodeid)
            return
        if report.when == "call" or (
            report.when == "setup" and report.outcome != "passed"
        ):
            state.outcomes[report.nodeid] = report.outcome
            state.durations_seen[report.nodeid] = round(report.duration, 6)


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
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
        "platform": state.rules.name,
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

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        shard_id, num = self.state.shard
        owner = shard.assign([i.nodeid for i in items], num, self.state.durations)
        keep = [item for item, s in zip(items, owner) if s == shard_id]
        other = [item for item, s in zip(items, owner) if s != shard_id]
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = keep

    def pytest_report_header(self, config: pytest.Config) -> str:
        shard_id, num = self.state.shard
        how = "recorded durations" if self.state.durations else "test count"
        return f"testmatrix: shard {shard_id} of {num} (0-based), balanced by {how}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    fate = item.stash.get(FATE, None)
    if fate is not None and fate.kind is FateKind.ERROR:
        pytest.fail(f"testmatrix: {fate.message}", pytrace=False)


def pytest_terminal_summary(
    terminalreporter, exitstatus, config: pytest.Config
) -> None:
    state = config.stash.get(STATE, None)
    if state is None or state.rules.platform is None:
        return
    counts = dict.fromkeys(FateKind, 0)
    entries = {entry.location for entry in state.ignored.values()}
    for fate in state.fates.values():
        counts[fate.kind] += 1
        if fate.entry is not None:
            entries.add(fate.entry.location)
    write = terminalreporter.write_line
    terminalreporter.section(f"testmatrix: {state.rules.name}", sep="-")
    if not state.rules.apply:
        write(
            "skiplist OFF (--no-skiplist): every test ran as it would without testmatrix"
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
