"""Each collected test's fate as the run acts on it (deselected, marked or kept), worked
out once for the tests that share it."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import pytest

from testmatrix.core.fate import (
    Fate,
    FateKind,
    TestCase,
    case_at,
    deselected_record,
)
from testmatrix.core.made import MadeFates
from testmatrix.core.model import DeselectEntry
from testmatrix.core.nodeids import MarkedIds
from testmatrix.core.rules import IdsBelow, Rules
from testmatrix.plugin.items import CaseReader, named_strings
from testmatrix.plugin.plans import IdsFirst, MarkedFunction
from testmatrix.plugin.state import LEFT_OUT, MODELS_SET, PROPERTY, Record, State


def properties(record: Record) -> list[tuple[str, str]]:
    return [(PROPERTY + name, value) for name, value in record.items() if value]


UNSEEN: Any = object()  # a key not looked at yet
_NAME = attrgetter("name")
_NO_STRINGS = frozenset({int, float, bool, type(None), bytes})  # name no model


class Functions(dict[str | None, "Act | IdsBelow | None"]):
    """A parent node whose tests' node ids decide: the act each function's tests
    share, or what decides each from its [params] (`IdsBelow`), or None where each
    whole id decides; with the file and the parent's node id."""

    __slots__ = ("parent", "path")

    def __init__(self, path: str, parent: str | None):
        super().__init__()
        self.path = path
        self.parent = parent


class Act:
    """What a fate does to a test: leaves it out, or keeps it with its report's
    properties and the marks that carry the fate out (pytest-rerunfailures' flaky,
    pytest's skip); the properties are made on first use (by the tests that
    run)."""

    __slots__ = ("_fate", "_properties", "left_out", "marks", "record")

    def __init__(self, fate: Fate, record: Record | None = None):
        self._fate = fate
        self.left_out = fate.kind in LEFT_OUT
        self.record = fate.record() if record is None else record
        self._properties: list[tuple[str, str]] | None = None
        self.marks: list[pytest.MarkDecorator] = []
        if fate.rerun is not None:
            rerun = fate.rerun
            flaky = pytest.mark.flaky(reruns=rerun.reruns, reruns_delay=rerun.delay)
            self.marks.append(flaky)
        if fate.kind is FateKind.SKIPPED:
            self.marks.append(pytest.mark.skip(reason=fate.message))

    @property
    def fate(self) -> Fate:
        return self._fate

    @property
    def properties(self) -> list[tuple[str, str]]:
        if self._properties is None:
            self._properties = properties(self.record)
        return self._properties


class LeftOutBy(tuple[DeselectEntry, str, MadeFates]):
    """The act of a test a deselect entry (expecting no error) leaves out, where
    one of a function's thousands of single-test deselects names it, or its own
    id: (the entry, the target, what makes the target's fates).
    A tuple made in C, with neither fate nor record while deciding: the record
    is made when the summary counts it, the fate if it is asked for."""

    __slots__ = ()
    left_out = True
    marks: tuple[pytest.MarkDecorator, ...] = ()

    @property
    def fate(self) -> Fate:
        return self[2].deselected_fate(self[0])

    @property
    def record(self) -> Record:
        return deselected_record(self[1], self[0])

    @property
    def properties(self) -> list[tuple[str, str]]:
        return properties(self.record)


_TUPLE = tuple.__new__  # LeftOutBy's maker, in C


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


def note_models(item: pytest.Item, rules: Rules) -> None:
    """The test's models in its report, once (reruns set up the item again), for
    the per-model coverage of the matrix."""
    if item.stash.get(MODELS_SET, False):
        return
    item.stash[MODELS_SET] = True
    models = _models(item, rules)
    if models:
        item.user_properties.append((PROPERTY + "models", ",".join(models)))


