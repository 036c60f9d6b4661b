"""The plugin's hooks (`testmatrix.plugin` re-exports them: pytest registers that
module, which stays small, see its docstring). Hooks only gather facts and act on
`Rules.fate`, so a bare pytest run, a nox session and `testmatrix explain` decide every
test the same way.

Each test's fate travels in its report (`user_properties`, which JUnit writes as
`<properties>`), and what the plugin left out of the run travels in xdist's worker
output, so the process that writes the summary counts the same with or without
pytest-xdist.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from testmatrix.plugin.keys import (
    PREVIOUS_ENV,
    PROPERTIES_SET,
    STATE,
    WORKER_OUTPUT,
)
from testmatrix.plugin.options import OPTIONS, SHORT_NAMES, ShortNames

# Every pytest run imports this module, so it imports no more than the options:
# the rest loads once a workspace exists (a project without skiplists/ pays for
# none of it).
if TYPE_CHECKING:
    from testmatrix.plugin.state import State


def pytest_addoption(
    parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager
) -> None:
    group = parser.getgroup(
        "testmatrix",
        "platform skiplists (testmatrix; each option also has its short name, "
        "--platform, where no other plugin owns it)",
    )
    for option, spec in OPTIONS:
        group.addoption(option.long, dest=option.dest, **spec)
    parser.addini(
        "skiplists", "directory of testmatrix skiplists, relative to the rootdir"
    )
    parser.addini(
        "strict_platform",
        "refuse to run on hardware other than the target platform's",
        type="bool",
        default=False,
    )
    names = ShortNames(group)
    # Loaded from a conftest, every installed plugin has registered its options
    # already; loaded earlier (entry point, -p), wait until all have. (pytest sets
    # the conftest cut-off directory just before it imports the initial conftests.)
    config = pluginmanager.get_plugin("pytestconfig")
    if getattr(pluginmanager, "_confcutdir", None) is None or not isinstance(
        config, pytest.Config
    ):
        pluginmanager.register(names, SHORT_NAMES)
        return
    # nothing left to wait for: no plugin to register (pytest scans each one for
    # fixtures when the session starts, about 1 M instructions)
    names.add(config)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from testmatrix.plugin import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help", False) or config.getoption("version", False):
        return
    from testmatrix.plugin.options import may_apply

    if not may_apply(config):
        return  # no skiplists here: nothing to do, nothing to say
    from testmatrix.core.targets import ENV_PLATFORM
    from testmatrix.errors import TestmatrixError
    from testmatrix.plugin.keys import ENV_VARIANT
    from testmatrix.plugin.load import load_state
    from testmatrix.plugin.state import TARGET_ENV, is_worker
    from testmatrix.plugin.summary import Controller, Outcomes

    try:
        state = load_state(config)
    except TestmatrixError as exc:
        # pytest prefixes the first line with "ERROR: "; give every problem the same
        raise pytest.UsageError(str(exc).replace("\n", "\nERROR: ")) from None
    if state is None:
        return  # no skiplists here: nothing to do, nothing to say
    config.stash[STATE] = state
    config.pluginmanager.register(Outcomes(state), "testmatrix-outcomes")
    # only xdist's controller (DSession, where --dist is not "no": -n sets it) calls
    # pytest_testnodedown; a run that does not distribute has no plugin to scan
    distributes = config.getoption("dist", "no") != "no"
    if (
        distributes
        and config.pluginmanager.hasplugin("xdist")
        and not is_worker(config)
    ):
        config.pluginmanager.register(Controller(state), "testmatrix-xdist")
    if state.shard is not None:
        from testmatrix.plugin.sharder import SHARDER, Sharder

        config.pluginmanager.register(Sharder(state), SHARDER)
    target = state.rules.platform
    if state.rules.apply and target and any(e.fails for e in target.entries):
        from testmatrix.plugin import expect  # judges expected failures by their error

        config.pluginmanager.register(expect, "testmatrix-expect")
    # Code under test (the bundled mini-vLLM) reads these to simulate the target.
    rules = state.rules
    platform = rules.platform.name if rules.platform else "none"
    config.stash[PREVIOUS_ENV] = {k: os.environ.get(k) for k in TARGET_ENV}
    os.environ[ENV_PLATFORM] = platform
    if rules.variant is not None:
        os.environ[ENV_VARIANT] = rules.variant


def pytest_unconfigure(config: pytest.Config) -> None:
    if STATE not in config.stash:
        return
    for name, previous in config.stash[PREVIOUS_ENV].items():
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def pytest_report_header(config: pytest.Config) -> list[str]:
    state: State | None = config.stash.get(STATE, None)
    if state is None:
        return []
    from testmatrix.core import options as opt
    from testmatrix.core.rules import describe_entries, entries_holding

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
            entries = entries_holding(plat, rules.variant)
            lines.append(
                f"testmatrix: skiplist {where}/platforms/{plat.name}.toml: "
                f"{describe_entries(entries)} on {rules.name}"
            )
    if state.short_names_taken:
        taken = ", ".join(state.short_names_taken)
        lines.append(
            f"testmatrix: {taken} belong to another plugin here; testmatrix's are "
            f"{', '.join(opt.canonical(n) for n in state.short_names_taken)}"
        )
    return lines


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    state: State | None = config.stash.get(STATE, None)
    if state is None or not (state.rules.ignores or state.rules.selects):
        return None
    rel = state.relpath(collection_path)
    if rel is None:
        return None
    exclude = state.rules.excluded_path(rel)
    if exclude is not None:  # the suite's partitioning: never collected here
        state.excluded.add(rel)
        return True
    entry = state.rules.ignored_path(rel)
    if entry is None:
        return None
    from testmatrix.core.fate import entry_record

    state.ignored[rel] = entry_record(entry)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    """Decides every collected test once every other implementation of this hook
    has run (a conftest may add markers there), on the whole collected list: what
    was left out is counted as the suite's in every shard, whatever -k, -m or
    pytest-shard took before. testmatrix's own sharder then splits the decided
    list."""
    collected = list(items)  # before any hook narrows it
    result = yield
    state: State | None = config.stash.get(STATE, None)
    if state is not None:
        decide_collected(state, config, items, collected)
    return result


def decide_collected(
    state: State,
    config: pytest.Config,
    items: list[pytest.Item],
    collected: list[pytest.Item],
) -> None:
    """Applies the fates to what the other hooks kept, then shards it (each kept
    test's report gets its fate's properties when it runs: `report_fate`)."""
    from testmatrix.core.gcpause import collector_paused
    from testmatrix.plugin.decide import Decider

    if not state.rules.decides_nothing:  # else every test runs as it is (cuda)
        from operator import is_

        # compared in C, not a generator step per test
        same = len(items) == len(collected) and all(map(is_, items, collected))
        if not same:  # reordered (pytest's fixtures do), or tests added: those are
            known = set(map(id, collected))  # decided as well
            if not known.issuperset(map(id, items)):
                collected += [item for item in items if id(item) not in known]
        decider = state.decider = Decider(state)
        # what the decisions keep (a cache per file and function) is little, but
        # its allocations would start collections that walk every collected node
        with collector_paused():
            keep, deselected = decider.split(collected)
        if deselected:
            _leave_out(config, items, same, keep, deselected)
    if state.shard is None:
        return  # no sharder registered (pytest_configure)
    from testmatrix.plugin.sharder import SHARDER, Sharder

    sharder = config.pluginmanager.get_plugin(SHARDER)
    if isinstance(sharder, Sharder):
        sharder.split(config, items)


def _leave_out(
    config: pytest.Config,
    items: list[pytest.Item],
    same: bool,
    keep: list[pytest.Item],
    deselected: list[pytest.Item],
) -> None:
    """Takes what the skiplist left out from what the other hooks kept (`same`:
    they kept the collected list as it was); only those still there are reported
    deselected (-k's are pytest's own), in the other hooks' order."""
    if same:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep
        return
    from itertools import compress
    from operator import not_

    out = set(map(id, deselected))
    gone = list(map(out.__contains__, map(id, items)))  # in C: one step a test
    config.hook.pytest_deselected(items=list(compress(items, gone)))
    kept = list(compress(items, map(not_, gone)))
    items[:] = kept


