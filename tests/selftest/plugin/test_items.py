"""The per-test fast paths decide exactly what the plain definitions decide, on a
small vLLM-shaped suite (pytest.param marks, model-info records, module-scoped
fixture params, pytestmark, class marks, variants):

- CaseReader (parents' facts cached, per-item work inlined) reads each item as the
  reference reading through pytest's iter_markers does;
- Rules.file_fate (a file's shared fate), Rules.group_fate (a function's, or
  each of its tests' from its [params]) and Rules.unmarked (from the node id) are
  the fate Rules.fate gives each test they cover;
- the plugin's collection hook, with its per-parent and per-fate shortcuts, gives
  every test the fate Rules.fate gives its reference reading, on every target.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from selftest.helpers import REPO
from testmatrix.config.loader import load_workspace
from testmatrix.core import options as opt
from testmatrix.core.fate import MarkerUse, TestCase
from testmatrix.core.model import Workspace
from testmatrix.core.rules import IdsBelow, Rules
from testmatrix.plugin.constants import ConstantReader
from testmatrix.plugin.decide import LeftOutBy
from testmatrix.plugin.items import (
    _PYTEST_MARKS,
    CaseReader,
    keywords_of,
    named_strings,
    strings,
)
from testmatrix.plugin.items import relpath as item_relpath

sys.path.insert(0, str(REPO / "benchmarks"))
from synth import Scale, build

PROPERTY = "testmatrix_"
# one worker builds and collects the synthetic suite once for all of them (-n 2)
pytestmark = pytest.mark.xdist_group("synth")


def reference_case(
    item: pytest.Item, root: Path, relevant: frozenset[str] | None
) -> TestCase:
    """The reading by definition: pytest's iter_markers (closest first), every
    parameter's strings, no caches."""
    path = item_relpath(item.path, root) or item.nodeid.split("::", 1)[0]
    marks = frozenset(m.name for m in item.iter_markers())
    names = keywords_of(item)
    uses = []
    for mark in item.iter_markers():
        wanted = (
            mark.name not in _PYTEST_MARKS
            if relevant is None
            else mark.name in relevant
        )
        if not wanted:
            continue
        named = [m for arg in mark.args for m in strings(arg)]
        for key in ("model", "models"):
            named += strings(mark.kwargs.get(key))
        uses.append(MarkerUse(mark.name, tuple(named)))
    if not uses and relevant is not None:
        return TestCase(item.nodeid, path, (), (), (), marks, names)
    pairs = []
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for name, value in callspec.params.items():
            pairs += named_strings(name, value)
    # the module constants it names, read afresh (no reader's per-function cache)
    # (where a marker does not name the model itself: a reader without a model
    # rule reads them for every other marked test)
    shown = ()
    if not all(use.models for use in uses):
        shown = ConstantReader(lambda f: item_relpath(Path(f), root)).read(item)
    return TestCase(
        item.nodeid,
        path,
        tuple(uses),
        tuple(v for _, v in pairs),
        tuple(n for n, _ in pairs),
        marks,
        names,
        None,
        shown,
    )


class _Capture:
    """Keeps the items pytest collected, and what the plugin left out of them."""

    def __init__(self) -> None:
        self.items: list[pytest.Item] = []
        self.deselected: list[pytest.Item] = []
        self.left_out: list[dict[str, str]] = []
        # each kept test's report properties, as its reports will carry them
        self.properties: dict[str, list[tuple[str, str]]] = {}
        self.collected: list[pytest.Item] = []  # before any collection hook

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        self.collected = list(items)
        yield

    @property
    def left_out_items(self) -> list[pytest.Item]:
        """The deselected tests in the order their records are: as collected
        (pytest's fixtures reorder tests by scope before they are reported)."""
        out = {id(i) for i in self.deselected}
        return [i for i in self.collected if id(i) in out]

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += items

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from testmatrix.plugin.decide import properties_of
        from testmatrix.plugin.state import STATE, record_of

        self.items = list(session.items)  # as every collection hook left them
        state = session.config.stash.get(STATE, None)
        if state is not None:
            self.left_out = [record_of(r) for r in state.left_out]
            self.properties = {i.nodeid: properties_of(state, i) for i in self.items}


_OURS = ("conftest", "tests")  # this run's modules a tree's files would be named


def collect(root: Path, *flags: str, plugins: tuple[object, ...] = ()) -> _Capture:
    capture = _Capture()
    out = io.StringIO()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(out),
    ):
        # importlib mode names the tree's tests/conftest.py `tests.conftest`, as
        # this run's own: without this run's, the tree's pytest_generate_tests counts
        for name in [n for n in sys.modules if n.split(".", 1)[0] in _OURS]:
            mp.delitem(sys.modules, name)
        before = set(sys.modules)
        try:
            code = pytest.main(
                [str(root / "tests"), "--collect-only", "-qq", "--rootdir", str(root)]
                + ["-p", "no:cacheprovider", *flags],
                plugins=[capture, *plugins],
            )
        finally:  # the tree's modules (tests.unit.test_m) would be another tree's
            for name in set(sys.modules) - before:
                if str(getattr(sys.modules[name], "__file__", "")).startswith(
                    str(root)
                ):
                    del sys.modules[name]
    assert code == 0, out.getvalue()[-3000:]
    return capture


