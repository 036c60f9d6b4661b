"""The pytest plugin: applies a platform's skiplist to a plain pytest run.

Installed, it loads wherever pytest runs (the `pytest11` entry point
`testmatrix.plugin`); without an installed package, load it from the root conftest.py
with `pytest_plugins = ["testmatrix.plugin"]`. In a project without skiplists/ it
does nothing and says nothing. Hooks only gather facts and act on `Rules.fate`, so a
bare pytest run, a nox session and `testmatrix explain` decide every test the same
way.

Each test's fate travels in its report (`user_properties`, which JUnit writes as
`<properties>`), and what the plugin left out of the run travels in xdist's worker
output, so the process that writes the summary counts the same with or without
pytest-xdist.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

from . import config as _config
from . import expect, shard
from . import options as opt
from .detect import Detection, detect
from .errors import TestmatrixError
from .items import CaseReader, named_strings, relpath
from .model import Workspace, cite
from .plan import (
    ENV_PLATFORM,
    Fate,
    FateKind,
    IdsBelow,
    Rules,
    TestCase,
    describe_entries,
    entries_holding,
    entry_record,
    hardware_mismatch,
    suite_named,
    target_platform,
    target_variant,
)

FATE = pytest.StashKey[Fate]()
STATE = pytest.StashKey["State"]()
MODELS_SET = pytest.StashKey[bool]()
ENV_STRICT = "TESTMATRIX_STRICT_PLATFORM"
ENV_VARIANT = "TESTMATRIX_VARIANT"
PROPERTY = "testmatrix_"  # the prefix of the properties a test's report carries
WORKER_OUTPUT = "testmatrix"  # xdist: what a worker hands the controller
Record = dict[str, str]  # a fate or an entry as plain strings (plan's records)


class State:
    """What the plugin decided for this run, and what it saw happen."""

    def __init__(
        self, workspace: Workspace, rules: Rules, detection: Detection, strict: bool
    ):
        self.workspace = workspace
        self.rules = rules
        self.detection = detection
        self.strict = strict
        self.shard: tuple[int, int] | None = None
        self.durations: dict[str, float] | None = None
        # decided where tests are collected (this process, or each xdist worker):
        # paths never collected, and tests left out of the run, as records
        self.ignored: dict[str, Record] = {}  # path: its ignore entry
        self.excluded: set[str] = set()  # paths the suite leaves to other suites
        # the fate of each test left out, in the order pytest_deselected got them:
        # only counted, so no node id is built for them (pytest builds it on demand)
        self.left_out: list[Record] = []
        self.worker_collected = False  # a worker's decisions were taken
        # seen in the reports, in whichever process writes the summary
        self.tests: dict[str, Record] = {}  # nodeid: its fate, and models
        self.outcomes: dict[str, str] = {}
        self.durations_seen: dict[str, float] = {}
        self.reran: set[str] = set()
        # skipped by a platform skip in the test code (testmatrix inventory)
        self.in_code: set[str] = set()
        self.sorter: Any = None  # inventory.fates.SkipSorter, made on first use
        self.short_names_taken: tuple[str, ...] = ()  # our aliases other plugins own
        self.other_shards = 0  # tests this shard leaves to the other shards
        self.empty_because = ""  # set when the skiplist left nothing to run

    @property
    def simulated(self) -> bool:
        plat = self.rules.platform
        return plat is not None and plat.hardware != self.detection.hardware

    def collected(self) -> dict[str, Any]:
        """What collection decided beyond the run's reports (xdist worker output)."""
        return {
            "ignored": self.ignored,
            "excluded": sorted(self.excluded),
            "left_out": self.left_out,
        }

    def add_collected(self, data: dict[str, Any]) -> None:
        """A worker's collection decisions. xdist refuses to run unless every worker
        collected the same tests, so the first worker's are the run's: the others'
        are the same again."""
        if self.worker_collected:
            return
        self.worker_collected = True
        self.ignored.update(data.get("ignored", {}))
        self.excluded.update(data.get("excluded", ()))
        self.left_out.extend(data.get("left_out", ()))