def report_fate(state: State, item: pytest.Item) -> None:
    """The test's fate in its report's properties, once (reruns report again)."""
    if item.stash.get(PROPERTIES_SET, False):
        return
    item.stash[PROPERTIES_SET] = True
    from testmatrix.plugin.decide import properties_of

    item.user_properties.extend(properties_of(state, item))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state: State | None = item.config.stash.get(STATE, None)
    if state is None:
        return
    from testmatrix.core.fate import FateKind
    from testmatrix.plugin.decide import fate_of, note_models

    report_fate(state, item)
    note_models(item, state.rules)
    fate = fate_of(state, item)
    if fate is not None and fate.kind is FateKind.ERROR:
        pytest.fail(f"testmatrix: {fate.message}", pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, Any, Any]:
    # a setup hook that raised before ours ran (a conftest's skip) still gets them
    state: State | None = item.config.stash.get(STATE, None)
    if state is not None:
        report_fate(state, item)
    return (yield)


def pytest_sessionfinish(
    session: pytest.Session, exitstatus: int | pytest.ExitCode
) -> None:
    config = session.config
    state: State | None = config.stash.get(STATE, None)
    if state is None:
        return
    from testmatrix.core import options as opt
    from testmatrix.plugin.state import is_worker
    from testmatrix.plugin.summary import empty_because, summarise

    if is_worker(config):
        output: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
        output[WORKER_OUTPUT] = state.collected()
        return
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        why = empty_because(state)
        if why:  # nothing to run here is this platform's plan, not a failure
            state.empty_because = why
            session.exitstatus = exitstatus = pytest.ExitCode.OK
    path = config.getoption(opt.SUMMARY.dest, None)
    if not path:
        return
    from testmatrix.results.reports import write_summary

    write_summary(Path(path), summarise(state, config, int(exitstatus)))