class Decider:
    """Decides one run's collected tests, sharing what tests share: a fate's act
    once per fate, a parent's or a function's once per node."""

    def __init__(self, state: State):
        rules = self.rules = state.rules
        self.target = rules.name
        suite = rules.suite
        self.state = state
        self.reader = CaseReader(
            state.workspace.root,
            frozenset(rules.skips),  # only these markers can change a fate here
            selection=bool(suite and suite.markexpr),
            keywords=bool(suite and suite.keyword),
            arguments=rules.reads_mark_arguments,
            models=rules.models,
        )
        # what a fate does to its tests, worked out once per fate: many share one
        self.acts: dict[int, Act] = {}
        # by parent node, for its items that carry no deciding marker of their own:
        # what the fate they share does (Rules.file_fate), or, where the function or
        # the node id decides, the acts of its functions (Rules.group_fate,
        # Rules.unmarked), or None where each needs its whole reading
        self.shared: dict[int, Act | Functions | None] = {}
        self.relevant = self.reader.relevant or frozenset()
        self.last: tuple[pytest.Item, Act | LeftOutBy] | None = None  # at_run's
        # marked tests: by id of the parent, whether node ids decide in its file;
        # the acts of those whose ids decide nothing, by what else decides (marked)
        self.ids_decide: dict[int, bool] = {}
        # while the collection is decided (`split`), a marked test that no skip of
        # its markers lists a model of gets the act of its file's tests that run,
        # by id of the parent (Rules.marked_runs): its full fate (its model, and
        # why) is what its reports carry, worked out when it runs
        self.collecting = False
        self.plain_runs: dict[int, Act | None] = {}
        self.collected: dict[tuple[object, ...], Act | None] = {}  # by reading
        self.function_ids: dict[tuple[int, str], bool] = {}  # ids_may_name
        self.listed = rules.skip_index
        self.by_reading: dict[tuple[object, ...], Act] = {}
        self.left_out_acts: dict[tuple[tuple[str, str], ...], Act] = {}
        self.held: list[Fate] = []
        # a function's deselects (`below`): each entry's act, by id of the entry
        self.entry_acts: dict[int, LeftOutBy] = {}
        # while collecting, how each marked function's tests are decided, by id of
        # the parent, the function's name and its tests' marks (`plan`)
        self.plans: dict[
            tuple[object, ...], Act | MarkedFunction | IdsFirst | None
        ] = {}
        # the acts of marked tests by their models (MarkedFunction.acts), by id of
        # their file's marked_runs act and of each marker use (held by the reader)
        self.by_uses: dict[tuple[int, ...], dict[Any, Any]] = {}
        # the listed models of some skips together, by id of each skip's index
        self.unions: dict[tuple[int, ...], frozenset[str]] = {}

    def act_of(self, fate: Fate) -> Act:
        act = self.acts.get(id(fate))
        if act is None:  # the act holds the fate: its id is not reused meanwhile
            act = self.acts[id(fate)] = self._new_act(fate)
        return act

    def _new_act(self, fate: Fate) -> Act:
        """A test left out only counts its record: the single-test deselects of one
        table (a fate each) share one act, and one record to count."""
        if fate.kind not in LEFT_OUT:
            return Act(fate)
        record = fate.record()
        key = tuple(record.items())
        act = self.left_out_acts.get(key)
        if act is None:
            act = self.left_out_acts[key] = Act(fate, record)
        self.held.append(fate)  # its id keys self.acts: it must outlive them
        return act

    def by_parent(self, item: pytest.Item) -> Act | Functions | None:
        path, uses, _ = self.reader.shared(item)
        if uses:
            return None
        case = case_at(item.nodeid, path)
        fate = self.rules.file_fate(case)
        if fate is not None:
            return self.act_of(fate)
        if self.rules.unmarked(case) is None:
            return None
        up = item.parent
        return Functions(path, up.nodeid if up is not None else None)

    def by_function(
        self, functions: Functions, name: str | None
    ) -> Act | IdsBelow | None:
        act: Act | IdsBelow | None = None
        if name is not None and functions.parent is not None:
            # the function's ids all start parent::name (then [params], if any)
            prefix = f"{functions.parent}::{name}"
            fate = self.rules.group_fate(case_at(prefix, functions.path))
            act = self.act_of(fate) if isinstance(fate, Fate) else fate
        functions[name] = act
        return act

    def act(self, item: pytest.Item) -> Act | LeftOutBy:
        """What the item's fate does to it (the same at collection and at run time:
        nothing is kept per test, and its report's properties are looked up here)."""
        if not self.relevant.isdisjoint(map(_NAME, item.own_markers)):
            return self.marked(item)
        parent = id(item.parent)  # items hold their parent: the id is its own
        try:
            how = self.shared[parent]
        except KeyError:
            how = self.shared[parent] = self.by_parent(item)
        if how is None:  # its class or module carries such a marker
            return self.marked(item)
        if how.__class__ is not Functions:
            return how  # type: ignore[return-value]  # an Act: the file decides
        return self.in_function(item, how)

    def in_function(self, item: pytest.Item, functions: Functions) -> Act | LeftOutBy:
        """`act` for a test with no marker a skip names, whose function or node
        id decides (its parent's `Functions`)."""
        name = getattr(item, "originalname", None)
        act = functions.get(name, UNSEEN)
        if act is UNSEEN:
            act = self.by_function(functions, name)
        if act.__class__ is Act:
            return act
        if (
            act.__class__ is IdsBelow
            and name is not None
            and item.name.startswith(name)  # pytest's name[params]
        ):
            return self.below(act, item.name[len(name) :])
        # each test's whole id decides
        fate = self.rules.unmarked(case_at(item.nodeid, functions.path))
        assert fate is not None  # the file said its ids decide
        return self.act_of(fate)

    def below(self, below: IdsBelow, rest: str) -> Act | LeftOutBy:
        """The act of a test that a function's deselects may name, by the rest of
        its id: once per entry; a deselected test's from its entry alone (its
        record is made when the summary counts it, its fate if asked for)."""
        index = below.find(rest)
        if index >= below.size:
            return self.act_of(below.otherwise)
        entry: Any = below.keys[index] if below.keys else None
        if entry is None or entry.fails is not None:
            return self.act_of(below.fates[index])
        # deselected: neither record nor fate yet (`left_out_by`, inlined: a
        # function's thousands of single-test deselects each make one)
        act = self.entry_acts.get(id(entry))
        if act is None:
            made = (entry, self.target, self.rules)
            act = self.entry_acts[id(entry)] = _TUPLE(LeftOutBy, made)
        return act

    def left_out_by(self, entry: DeselectEntry) -> LeftOutBy:
        """The act of the tests a deselect expecting no error leaves out, once per
        entry: neither record nor fate yet."""
        act = self.entry_acts.get(id(entry))  # the rules hold their entries
        if act is None:
            made = (entry, self.target, self.rules)
            act = self.entry_acts[id(entry)] = _TUPLE(LeftOutBy, made)
        return act

    def marked(self, item: pytest.Item) -> Act | LeftOutBy:
        """A test with a marker a skip names (its own, its class's or its module's):
        read in full once per function, marks and parameters that may name a model
        (ints and floats do not), where its node id decides nothing."""
        if self.collecting:
            found = self.by_models(item)
            if found is not None:
                return found
        return self.read_marked(item)

    def read_marked(self, item: pytest.Item) -> Act | LeftOutBy:
        """`marked` for a test read by itself: its id, or its marks and
        parameters (once per function and parameter values)."""
        parent = item.parent
        ids = self.ids_decide.get(id(parent))
        if ids is None:
            ids = self.parent_facts(item)
        if ids and self.ids_may_name(item):  # where its id decides: read in full
            path = self.reader.shared(item)[0]
            named = self.rules.by_id(case_at(item.nodeid, path))
            if named is True:
                return self.act_of(self.rules.fate(self.reader.read(item)))
            if named is not False:  # a deselect leaves it out, whatever it reads
                return self.left_out_by(named)
        key: tuple[object, ...] = (
            id(parent),
            getattr(item, "originalname", None),
            *map(id, item.own_markers),  # each mark object is the item's to keep
        )
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            for name, value in callspec.params.items():
                if value.__class__ not in _NO_STRINGS:  # it may name a model
                    key += (name, id(value))  # the item holds the value
        act = self.by_reading.get(key)
        if act is None and self.collecting:  # its marks only
            act = self.collected.get(key, UNSEEN)
            if act is UNSEEN:
                act = self.collected[key] = self.unlisted(item)
        if act is None:
            fate = self.rules.fate(self.reader.read(item))
            act = self.act_of(fate)
            if fate.no_model is None:  # its message names the test
                self.by_reading[key] = act
        return act

    def parent_facts(self, item: pytest.Item) -> bool:
        """Whether node ids decide in the file of the item's parent (`ids_decide`),
        and the act of its marked tests that no skip lists a model of
        (`plain_runs`), once per parent."""
        parent = id(item.parent)
        case = case_at(item.nodeid, self.reader.shared(item)[0])
        ids = self.ids_decide[parent] = self.rules.ids_decide(case)
        runs = self.rules.marked_runs(case)
        self.plain_runs[parent] = None if runs is None else self.act_of(runs)
        return ids

    def by_models(self, item: pytest.Item) -> Act | LeftOutBy | None:
        """While collecting: a marked test's act from the models its parameters
        name (its function's `MarkedFunction`): read in full once per marker
        uses, file's marked_runs and combination of models; None where each test
        must be read (`read_marked`)."""
        key = (
            id(item.parent),  # items hold their parent: the id is its own
            getattr(item, "originalname", None),
            *map(id, item.own_markers),  # each mark object is the item's to keep
        )
        plan = self.plans.get(key, UNSEEN)
        if plan is UNSEEN:
            plan = self.plans[key] = self.plan(item)
        if isinstance(plan, IdsFirst):  # its id first: its function part's rest
            name = getattr(item, "originalname", "")
            if not item.name.startswith(name):
                return None  # its whole id decides (`read_marked`)
            named = plan.ids.by_rest(item.name[len(name) :])
            if named is not False:  # read whole, or left out by a deselect
                return None if named is True else self.left_out_by(named)
            plan = plan.then
        if plan.__class__ is not MarkedFunction:
            return plan  # None, or an Act
        callspec = getattr(item, "callspec", None)
        found = self.reader.models_named(callspec.params) if callspec else []
        if plan.runs is not None:  # does a skip list one of them? (names_listed)
            listed = plan.listed
            for _, model in found:
                if model in listed:
                    break
            else:
                if found or not self.constants_listed(plan, item):
                    return plan.runs
        if not found and plan.indexes:  # its function's constants may decide
            if plan.alone is None:
                plan.alone = self.read_models(item, plan, ())
            return plan.alone
        models = tuple(found)
        act = plan.acts.get(models)
        if act is None:
            act = self.read_models(item, plan, models)
            if act is not None:
                plan.acts[models] = act
        return act

    def constants_listed(self, plan: MarkedFunction, item: pytest.Item) -> bool:
        """Whether the module constants the item's function names hold a model a
        skip of its markers lists (where no parameter is a model), once."""
        if plan.constants is None:
            listed = plan.listed
            found = self.reader.constants.read(item)
            plan.constants = any(value in listed for value, _, _ in found)
        return plan.constants

    def read_models(
        self,
        item: pytest.Item,
        plan: MarkedFunction,
        models: tuple[tuple[str, str], ...],
    ) -> Act | None:
        """The act of the plan's marked tests whose parameters name these models:
        what the item's full reading decides (a test whose parameters name a
        model is read no further); None where its message names the test."""
        if models:
            values = tuple([value for _, value in models])
            where = tuple([field for field, _ in models])
            case = TestCase(item.nodeid, plan.path, plan.uses, values, where)
        else:  # its module constants, or its marker, name its models
            case = self.reader.read(item)
        fate = self.rules.fate(case)
        return self.act_of(fate) if fate.no_model is None else None

    def plan(self, item: pytest.Item) -> Act | MarkedFunction | IdsFirst | None:
        """How the marked tests of the item's function (with its marks) are
        decided while collecting (`by_models`): None where each test's whole id
        must be read or the file decides otherwise; an Act where none can name
        a model a skip of its markers lists; IdsFirst where deselects name some
        of them."""
        parent = id(item.parent)
        ids = self.ids_decide.get(parent)
        if ids is None:
            ids = self.parent_facts(item)
        if ids and self.ids_may_name(item):
            # what node ids decide of its tests, from the rest of each one's id:
            # those that nothing names are decided as the others below
            marked = self.marked_ids(item)
            if marked is None:
                return None
            then = self.plan_models(item)
            return None if then is None else IdsFirst(marked, then)
        return self.plan_models(item)

    def marked_ids(self, item: pytest.Item) -> MarkedIds | None:
        """`Rules.marked_ids` of the item's function (None: each test's whole id
        decides, as `read_marked` reads it)."""
        name = getattr(item, "originalname", None)
        parent = item.parent
        if name is None or parent is None or not item.name.startswith(name):
            return None
        path = self.reader.shared(item)[0]
        return self.rules.marked_ids(case_at(f"{parent.nodeid}::{name}", path))

    def plan_models(self, item: pytest.Item) -> Act | MarkedFunction | None:
        """`plan` for marked tests that no node id decides."""
        parent = id(item.parent)
        runs = plain = self.plain_runs[parent]
        if runs is None:
            return None
        path, chain, _ = self.reader.shared(item)
        uses = self.reader.own_uses(item) + chain
        indexes: list[dict[str, Any]] = []
        for use in uses:
            index = self.listed.get(use.name)
            if index is None:
                continue
            if not use.models:
                indexes.append(index)  # its parameters or constants name it
            elif any(model in index for model in use.models):
                runs = None  # a listed model on the marker: each read in full
        if not indexes and runs is not None:
            return runs  # no skip of its markers can decide it
        # the fate of a marked test whose node id decides nothing follows from
        # its file's marked_runs, its marker uses and its models (Rules.marked_runs)
        key = (id(plain), *map(id, uses))
        acts = self.by_uses.get(key)
        if acts is None:
            acts = self.by_uses[key] = {}
        listed = self.unions.get(tuple(map(id, indexes)))
        if listed is None:
            listed = frozenset().union(*indexes)
            self.unions[tuple(map(id, indexes))] = listed
        return MarkedFunction(tuple(indexes), listed, runs, path, uses, acts)

    def ids_may_name(self, item: pytest.Item) -> bool:
        """Whether a node id may decide something of a test of the item's function
        (Rules.ids_may_name, once per function)."""
        name = getattr(item, "originalname", None)
        parent = item.parent
        if name is None or parent is None:
            return True
        key = (id(parent), name)  # its items hold the parent: the id is its own
        may = self.function_ids.get(key)
        if may is None:
            path = self.reader.shared(item)[0]
            case = case_at(f"{parent.nodeid}::{name}", path)
            may = self.function_ids[key] = self.rules.ids_may_name(case)
        return may

    def unlisted(self, item: pytest.Item) -> Act | None:
        """While collecting: the act of a marked test that no skip of its markers
        lists a model of (its file's tests' that run: `plain_runs`), else None."""
        runs = self.plain_runs[id(item.parent)]
        if runs is None or self.reader.names_listed(item, self.listed):
            return None
        return runs

    def at_run(self, item: pytest.Item) -> Act | LeftOutBy:
        """`act` for a test about to run: its hooks ask several times in a row."""
        last = self.last
        if last is not None and last[0] is item:
            return last[1]
        act = self.act(item)
        self.last = (item, act)
        return act

    def split(
        self, items: list[pytest.Item]
    ) -> tuple[list[pytest.Item], list[pytest.Item]]:
        """(kept, deselected): kept tests carry the marks that carry their fate out
        (their report's properties are added when they run), and each deselected
        one's record joins the run's left-out records."""
        keep: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        decide, in_function = self.act, self.in_function  # locals: a loop per test
        by_models, read_marked = self.by_models, self.read_marked
        left_out = self.state.left_out
        shared: dict[int, Any] = self.shared  # an Act where the file decides
        relevant = self.relevant
        self.collecting = True
        try:
            for item in items:
                # `act`'s first steps, inlined: most tests' file or function
                # decides them, a marked test's the models it names
                if relevant.isdisjoint(map(_NAME, item.own_markers)):
                    act = shared.get(id(item.parent), UNSEEN)
                    if act.__class__ is Act:
                        pass
                    elif act.__class__ is Functions:
                        found = act.get(getattr(item, "originalname", None))
                        act = (
                            found if found.__class__ is Act else in_function(item, act)
                        )
                    elif act is None:  # its class or module carries such a marker
                        act = by_models(item) or read_marked(item)
                    else:
                        act = decide(item)
                else:
                    act = by_models(item) or read_marked(item)
                if act.left_out:  # its record is made when it is counted
                    left_out.append(act)
                    deselected.append(item)
                    continue
                if act.marks:
                    for decorator in act.marks:
                        item.add_marker(decorator)
                keep.append(item)
        finally:
            self.collecting = False
        return keep, deselected


def _decider(state: State) -> Decider:
    if state.decider is None:  # tests run that were never decided here
        state.decider = Decider(state)
    decider: Decider = state.decider
    return decider


def properties_of(state: State, item: pytest.Item) -> list[tuple[str, str]]:
    """The properties of a test's fate, for its reports."""
    if state.rules.decides_nothing:  # every test runs: only its target
        if state.target_properties is None:
            state.target_properties = [
                (PROPERTY + k, v) for k, v in state.rules.runs.record().items() if v
            ]
        return state.target_properties
    return _decider(state).at_run(item).properties


def fate_of(state: State, item: pytest.Item) -> Fate | None:
    """The fate of a test about to run, where one can change how it runs."""
    if state.rules.decides_nothing:
        return None
    return _decider(state).at_run(item).fate