# Option specs: the prefixed long form is always registered; the short one only
# where no other plugin owns it (see options.py).
_OPTIONS: tuple[tuple[opt.Option, dict[str, Any]], ...] = (
    (
        opt.PLATFORM,
        {
            "metavar": "NAME",
            "help": "target platform whose skiplist applies (skiplists/platforms/"
            f"NAME.toml, or 'none'); default: ${ENV_PLATFORM}, else the detected "
            "hardware's",
        },
    ),
    (
        opt.VARIANT,
        {
            "metavar": "NAME",
            "help": "hardware variant of the platform whose entries apply too "
            f"(rocm: mi300); default: ${ENV_VARIANT}, else the detected one, else "
            "platform-wide only",
        },
    ),
    (
        opt.STRICT,
        {
            "action": "store_true",
            "default": None,
            "help": "refuse to run unless the detected hardware is the target's "
            "(CI steps)",
        },
    ),
    (
        opt.SUITE,
        {
            "metavar": "NAME",
            "help": "apply this suite's selection and only its file-level ignores "
            "(nox sessions pass it; default: every suite's ignores)",
        },
    ),
    (
        opt.NO_SKIPLIST,
        {
            "action": "store_true",
            "default": False,
            "help": "apply no skiplist entry: ignore, skip and deselect nothing "
            "(reproduces the failures)",
        },
    ),
    (
        opt.SKIPLISTS,
        {
            "metavar": "DIR",
            "help": "directory holding suites.toml and platforms/ (default: ini "
            "'skiplists', else <rootdir>/skiplists)",
        },
    ),
    (
        opt.SHARD_ID,
        {
            "type": int,
            "default": None,
            "metavar": "K",
            "help": "run only shard K (0-based)",
        },
    ),
    (
        opt.NUM_SHARDS,
        {
            "type": int,
            "default": None,
            "metavar": "N",
            "help": "split the tests "
            "into N shards (every selected test in exactly one)",
        },
    ),
    (
        opt.DURATIONS,
        {
            "metavar": "FILE",
            "help": "JSON {test id: seconds} to balance shards by time (default: by "
            "count)",
        },
    ),
    (
        opt.SUMMARY,
        {
            "metavar": "PATH",
            "help": "write a JSON summary: counts by fate, entries used, flaky "
            "tests, models, durations",
        },
    ),
)


class ShortNames:
    """Registers the short aliases (--platform) of the prefixed options once every
    other plugin has registered its own options, each only where it is free: a
    name another plugin owns (pytest-shard's --shard-id) stays that plugin's."""

    def __init__(self, group: pytest.OptionGroup):
        self.group = group
        self.taken: list[str] = []
        self.added = False

    def add(self) -> None:
        if self.added:
            return
        self.added = True
        for option, spec in _OPTIONS:
            attrs = {**spec, "help": argparse.SUPPRESS}
            try:
                self.group.addoption(option.short, dest=option.dest, **attrs)
            except (argparse.ArgumentError, ValueError):
                self.taken.append(option.short)  # another plugin's: keep theirs

    @pytest.hookimpl(wrapper=True)
    def pytest_load_initial_conftests(self) -> Generator[None, object, object]:
        # installed plugins and the initial conftests have registered their options
        # by now, and the command line is parsed in full right after
        result = yield
        self.add()
        return result


SHORT_NAMES = "testmatrix-short-names"


def pytest_addoption(
    parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager
) -> None:
    group = parser.getgroup(
        "testmatrix",
        "platform skiplists (testmatrix; each option also has its short name, "
        "--platform, where no other plugin owns it)",
    )
    for option, spec in _OPTIONS:
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
    if getattr(pluginmanager, "_confcutdir", None) is not None:
        names.add()
    pluginmanager.register(names, SHORT_NAMES)