def _partitioning(state: State, counts: dict[str, int]) -> list[str]:
    """What the suites' partitioning left out: outside the suite's selection, or
    (bare pytest) where no session on this target runs it."""
    lines = []
    suite = state.rules.suite
    if suite is not None and counts["not_in_suite"]:
        outside = counts["not_in_suite"] - len(state.excluded)
        lines.append(
            f"suite {suite.name}: {len(state.excluded)} paths excluded, "
            f"{outside} tests outside its selection "
            "(partitioning: they run in other suites)"
        )
    if counts["no_session"]:
        names = [s.name for s in state.rules.sessionless]
        several = len(names) > 1
        suites = f"suite{'s' if several else ''} {', '.join(names)} ha"
        suites += "ve" if several else "s"
        lines.append(
            f"{counts['no_session']} tests left out: no session on {state.rules.name} "
            f"runs them ({suites} none here); as the sessions do, --suite or "
            "--no-skiplist runs them"
        )
    return lines


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter,
    exitstatus: pytest.ExitCode,
    config: pytest.Config,
) -> None:
    state: State | None = config.stash.get(STATE, None)
    if state is None or (state.rules.platform is None and not state.rules.selects):
        return
    from testmatrix.plugin.summary import tally

    tallied = tally(state)
    counts = tallied["counts"]
    write = terminalreporter.write_line
    terminalreporter.section(f"testmatrix: {state.rules.name}", sep="-")
    for line in _partitioning(state, counts):
        write(line)
    if state.empty_because:
        write(
            f"nothing to run here, and that is the plan: {state.empty_because} "
            "(exit 0, not pytest's 5)",
            yellow=True,
        )
    if state.rules.platform is None:
        return
    if not state.rules.apply:
        write(
            "skiplist OFF (--no-skiplist): every test ran as it would without "
            "testmatrix"
        )
        return
    _write_skiplist(state, tallied, write, config.get_verbosity())


def _write_skiplist(
    state: State, tallied: dict[str, Any], write: Callable[..., None], verbosity: int
) -> None:
    """The summary's lines about what the skiplist did in this run (the paths an
    entry ignores listed unless -q)."""
    from testmatrix.core.fate import FateKind
    from testmatrix.core.model import cite
    from testmatrix.core.rules import entries_holding
    from testmatrix.plugin.summary import place_of

    counts = tallied["counts"]
    platform = state.rules.platform
    assert platform is not None  # the caller returned without one
    skipped = sum(r.get("fate") == FateKind.SKIPPED.value for r in state.tests.values())
    # entries are used by location (summary.json's `entries`): ids listed on one
    # line of a `tests = [...]` array are one there, so here too
    holding = set(map(place_of, entries_holding(platform, state.rules.variant)))
    write(
        f"{len(state.ignored)} paths ignored, "
        f"{skipped} tests skipped by model entries, "
        f"{counts['deselected']} deselected, "
        f"{counts['no_model']} marked tests with no model found; "
        f"{tallied['entries_used']} of the {len(holding)} entries used"
    )
    if counts["skipped_in_code"]:
        write(
            f"{counts['skipped_in_code']} tests skipped by platform skips in the test "
            "code (testmatrix inventory lists them; testmatrix migrate moves one "
            "into the skiplist)"
        )
    expected = counts["expected_fail"] + counts["unexpected_pass"]
    expected += counts["fails_differently"]
    if expected:
        stale, other = counts["unexpected_pass"], counts["fails_differently"]
        write(
            f"{expected} expected failures: {counts['expected_fail']} failed as "
            f"recorded, {stale} passed (stale entries: remove them), {other} failed "
            "differently",
            red=bool(stale or other),
        )
    # one line per reason, not one per file: eleven files of one entry share it
    by_reason: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for rel, entry in sorted(state.ignored.items()):
        cause = (entry["reason"], entry["issue"])
        by_reason.setdefault(cause, []).append((rel, entry["entry"]))
    listed = verbosity >= 0  # -q and -qq: each reason's count, not its paths
    for (reason, issue), paths in by_reason.items():
        where = ", ".join(sorted({loc.rsplit(":", 1)[0] for _, loc in paths}))
        lines = ", ".join(sorted({loc.rsplit(":", 1)[1] for _, loc in paths}))
        write(
            f"  ignored {len(paths)} paths: {cite(reason, issue, f'{where}:{lines}')}"
        )
        for rel, _ in paths if listed else ():
            write(f"    {rel}")
    for nodeid in sorted(state.reran):
        if state.outcomes.get(nodeid) == "passed":
            rerun = state.tests.get(nodeid, {}).get("rerun")
            why = f": {rerun}" if rerun else ""
            write(f"  FLAKY (passed on rerun) {nodeid}{why}", yellow=True)
    if counts["no_model"]:
        write(
            f"  {counts['no_model']} tests are marked but their model was not found: "
            "they ran; name it on the marker (testmatrix explain shows each)",
            yellow=True,
        )