def on_target(
    root: Path, target: str, plugins: tuple[object, ...] = ()
) -> tuple[_Capture, Rules, frozenset[str]]:
    """A collection of the tree on a target ("rocm:mi355"), with the target's
    Rules and the markers its skips name (what reference_case reads)."""
    platform, _, variant = target.partition(":")
    flags = [opt.PLATFORM.flag(platform)]
    if variant:
        flags.append(opt.VARIANT.flag(variant))
    ran = collect(root, *flags, plugins=plugins)
    workspace = load_workspace(root)
    rules = Rules(workspace, workspace.platforms[platform], variant=variant or None)
    return ran, rules, frozenset(rules.skips)


def assert_reference_fates(
    ran: _Capture, rules: Rules, root: Path, relevant: frozenset[str]
) -> dict[str, int]:
    """Each kept test's report properties and each left-out test's record are
    what Rules.fate gives its reference reading; the kept tests' fates counted."""
    kinds: dict[str, int] = {}
    for item in ran.items:
        record = {
            k[len(PROPERTY) :]: v
            for k, v in ran.properties[item.nodeid]
            if k.startswith(PROPERTY)
        }
        expected = rules.fate(reference_case(item, root, relevant)).record()
        assert record == {k: v for k, v in expected.items() if v}, item.nodeid
        kinds[record["fate"]] = kinds.get(record["fate"], 0) + 1
    assert len(ran.left_out) == len(ran.deselected)
    for item, record in zip(ran.left_out_items, ran.left_out, strict=True):
        expected = rules.fate(reference_case(item, root, relevant)).record()
        assert record == expected, item.nodeid
        assert expected["fate"] == "deselected" and expected["entry"]
    return kinds


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace]:
    root = tmp_path_factory.mktemp("synth")
    build(root, Scale(items=350, entries=40, models=30, suites=4))
    return root, load_workspace(root)


@pytest.fixture(scope="module")
def every_item(synth: tuple[Path, Workspace]) -> list[pytest.Item]:
    root, _ = synth
    return collect(root, opt.PLATFORM.flag("none")).items


def test_the_suite_has_the_shapes_the_fast_paths_must_handle(every_item):
    callspecs = [getattr(i, "callspec", None) for i in every_item]
    values = [v for c in callspecs if c for v in c.params.values()]
    assert len(every_item) > 250
    assert any(hasattr(v, "__dataclass_fields__") for v in values)  # records
    assert any(m.name == "encoder_decoder" for i in every_item for m in i.own_markers)
    assert any(
        m.name == "encoder_decoder" for i in every_item for m in i.parent.own_markers
    )  # a module's pytestmark or a class's mark


@pytest.mark.parametrize("relevant", [None, frozenset({"encoder_decoder"})])
def test_case_reader_reads_what_iter_markers_reads(synth, every_item, relevant):
    root, _ = synth
    reader = CaseReader(root, relevant)
    for item in every_item:
        assert reader.read(item) == reference_case(item, root, relevant), item.nodeid


def test_the_shortcuts_for_unmarked_tests_give_rules_fate(synth, every_item):
    root, workspace = synth
    checked = below = 0
    read: dict[tuple[str, frozenset[str]], TestCase] = {}  # targets share readings
    for target in workspace.targets():
        for suite in (None, *workspace.suites):
            rules = Rules(
                workspace, target.platform, variant=target.variant_name, suite=suite
            )
            relevant = frozenset(rules.skips)
            for item in every_item:
                key = (item.nodeid, relevant)
                if key not in read:
                    read[key] = reference_case(item, root, relevant)
                case = read[key]
                if case.markers:
                    continue
                fate = rules.fate(case)
                where = (target.name, suite, item.nodeid)
                chooses = suite and (
                    workspace.suites[suite].markexpr or workspace.suites[suite].keyword
                )
                assert rules.unmarked(case) == (None if chooses else fate), where
                shared = rules.file_fate(case)
                assert shared in (fate, None), where
                prefix = f"{item.parent.nodeid}::{item.originalname}"
                grouped = rules.group_fate(TestCase(prefix, case.path))
                if isinstance(grouped, IdsBelow):  # from the id's [params]
                    assert item.nodeid.startswith(prefix), where
                    assert grouped.fate(item.nodeid[len(prefix) :]) == fate, where
                    below += 1
                else:
                    assert grouped in (fate, None), where
                if shared is not None:
                    assert grouped == shared, where
                checked += shared is not None
    assert checked > 500
    assert below > 50  # functions some of whose tests deselects name