def _registered_markers(config: pytest.Config) -> set[str]:
    return {
        line.split(":", 1)[0].split("(", 1)[0].strip()
        for line in config.getini("markers")
    }


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def _explicit(config: pytest.Config) -> str | None:
    """The first testmatrix option given on this command line, if any."""
    for option, spec in _OPTIONS:
        if config.getoption(option.dest) not in (None, spec.get("default")):
            return option.long
    return None


def _workspace(config: pytest.Config) -> Workspace | None:
    """The workspace whose skiplists apply; None in a project without skiplists/,
    where the plugin does nothing (unless a testmatrix option asks for them)."""
    handed = config.hook.pytest_testmatrix_workspace(config=config)
    if handed is not None:
        return handed
    option = config.getoption(opt.SKIPLISTS.dest) or config.getini("skiplists")
    if not option:
        root = _config.find_root(config.rootpath)
        if root is None:
            asked = _explicit(config)
            if asked is None:
                return None
            raise TestmatrixError(
                f"{asked} needs skiplists, but there is no "
                f"{_config.SKIPLIST_DIR}/suites.toml in {config.rootpath} or above "
                f"it; pass {opt.SKIPLISTS.long}=DIR"
            )
        return _config.load_workspace(root)
    directory = Path(option)
    if not directory.is_absolute():
        given = config.getoption(opt.SKIPLISTS.dest)
        directory = (Path.cwd() if given else config.rootpath) / directory
    return _config.load_workspace(skiplist_dir=directory)


def _load(config: pytest.Config) -> State | None:
    workspace = _workspace(config)
    if workspace is None:
        return None
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
    requested = config.getoption(opt.PLATFORM.dest) or os.environ.get(ENV_PLATFORM)
    platform = target_platform(workspace, requested, detection.hardware)
    variant = target_variant(
        platform,
        config.getoption(opt.VARIANT.dest) or os.environ.get(ENV_VARIANT),
        detection.hardware,
        detection.models,
    )
    strict = bool(
        config.getoption(opt.STRICT.dest)
        or config.getini("strict_platform")
        or os.environ.get(ENV_STRICT) == "1"
    )
    refusal = hardware_mismatch(
        platform, variant, detection.hardware, detection.models, detection.describe()
    )
    if strict and refusal:
        raise TestmatrixError(refusal)
    suite = config.getoption(opt.SUITE.dest)
    if suite is not None:
        suite_named(workspace, suite)
    apply = not config.getoption(opt.NO_SKIPLIST.dest)
    rules = Rules(
        workspace,
        platform,
        variant=variant.name if variant else None,
        apply=apply,
        suite=suite,
    )
    state = State(workspace, rules, detection, strict)
    num = config.getoption(opt.NUM_SHARDS.dest)
    shard_id = config.getoption(opt.SHARD_ID.dest)
    if num is not None or shard_id is not None:
        if num is None or shard_id is None:
            raise TestmatrixError(
                f"{opt.NUM_SHARDS.long} and {opt.SHARD_ID.long} go together: give "
                "both (shard K of N, 0-based)"
            )
        shard.check(shard_id, num)
        state.shard = (shard_id, num)
    for option, what in ((opt.SUMMARY.dest, "summary"), ("xmlpath", "JUnit report")):
        written = config.getoption(option, None)
        if written:  # found now, not after the tests ran
            from .reports import check_writable

            check_writable(Path(written), what)
    durations = config.getoption(opt.DURATIONS.dest)
    if durations:
        state.durations = shard.load_durations(Path(durations))
    names = config.pluginmanager.get_plugin(SHORT_NAMES)
    if isinstance(names, ShortNames):
        state.short_names_taken = tuple(names.taken)
    return state


def _is_worker(config: pytest.Config) -> bool:
    """An xdist worker: it collects and runs; its controller writes the summary."""
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help", False) or config.getoption("version", False):
        return
    try:
        state = _load(config)
    except TestmatrixError as exc:
        # pytest prefixes the first line with "ERROR: "; give every problem the same
        raise pytest.UsageError(str(exc).replace("\n", "\nERROR: ")) from None
    if state is None:
        return  # no skiplists here: nothing to do, nothing to say
    config.stash[STATE] = state
    config.pluginmanager.register(Outcomes(state), "testmatrix-outcomes")
    if config.pluginmanager.hasplugin("xdist") and not _is_worker(config):
        config.pluginmanager.register(Controller(state), "testmatrix-xdist")
    if state.shard is not None:
        config.pluginmanager.register(Sharder(state), "testmatrix-shard")
    target = state.rules.platform
    if state.rules.apply and target and any(e.fails for e in target.entries):
        # judges expected failures by their error
        config.pluginmanager.register(expect, "testmatrix-expect")
    # Code under test (the bundled mini-vLLM) reads these to simulate the target.
    rules = state.rules
    platform = rules.platform.name if rules.platform else "none"
    config.stash[_PREVIOUS_ENV] = {k: os.environ.get(k) for k in _TARGET_ENV}
    os.environ[ENV_PLATFORM] = platform
    if rules.variant is not None:
        os.environ[ENV_VARIANT] = rules.variant


_TARGET_ENV = (ENV_PLATFORM, ENV_VARIANT)
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
    state = config.stash.get(STATE, None)
    if state is None or not (state.rules.ignores or state.rules.selects):
        return None
    rel = relpath(collection_path, state.workspace.root)
    if rel is None:
        return None
    exclude = state.rules.excluded_path(rel)
    if exclude is not None:  # the suite's partitioning: never collected here
        state.excluded.add(rel)
        return True
    entry = state.rules.ignored_path(rel)
    if entry is None:
        return None
    state.ignored[rel] = entry_record(entry)
    return True


def _properties(record: Record) -> list[tuple[str, str]]:
    return [(PROPERTY + name, value) for name, value in record.items() if value]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Decides every collected test before any other plugin narrows the list (a
    sharder, -k): the counts of what was left out are the suite's, in every shard."""
    state = config.stash.get(STATE, None)
    if state is None:
        return
    rules = state.rules
    if rules.decides_nothing:
        # every test runs as it is (cuda here): only its target, in its report
        target = _properties(rules.runs.record())
        for item in items:
            item.user_properties.extend(target)
        return
    keep, deselected = [], []
    suite = rules.suite
    reader = CaseReader(
        state.workspace.root,
        frozenset(rules.skips),  # only these markers can change a fate here
        selection=bool(suite and suite.markexpr),
        keywords=bool(suite and suite.keyword),
    )
    # what a fate does to its tests, worked out once per fate: many tests share one
    acts: dict[int, _Act] = {}
    left_out = state.left_out
    relevant = reader.relevant or frozenset()
    # by parent node, for its items that carry no deciding marker of their own: what
    # the fate they share does (Rules.file_fate), or, where the function or the node
    # id decides, the acts of its functions (Rules.group_fate, Rules.unmarked), or
    # None where each needs its whole reading
    shared: dict[int, _Act | _Functions | None] = {}

    def act_of(fate: Fate) -> _Act:
        act = acts.get(id(fate))
        if act is None:  # the act holds the fate: its id is not reused meanwhile
            act = acts[id(fate)] = _Act(fate)
        return act

    def by_parent(item: pytest.Item) -> _Act | _Functions | None:
        path, uses, _ = reader.shared(item)
        if uses:
            return None
        case = TestCase(item.nodeid, path)
        fate = rules.file_fate(case)
        if fate is not None:
            return act_of(fate)
        if rules.unmarked(case) is None:
            return None
        up = item.parent
        return _Functions(path, up.nodeid if up is not None else None)

    def by_function(functions: _Functions, name: str | None) -> _Act | IdsBelow | None:
        act: _Act | IdsBelow | None = None
        if name is not None and functions.parent is not None:
            # the function's ids all start parent::name (then [params], if any)
            prefix = f"{functions.parent}::{name}"
            fate = rules.group_fate(TestCase(prefix, functions.path))
            act = act_of(fate) if isinstance(fate, Fate) else fate
        functions[name] = act
        return act

    for item in items:
        for mark in item.own_markers:
            if mark.name in relevant:
                act = None
                break
        else:
            parent = id(item.parent)  # items hold their parent: the id is its own
            try:
                how = shared[parent]
            except KeyError:
                how = shared[parent] = by_parent(item)
            if isinstance(how, _Functions):  # by function, else by node id
                name = getattr(item, "originalname", None)
                act = how.get(name, _UNSEEN)
                if act is _UNSEEN:
                    act = by_function(how, name)
                if act.__class__ is not _Act:  # each test's id decides
                    if (
                        isinstance(act, IdsBelow)
                        and name is not None
                        and item.name.startswith(name)  # pytest's name[params]
                    ):
                        act = act_of(act.fate(item.name[len(name) :]))
                    else:
                        fate = rules.unmarked(TestCase(item.nodeid, how.path))
                        assert fate is not None  # the file said its ids decide
                        act = act_of(fate)
            else:
                act = how
        if act is None:
            act = act_of(rules.fate(reader.read(item)))
        if act.left_out:
            left_out.append(act.record)
            deselected.append(item)
            continue
        item.user_properties.extend(act.properties)
        for decorator in act.marks:
            item.add_marker(decorator)
        if act.stash:
            item.stash[FATE] = act.fate
        keep.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