# a collection of the synthetic suite per target (tiers.txt: the full tier)
@pytest.mark.parametrize("target", ["rocm:mi355", "rocm", "rocm:mi300", "cuda"])
def test_the_plugin_decides_each_test_as_rules_fate_does(synth, target):
    root, _ = synth
    ran, rules, relevant = on_target(root, target)
    assert ran.items and len({i.nodeid for i in ran.items}) == len(ran.items)
    kinds = assert_reference_fates(ran, rules, root, relevant)
    if target.startswith("rocm"):  # the suite exercises every kind a collection keeps
        assert {"runs", "skipped", "expected-fail"} <= set(kinds)
        assert ran.deselected  # deselected tests, with their entries


class _Collected:
    """Each collected test's act as the collection decides it (`Decider.split`'s
    shortcuts) and as its full decision gives it (what it gets when it runs)."""

    def __init__(self) -> None:
        self.pairs: list[tuple[pytest.Item, Any, Any]] = []
        self.items: list[pytest.Item] = []
        self.decider: Any = None  # the collecting one

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        self.items = list(items)  # before any decision
        yield

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from testmatrix.plugin.decide import Decider
        from testmatrix.plugin.state import STATE

        state = session.config.stash[STATE]
        collecting, full = Decider(state), Decider(state)
        collecting.collecting = True
        self.decider = collecting
        for item in self.items:
            self.pairs.append((item, collecting.act(item), full.act(item)))


@pytest.mark.parametrize(
    "target", ["rocm:mi355", pytest.param("rocm", marks=pytest.mark.slow)]
)
def test_the_collection_shortcuts_keep_or_leave_out_as_the_full_decision(synth, target):
    """While collecting, a marked test that no skip lists a model of gets its
    file's run act, and a function's single-test deselects give records without
    fates: each test is left out with the same record, or kept with the same
    marks, as its full decision says."""
    root, _ = synth
    seen = _Collected()
    on_target(root, target, plugins=(seen,))
    assert len(seen.pairs) == len(seen.items) > 250
    shortcuts = lazy = 0
    for item, fast, full in seen.pairs:
        assert fast.left_out == full.left_out, item.nodeid
        if full.left_out:
            assert fast.record == full.record, item.nodeid
            lazy += isinstance(fast, LeftOutBy)
        else:
            marks = [str(m.mark) for m in full.marks]
            assert [str(m.mark) for m in fast.marks] == marks, item.nodeid
        shortcuts += fast.fate != full.fate
    assert shortcuts > 10  # marked tests kept on their file's act
    assert lazy >= 1  # single-test deselects left out without their fates


@pytest.mark.parametrize(
    "relative",
    ["tests/a.py", "a.py", "tests/../a.py", "tests/./a.py", ".hidden/a.py", "x//a.py"],
)
def test_relpaths_cut_what_relpath_gives(tmp_path, relative):
    from testmatrix.plugin.items import RelPaths

    cut = RelPaths(tmp_path)
    for path in (tmp_path / relative, Path(str(tmp_path) + "/" + relative)):
        assert cut(path) == item_relpath(path, tmp_path), path
    outside = tmp_path.parent / "elsewhere" / "a.py"
    assert cut(outside) is None and item_relpath(outside, tmp_path) is None
    assert cut(tmp_path) == item_relpath(tmp_path, tmp_path)


class _Reverse:
    """Another plugin's collection hook that reorders the tests (as pytest's
    fixtures do by scope) and drops the first: testmatrix takes its decisions
    from the list as that hook left it."""

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items[:] = items[:0:-1]


def test_tests_another_hook_reorders_are_left_out_in_its_order(synth):
    root, _ = synth
    flag = opt.PLATFORM.flag("rocm")
    plain, reordered = collect(root, flag), collect(root, flag, plugins=(_Reverse(),))
    dropped = [i.nodeid for i in plain.deselected]
    kept = [i.nodeid for i in plain.items]
    assert plain.deselected and len(plain.items) > 100
    # one test fewer: the other hook dropped one, kept or left out here
    seen = {i.nodeid for i in reordered.items} | {
        i.nodeid for i in reordered.deselected
    }
    assert len(seen) == len(kept) + len(dropped) - 1
    assert [i.nodeid for i in reordered.items] == [n for n in kept[::-1] if n in seen]
    assert [i.nodeid for i in reordered.deselected] == [
        n for n in dropped[::-1] if n in seen
    ]
    records = sorted(sorted(r.items()) for r in plain.left_out)
    again = sorted(sorted(r.items()) for r in reordered.left_out)
    assert again == records  # counted as the suite's whatever the other hook took