_UNSEEN: Any = object()  # a key not looked at yet


class _Functions(dict[str | None, "_Act | IdsBelow | None"]):
    """A parent node whose tests' node ids decide: the act each function's tests
    share, or what decides each from its [params] (`IdsBelow`), or None where each
    whole id decides; with the file and the parent's node id."""

    __slots__ = ("parent", "path")

    def __init__(self, path: str, parent: str | None):
        super().__init__()
        self.path = path
        self.parent = parent


class _Act:
    """What a fate does to a test: leaves it out, or keeps it with its report's
    properties and the marks that carry the fate out (pytest-rerunfailures' flaky,
    pytest's skip)."""

    __slots__ = ("fate", "left_out", "marks", "properties", "record", "stash")

    def __init__(self, fate: Fate):
        self.fate = fate
        self.left_out = fate.kind in _LEFT_OUT
        self.record = fate.record()
        self.properties = _properties(self.record)
        self.stash = fate.kind is not FateKind.RUN  # setup and reports read it
        self.marks: list[pytest.MarkDecorator] = []
        if fate.rerun is not None:
            rerun = fate.rerun
            flaky = pytest.mark.flaky(reruns=rerun.reruns, reruns_delay=rerun.delay)
            self.marks.append(flaky)
        if fate.kind is FateKind.SKIPPED:
            self.marks.append(pytest.mark.skip(reason=fate.message))


def _models(item: pytest.Item, rules: Rules) -> list[str]:
    """The models a test's parameters name (its fixtures' too)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return []
    found: dict[str, None] = {}
    for name, value in callspec.params.items():
        for field, text in named_strings(name, value):
            if rules.model_rule(field, text) is not None:
                found[text] = None
    return list(found)


def _note_models(item: pytest.Item, rules: Rules) -> None:
    """The test's models in its report, once (reruns set up the item again), for
    the per-model coverage of the matrix."""
    if item.stash.get(MODELS_SET, False):
        return
    item.stash[MODELS_SET] = True
    models = _models(item, rules)
    if models:
        item.user_properties.append((PROPERTY + "models", ",".join(models)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash.get(STATE, None)
    if state is None:
        return
    _note_models(item, state.rules)
    fate = item.stash.get(FATE, None)
    if fate is not None and fate.kind is FateKind.ERROR:
        pytest.fail(f"testmatrix: {fate.message}", pytrace=False)


def _record_of(report: pytest.TestReport) -> Record:
    """The fate a test's report carries (set where it was collected)."""
    return {
        str(name)[len(PROPERTY) :]: str(value)
        for name, value in report.user_properties
        if str(name).startswith(PROPERTY)
    }


class Outcomes:
    """Records each test's final outcome, fate, reruns and duration for the summary,
    from its reports: the same in a plain run and in xdist's controller."""

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
            state.tests[report.nodeid] = _record_of(report)
            if report.skipped and _skipped_in_code(state, report):
                state.in_code.add(report.nodeid)


def _skipped_in_code(state: State, report: pytest.TestReport) -> bool:
    """A skip not decided by an entry, that an inventoried in-code skip explains."""
    if state.tests[report.nodeid].get("fate") == FateKind.SKIPPED.value:
        return False
    from .inventory.fates import skipped_in_code

    return skipped_in_code(state, report.nodeid, report.longrepr)


class Controller:
    """xdist's controller: collection happens in the workers, which hand over what
    they left out when they finish."""

    def __init__(self, state: State):
        self.state = state

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        data = output.get(WORKER_OUTPUT)
        if isinstance(data, dict):
            self.state.add_collected(data)


def pytest_sessionfinish(
    session: pytest.Session, exitstatus: int | pytest.ExitCode
) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        return
    if _is_worker(config):
        output: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
        output[WORKER_OUTPUT] = state.collected()
        return
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        why = _empty_because(state)
        if why:  # nothing to run here is this platform's plan, not a failure
            state.empty_because = why
            session.exitstatus = exitstatus = pytest.ExitCode.OK
    path = config.getoption(opt.SUMMARY.dest, None)
    if not path:
        return
    from .reports import write_summary

    write_summary(Path(path), summarise(state, config, int(exitstatus)))


def _empty_because(state: State) -> str:
    """Why no test is left to run, where testmatrix left them out ('' if it did
    not: an empty selection of the user's own making stays pytest's exit 5)."""
    parts = []
    if state.ignored:
        parts.append(f"{len(state.ignored)} paths ignored on {state.rules.name}")
    entries = sum(1 for r in state.left_out if r.get("entry"))
    if entries:
        parts.append(f"{entries} tests left out by {state.rules.name}'s entries")
    suite = len(state.left_out) - entries + len(state.excluded)
    if suite:
        parts.append(f"{suite} tests or paths in other suites")
    if state.other_shards:
        parts.append(f"{state.other_shards} tests in other shards")
    return ", ".join(parts)


def _entries(records: Iterable[Record]) -> dict[str, dict[str, Any]]:
    """Each entry used, by location: kind, reason, issue and how many tests."""
    used: dict[str, dict[str, Any]] = {}
    for record in records:
        where = record.get("entry")
        if not where:
            continue
        row = used.setdefault(
            where,
            {
                "kind": record.get("entry_kind"),
                "reason": record.get("reason"),
                "issue": record.get("issue") or None,
                "tests": 0,
            },
        )
        row["tests"] += "fate" in record  # an ignored path is no test
    return used


_EXPECTATIONS = {
    expect.AS_EXPECTED: "expected_fail",
    expect.STALE: "unexpected_pass",
    expect.DIFFERENT: "fails_differently",
}


def tally(state: State) -> dict[str, Any]:
    """The run's counts, entries used and per-model outcomes."""
    counts = {
        "passed": 0,
        "failed": 0,
        "skipped_by_entry": 0,
        "skipped_in_code": 0,
        "skipped_other": 0,
        "flaky": 0,
        "errors": 0,
        # an entry's expected failures, apart: as recorded, passing now (the entry
        # is stale), or failing with another error
        "expected_fail": 0,
        "unexpected_pass": 0,
        "fails_differently": 0,
    }
    models: dict[str, dict[str, int]] = {}
    for nodeid, outcome in state.outcomes.items():
        record = state.tests.get(nodeid, {})
        fate = record.get("fate")
        expectation = record.get("expectation")
        if expectation in _EXPECTATIONS:
            kind = _EXPECTATIONS[expectation]
        elif outcome == "passed":
            kind = "passed"
            counts["flaky"] += nodeid in state.reran
        elif outcome == "failed":
            kind = "failed"
        elif fate == FateKind.SKIPPED.value:
            kind = "skipped_by_entry"
        elif nodeid in state.in_code:
            kind = "skipped_in_code"
        else:
            kind = "skipped_other"
        counts[kind] += 1
        counts["errors"] += fate == FateKind.ERROR.value
        named = record.get("models") or record.get("model")
        for model in named.split(",") if named else ():
            row = models.setdefault(model, {})
            row[kind] = row.get(kind, 0) + 1
    left = [r.get("fate") for r in state.left_out]
    counts["deselected"] = sum(
        f in (FateKind.DESELECTED.value, FateKind.IGNORED.value) for f in left
    )
    counts["ignored_paths"] = len(state.ignored)
    # the suite's partitioning, apart from what the platform's entries keep out
    counts["not_in_suite"] = len(state.excluded) + left.count(
        FateKind.NOT_IN_SUITE.value
    )
    records = [*state.tests.values(), *state.left_out, *state.ignored.values()]
    return {
        "counts": counts,
        "entries": _entries(records),
        "models": dict(sorted(models.items())),
    }


def summarise(state: State, config: pytest.Config, exitstatus: int) -> dict:
    tallied = tally(state)
    shard_of = None
    if state.shard is not None:
        shard_of = {"id": state.shard[0], "count": state.shard[1]}
    return {
        "platform": state.rules.platform.name if state.rules.platform else "none",
        "variant": state.rules.variant,
        "target": state.rules.name,
        "suite": config.getoption(opt.SUITE.dest),
        "simulated": state.simulated,
        "hardware": state.detection.hardware,
        "exitstatus": exitstatus,
        "shard": shard_of,
        **tallied,
        "flaky": sorted(n for n in state.reran if state.outcomes.get(n) == "passed"),
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
        self.state.other_shards = len(other)
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = keep

    def pytest_report_header(self, config: pytest.Config) -> str:
        shard_id, num = self.shard
        how = "recorded durations" if self.state.durations else "test count"
        return f"testmatrix: shard {shard_id} of {num} (0-based), balanced by {how}"


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter,
    exitstatus: pytest.ExitCode,
    config: pytest.Config,
) -> None:
    state = config.stash.get(STATE, None)
    if state is None or (state.rules.platform is None and not state.rules.selects):
        return
    tallied = tally(state)
    counts = tallied["counts"]
    write = terminalreporter.write_line
    terminalreporter.section(f"testmatrix: {state.rules.name}", sep="-")
    suite = state.rules.suite
    if suite is not None and counts["not_in_suite"]:
        outside = counts["not_in_suite"] - len(state.excluded)
        write(
            f"suite {suite.name}: {len(state.excluded)} paths excluded, "
            f"{outside} tests outside its selection "
            "(partitioning: they run in other suites)"
        )
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
    skipped = sum(r.get("fate") == FateKind.SKIPPED.value for r in state.tests.values())
    write(
        f"{len(state.ignored)} paths ignored, "
        f"{skipped} tests skipped by model entries, "
        f"{counts['deselected']} deselected, "
        f"{counts['errors']} marked tests with no model; "
        f"{len(tallied['entries'])} of the "
        f"{len(entries_holding(state.rules.platform, state.rules.variant))} "
        "entries used"
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
    for (reason, issue), paths in by_reason.items():
        where = ", ".join(sorted({loc.rsplit(":", 1)[0] for _, loc in paths}))
        lines = ", ".join(sorted({loc.rsplit(":", 1)[1] for _, loc in paths}))
        write(
            f"  ignored {len(paths)} paths: {cite(reason, issue, f'{where}:{lines}')}"
        )
        for rel, _ in paths:
            write(f"    {rel}")
    for nodeid in sorted(state.reran):
        if state.outcomes.get(nodeid) == "passed":
            rerun = state.tests.get(nodeid, {}).get("rerun")
            why = f": {rerun}" if rerun else ""
            write(f"  FLAKY (passed on rerun) {nodeid}{why}", yellow=True)
    if counts["errors"]:
        write(
            f"  {counts['errors']} tests are marked but name no model: "
            "see the errors above",
            red=True,
        )
