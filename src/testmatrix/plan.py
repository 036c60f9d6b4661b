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
from typing import NamedTuple

from . import options as opt
from .detect import Detection
from .errors import UsageError, unknown
from .installed import DISTRIBUTION, Origin, is_own_project
from .model import (
    DeselectEntry,
    Entry,
    Exclude,
    FlakyEntry,
    IgnoreEntry,
    Platform,
    SkipEntry,
    Suite,
    Target,
    Variant,
    Workspace,
)
from .sessionlist import session_keys, suite_runs_on, target_name
from .sessionlist import session_name as session_name  # named once, for nox -l too

ENV_PLATFORM = "TESTMATRIX_PLATFORM"


class FateKind(str, enum.Enum):
    RUN = "runs"
    IGNORED = "ignored"
    DESELECTED = "deselected"
    SKIPPED = "skipped"
    ERROR = "error"
    # runs, and must fail with the entry's error: a pass means the entry is stale
    EXPECTED_FAIL = "expected-fail"
    # not platform decisions: the suite's own selection leaves the test out (its
    # paths, excludes, -m, -k), or the suite has no session on this target
    NOT_IN_SUITE = "not-in-suite"
    NO_SESSION = "no-session"


@dataclass(frozen=True)
class MarkerUse:
    """A marker on a test and the models its author named on it, if any."""

    name: str
    models: tuple[str, ...] = ()


class TestCase(NamedTuple):
    """What planning needs to know of one collected test (a named tuple, not a
    dataclass: one is built per collected test, and a tuple is three times cheaper
    to build than a frozen dataclass)."""

    nodeid: str
    path: str  # workspace-relative posix path of its file
    markers: tuple[MarkerUse, ...] = ()
    params: tuple[str, ...] = ()  # string values of its parameters, fixtures' too
    # the parameter each value came from ("model_name", a record's "model_info.name")
    param_names: tuple[str, ...] = ()
    marks: frozenset[str] | None = None  # every marker name (what -m reads)
    keywords: frozenset[str] | None = None  # what -k reads (pytest's own names)


# not a pytest test class (test modules import it); a NamedTuple body holds fields only
setattr(TestCase, "__test__", False)  # noqa: B010


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
    model_from: str | None = None  # why `model` is the test's model

    @property
    def runs(self) -> bool:
        return self.kind is FateKind.RUN

    def record(self) -> dict[str, str]:
        """The fate as plain strings: what a test's report carries (its JUnit
        properties) and what a summary counts, in this process or another."""
        out = {"fate": self.kind.value, "target": self.platform}
        if self.entry is not None:
            out.update(entry_record(self.entry))
        if self.model is not None:
            out["model"] = self.model
        if self.rerun is not None:
            out["rerun"] = self.rerun.cite()
        return out


def entry_record(entry: Entry) -> dict[str, str]:
    """An entry as plain strings: where it is declared, its kind, reason and issue."""
    return {
        "entry": str(entry.location),
        "entry_kind": entry.kind,
        "reason": entry.reason,
        "issue": entry.issue or "",
    }


def models_of(test: TestCase, marker: str, rules: Rules) -> Sequence[tuple[str, str]]:
    """The models a marked test uses, each with why it counts: named on the marker,
    else the values of its parameters that the model rule takes."""
    named = [m for use in test.markers if use.name == marker for m in use.models]
    if named:
        return [(m, "named on the marker") for m in named]
    return rules.models_in(test)


class Selection:
    """A suite's own choice of tests, on every platform: its paths minus its excludes,
    narrowed by its -m and -k expressions (evaluated by pytest's own parser)."""

    def __init__(self, suite: Suite):
        self.suite = suite
        self.narrows = bool(suite.excludes or suite.markexpr or suite.keyword)
        self._markexpr = self._compile("markexpr", suite.markexpr)
        self._by_marks: dict[tuple[frozenset[str], str], Fate | None] = {}
        self._keyword = self._compile("keyword", suite.keyword)

    def _compile(self, key: str, text: str | None):  # type: ignore[no-untyped-def]
        if not text:
            return None
        try:
            return compile_expression(text)
        except Exception as exc:  # pytest's ParseError (older: SyntaxError)
            import pytest

            raise UsageError(
                f"{self.suite.location}: suite {self.suite.name}'s {key} '{text}' is "
                f"not an expression pytest {pytest.__version__} understands: {exc}"
            ) from None

    @property
    def by_expression(self) -> bool:
        """Whether -m or -k narrows the suite: a choice per test, not per file."""
        return self._markexpr is not None or self._keyword is not None

    def leaves_out_path(self, path: str, target: str) -> Fate | None:
        """NOT_IN_SUITE with why, where the suite's paths and excludes leave out
        every test of this file; None otherwise."""
        suite = self.suite
        if not suite.holds(path):
            why = f"{path} is under none of suite {suite.name}'s paths"
            return Fate(FateKind.NOT_IN_SUITE, target, message=why)
        exclude = suite.exclude_for(path)
        if exclude is not None:
            why = (
                f"not in suite {suite.name}: {exclude.target} is excluded "
                f"({exclude.reason}) [{exclude.location}]"
            )
            return Fate(FateKind.NOT_IN_SUITE, target, message=why)
        return None

    def expressions_leave_out(self, test: TestCase, target: str) -> Fate | None:
        """NOT_IN_SUITE with why, where the suite's -m or -k deselects the test."""
        suite = self.suite
        if self._markexpr is not None:
            marks = test.marks or frozenset()
            key = (marks, target)  # -m reads the marker names alone: many tests share
            if key in self._by_marks:
                fate = self._by_marks[key]
            else:
                fate = None
                if not self._markexpr.evaluate(lambda name, **kw: name in marks):
                    why = (
                        f"not in suite {suite.name}: -m '{suite.markexpr}' deselects it"
                    )
                    fate = Fate(FateKind.NOT_IN_SUITE, target, message=why)
                self._by_marks[key] = fate
            if fate is not None:
                return fate
        if self._keyword is not None:
            names = [n.lower() for n in test.keywords or ()]
            if not self._keyword.evaluate(
                lambda sub, **kw: any(sub.lower() in n for n in names)
            ):
                why = f"not in suite {suite.name}: -k '{suite.keyword}' deselects it"
                return Fate(FateKind.NOT_IN_SUITE, target, message=why)
        return None


def compile_expression(text: str):  # type: ignore[no-untyped-def]
    """A -m or -k expression, parsed by the pytest that will run it: a suite selects
    here exactly what it selects there (the module is private, hence imported here)."""
    from _pytest.mark.expression import Expression

    return Expression.compile(text)


class _File(NamedTuple):
    """What one target decides once per test file (its tests share it): the cost
    per test does not grow with the entries that name other files."""

    left_out: Fate | None  # the suite's paths or excludes leave the file out
    decided: Fate | None  # every test here, once -m/-k select it: ignored, or no
    # skiplist applies
    deselects: tuple[DeselectEntry, ...]  # those whose id may prefix a test here
    deselect_ids: tuple[str, ...]  # their ids: one startswith call rules most out
    # those that may match a test here, each with its rerun and its literal prefix
    flaky: tuple[tuple[FlakyEntry, Rerun, str], ...]
    rerun: Rerun | None  # the suite's own reruns
    runs: Fate  # a test here that no entry decides (with the suite's reruns)


class IdsBelow(NamedTuple):
    """One function's tests with no marker a skip names, where deselects name some
    of them: each one's fate from the rest of its node id past the function's
    (`[params]`, or '' unparametrized), what `Rules.fate` gives it. Made by
    `Rules.group_fate`."""

    rests: tuple[str, ...]  # each deselect's id past the function's, as declared
    fates: tuple[Fate, ...]  # the deselect's fate
    otherwise: Fate  # a test none of them names

    def fate(self, rest: str) -> Fate:
        if not rest.startswith(self.rests):
            return self.otherwise  # most tests: none of them, in one call
        named = zip(self.rests, self.fates, strict=True)
        return next(f for r, f in named if rest.startswith(r))


def _folders(path: str) -> list[str]:
    """The folders holding a relative posix path, innermost first, then "." (as
    PurePosixPath.parents, without building paths)."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)] + ["."]


def _literal_prefix(pattern: str) -> str:
    """What every node id a flaky pattern matches starts with: the pattern up to
    its first wildcard (it matches as a prefix or as a glob)."""
    cut = [i for i in (pattern.find(c) for c in "*?[") if i >= 0]
    return pattern[: min(cut)] if cut else pattern


class Rules:
    """One target's entries (a platform, or one of its variants), and with a suite its
    selection and its ignores only, indexed for per-test decisions."""

    def __init__(
        self,
        workspace: Workspace,
        platform: Platform | None,
        *,
        variant: str | None = None,
        apply: bool = True,
        suite: str | None = None,
    ):
        self.workspace = workspace
        self.platform = platform
        self.variant = variant
        self.name = platform.name if platform else "none"
        if variant is not None:
            self.name += f":{variant}"
        self.apply = apply and platform is not None
        self.suite = workspace.suites[suite] if suite is not None else None
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
            if s.reruns and (suite is None or s.name == suite)
        )
        self.params_re = re.compile(workspace.model_params)
        self._model_like: dict[tuple[str, str], str | None] = {}
        self._ignore_cache: dict[str, IgnoreEntry | None] = {}
        self._files: dict[str, _File] = {}
        self._flaky_prefixes: tuple[tuple[FlakyEntry, str], ...] = ()
        self._listing: dict[str, list[tuple[int, SkipEntry]]] | None = None
        self._models_in: dict[object, tuple[tuple[str, str], ...]] = {}
        self._fates: dict[tuple[object, ...], Fate] = {}  # shared by many tests
        self._selection = Selection(self.suite) if self.suite is not None else None
        self._by_expression = (
            self._selection is not None and self._selection.by_expression
        )
        if platform is not None and self.apply:

            def here(entry: Entry) -> bool:
                return entry.holds_on(variant)

            # suites may share a directory: a named suite applies only its own ignores
            self.ignores = {
                e.target: e
                for e in platform.ignores
                if here(e) and (suite is None or e.suite == suite)
            }
            self.deselects = tuple(e for e in platform.deselects if here(e))
            self.flaky = tuple(e for e in platform.flaky if here(e))
            self._flaky_prefixes = tuple(
                (e, _literal_prefix(e.pattern)) for e in self.flaky
            )
            for entry in platform.skips:
                if not here(entry):
                    continue
                self.skips.setdefault(entry.marker, []).append(entry)
                index = self.skip_index.setdefault(entry.marker, {})
                for model in entry.models:
                    index.setdefault(model, entry)

    @property
    def selects(self) -> bool:
        """Whether the suite's own selection can leave a test out (beyond its paths,
        which pytest is given): excludes, -m or -k."""
        return self._selection is not None and self._selection.narrows

    def excluded_path(self, relpath: str) -> Exclude | None:
        """The suite exclude leaving out exactly this path (pytest asks per path)."""
        if self.suite is None or not self.suite.excludes:
            return None
        exclude = self.suite.exclude_for(relpath)
        return exclude if exclude is not None and exclude.target == relpath else None

    @property
    def decides_nothing(self) -> bool:
        """No entry can change any test's fate and nothing is rerun: every test runs."""
        return not (
            self.ignores
            or self.deselects
            or self.skips
            or self.selects
            or (self.apply and (self.flaky or self.rerun_suites))
        )

    def model_rule(self, name: str, value: str) -> str | None:
        """Why a parameter value counts as the test's model, or None: the skiplists
        list it (wherever it is), or its parameter's name says it carries a model
        (model_params) and it looks like a model id (model_pattern). A value shaped
        like org/name under any other name (a dataset id) is never taken."""
        key = (name, value)
        why = self._model_like.get(key, "")
        if why == "":  # not decided yet (cached: parameters repeat)
            if value in self.known_models:
                why = "listed in the skiplists"
            elif self.params_re.search(name) and self.model_re.match(value):
                why = f"parameter '{name}'"
            else:
                why = None
            self._model_like[key] = why
        return why

    def models_in(self, test: TestCase) -> tuple[tuple[str, str], ...]:
        """The values of a test's parameters that are its models, with why (once
        per combination of values: a parametrization repeats them)."""
        key = (test.params, test.param_names)
        found = self._models_in.get(key)
        if found is None:
            names = test.param_names or ("",) * len(test.params)
            pairs = zip(names, test.params, strict=True)
            found = tuple(
                (value, why)
                for name, value in pairs
                if (why := self.model_rule(name, value)) is not None
            )
            self._models_in[key] = found
        return found

    def listed(self, models: Iterable[str]) -> list[tuple[SkipEntry, str]]:
        """(entry, model) for each model that one of the platform's skips lists."""
        index = self._listing
        if index is None:  # model: (declaration rank, skip) of each skip listing it
            index = {}
            every = (e for entries in self.skips.values() for e in entries)
            for rank, entry in enumerate(every):
                for model in entry.models:
                    index.setdefault(model, []).append((rank, entry))
            self._listing = index
        found = [
            (rank, pos, entry, model)
            for pos, model in enumerate(models)
            for rank, entry in index.get(model, ())
        ]
        if len(found) > 1:  # entries as declared, then models as given
            found.sort(key=lambda hit: hit[:2])
        return [(entry, model) for _, _, entry, model in found]

    @cached_property
    def deselect_index(self) -> dict[str, tuple[DeselectEntry, ...]]:
        """Deselects by the file or directory their id names: a test looks at those
        of its own file and folders only, so the cost per test does not grow with
        the number of deselects elsewhere."""
        index: dict[str, list[DeselectEntry]] = {}
        for entry in self.deselects:
            index.setdefault(entry.nodeid.split("::", 1)[0], []).append(entry)
        return {path: tuple(entries) for path, entries in index.items()}

    @cached_property
    def deselect_order(self) -> dict[DeselectEntry, int]:
        return {entry: i for i, entry in enumerate(self.deselects)}

    def _file(self, test: TestCase) -> _File:
        """The decisions shared by every test of the test's file, made once."""
        path = test.path
        left_out = None
        if self._selection is not None:
            left_out = self._selection.leaves_out_path(path, self.name)
        decided: Fate | None = None if self.apply else self.runs
        ignore = self.ignore_for(path) if self.apply else None
        if ignore is not None:
            if ignore.fails is not None:
                decided = self._expected(test, ignore)
            else:
                message = f"{ignore.target} is ignored on {self.name}: {ignore.cite()}"
                decided = Fate(FateKind.IGNORED, self.name, ignore, message=message)
        index = self.deselect_index
        near = [e for where in (path, *_folders(path)) for e in index.get(where, ())]
        order = self.deselect_order
        deselects = tuple(sorted(near, key=order.__getitem__))  # as declared
        # node ids of one file share their file part: the prefix a flaky pattern
        # must agree with to match any test here
        head = test.nodeid.split("::", 1)[0] + "::"
        flaky = tuple(
            (e, Rerun(e.reruns, e.delay, entry=e), lit)
            for e, lit in (self._flaky_prefixes if self.apply else ())
            if lit[: len(head)] == head[: len(lit)]
        )
        rerun = None
        if self.apply:
            for suite in self.rerun_suites:
                if suite.reruns and suite.holds(path):
                    rerun = Rerun(suite.reruns, suite.reruns_delay, suite=suite.name)
                    break
        runs = (
            self.runs if rerun is None else Fate(FateKind.RUN, self.name, rerun=rerun)
        )
        ids = tuple(e.nodeid for e in deselects)
        file = _File(left_out, decided, deselects, ids, flaky, rerun, runs)
        self._files[path] = file
        return file

    def _unmarked_file(self, test: TestCase) -> _File | Fate | None:
        """What the file alone says of a test with no marker a skip names: its fate
        (left out of the suite, ignored, no skiplist), None where the suite's -m/-k
        chooses, else the file's record, for node ids to decide on."""
        file = self._files.get(test.path) or self._file(test)
        if file.left_out is not None:
            return file.left_out
        if self._by_expression:
            return None
        if file.decided is not None:
            return file.decided
        return file

    def file_fate(self, test: TestCase) -> Fate | None:
        """The fate every test of this test's file gets when it carries no marker a
        skip names, whatever its node id: what `fate` gives each of them. None where
        node ids decide too (deselects or flaky patterns name tests of the file), or
        the suite's -m/-k chooses."""
        file = self._unmarked_file(test)
        if not isinstance(file, _File):
            return file
        return None if file.deselects or file.flaky else file.runs

    def group_fate(self, test: TestCase) -> Fate | IdsBelow | None:
        """The fate every test with no marker a skip names gets whose node id starts
        with `test.nodeid` (a prefix: one function's parametrizations), whatever
        the rest of its id: what `fate` gives each of them; where deselects name
        some of them, what decides each from the rest of its id (`IdsBelow`). None
        where a flaky pattern may match some of them, or the suite's -m/-k chooses."""
        file = self._unmarked_file(test)
        if not isinstance(file, _File):
            return file
        prefix = test.nodeid
        rests: list[str] = []
        fates: list[Fate] = []
        otherwise = file.runs
        for entry in file.deselects:  # the first that matches decides
            if prefix.startswith(entry.nodeid):
                otherwise = self._deselected(test, entry)  # all the others
                break
            if entry.nodeid.startswith(prefix):  # it names some of them
                rests.append(entry.nodeid[len(prefix) :])
                fates.append(self._deselected(test, entry))
        if otherwise is file.runs:  # a test no deselect names may be flaky
            for _, _, lit in file.flaky:
                if lit[: len(prefix)] == prefix[: len(lit)]:
                    return None  # a pattern that may match some of them
        if not rests:
            return otherwise
        return IdsBelow(tuple(rests), tuple(fates), otherwise)

    def unmarked(self, test: TestCase) -> Fate | None:
        """The fate of a test that carries no marker a skip names, from its file and
        node id alone: what `fate` gives it. None where the suite's -m/-k chooses
        (that needs the test's marker names or keywords)."""
        file = self._unmarked_file(test)
        if not isinstance(file, _File):
            return file
        return self._decide(test, file)

    def deselect_for(self, test: TestCase) -> DeselectEntry | None:
        """The first deselect (in declaration order) whose id prefixes the test's."""
        file = self._files.get(test.path) or self._file(test)
        nodeid = test.nodeid
        if not nodeid.startswith(file.deselect_ids):
            return None  # most tests: none of them, in one call
        return next((e for e in file.deselects if nodeid.startswith(e.nodeid)), None)

    def ignored_path(self, relpath: str) -> IgnoreEntry | None:
        """The entry ignoring exactly this path (pytest asks for each directory); an
        entry whose tests are expected to fail has them collected and run."""
        entry = self.ignores.get(relpath) if self.ignores else None
        return entry if entry is not None and entry.fails is None else None

    def ignore_for(self, relpath: str) -> IgnoreEntry | None:
        """The ignore entry covering a workspace-relative path (itself or a parent)."""
        if not self.ignores:
            return None
        if relpath in self._ignore_cache:
            return self._ignore_cache[relpath]
        entry = self.ignores.get(relpath)
        if entry is None:
            for parent in _folders(relpath):
                entry = self.ignores.get(parent)
                if entry is not None:
                    break
        self._ignore_cache[relpath] = entry
        return entry

    def rerun_for(self, test: TestCase) -> Rerun | None:
        """How often a failure of this test is rerun: a flaky entry, else its suite."""
        if not self.apply:
            return None
        file = self._files.get(test.path) or self._file(test)
        nodeid = test.nodeid
        for flaky, rerun, _ in file.flaky:
            if nodeid.startswith(flaky.pattern) or fnmatch.fnmatchcase(
                nodeid, flaky.pattern
            ):
                return rerun
        return file.rerun

    def _expected(
        self,
        test: TestCase,
        entry: Entry,
        model: str | None = None,
        why: str | None = None,
    ) -> Fate:
        """The test runs and must fail with the entry's error (a known failure whose
        cause is checked on every run: a pass says the entry is stale)."""
        what = f"{model} ({why}) " if model else ""
        message = (
            f"{what}expected to fail on {self.name} with {entry.fails}: {entry.cite()}"
        )
        rerun = None  # an expected failure is never rerun
        kind = FateKind.EXPECTED_FAIL
        return Fate(kind, self.name, entry, model, message, rerun, why)

    def fate(self, test: TestCase) -> Fate:
        """Decide one test's fate; the first kind that matches wins: ignore, deselect,
        skip; a test that runs (or errors) carries its rerun policy. With a suite, its
        selection comes first: partitioning is not a platform decision. What a test
        shares with its file is decided once per file."""
        file = self._files.get(test.path) or self._file(test)
        if file.left_out is not None:
            return file.left_out
        if self._by_expression:
            assert self._selection is not None
            left_out = self._selection.expressions_leave_out(test, self.name)
            if left_out is not None:
                return left_out
        return self._decide(test, file)

    def _decide(self, test: TestCase, file: _File) -> Fate:
        """The platform's part of `fate`, once the suite selects the test."""
        if file.decided is not None:
            return file.decided
        if file.deselects:
            entry = self.deselect_for(test)
            if entry is not None:
                return self._deselected(test, entry)
        if not test.markers:
            if not file.flaky:
                return file.runs  # most tests: nothing of their own to decide
            rerun = self.rerun_for(test)
            if rerun is None or rerun is file.rerun:
                return file.runs
            return self._rerun_fate(rerun)
        missing: SkipEntry | None = None
        decided: tuple[str, str] | None = None  # the model a marked test runs with
        for use in test.markers:
            index = self.skip_index.get(use.name)
            if index is None:
                continue
            models = models_of(test, use.name, self)
            if not models:
                missing = missing or self.skips[use.name][0]
                continue
            for model, why in models:
                skip = index.get(model)
                if skip is not None:
                    return self._skipped(test, skip, model, why)
            decided = decided or models[0]
        rerun = self.rerun_for(test) if file.flaky else file.rerun
        if missing is not None:
            message = (
                f"{test.nodeid} is marked '{missing.marker}' but its model cannot be "
                f"determined from its parameters, so {self.name}'s skiplist cannot "
                f"decide it; name it on the marker: "
                f'@pytest.mark.{missing.marker}(model="org/name") [{missing.location}]'
            )
            return Fate(FateKind.ERROR, self.name, missing, None, message, rerun)
        if decided is not None:  # say which model the marked test runs with, and why
            return self._runs_with(decided[0], decided[1], rerun)
        if rerun is not None:
            return file.runs if rerun is file.rerun else self._rerun_fate(rerun)
        return self.runs

    def _deselected(self, test: TestCase, entry: DeselectEntry) -> Fate:
        """A deselect's fate: the same for every test it names, so made once."""
        key = ("deselect", id(entry))
        fate = self._fates.get(key)
        if fate is None:
            if entry.fails is not None:
                fate = self._expected(test, entry)
            else:
                message = f"deselected on {self.name}: {entry.cite()}"
                fate = Fate(FateKind.DESELECTED, self.name, entry, message=message)
            self._fates[key] = fate
        return fate

    def _skipped(self, test: TestCase, skip: SkipEntry, model: str, why: str) -> Fate:
        """A skip's fate for a model: the same for every test it decides, so made
        once per skip, model and reason."""
        key = ("skip", id(skip), model, why)  # entries live as long as these rules
        fate = self._fates.get(key)
        if fate is None:
            if skip.fails is not None:
                fate = self._expected(test, skip, model, why)
            else:
                message = (
                    f"{model} ({why}) is skipped on {self.name} ({skip.marker}): "
                    f"{skip.cite()}"
                )
                kind = FateKind.SKIPPED
                fate = Fate(kind, self.name, skip, model, message, model_from=why)
            self._fates[key] = fate
        return fate

    def _runs_with(self, model: str, why: str, rerun: Rerun | None) -> Fate:
        """A marked test that runs: which model, and why it counts (made once per
        model, reason and rerun policy)."""
        key = ("runs", model, why, id(rerun))
        fate = self._fates.get(key)
        if fate is None:
            message = f"{model} ({why}) is not on {self.name}'s skiplist"
            fate = Fate(FateKind.RUN, self.name, None, model, message, rerun, why)
            self._fates[key] = fate
        return fate

    def _rerun_fate(self, rerun: Rerun) -> Fate:
        key = ("rerun", id(rerun))
        fate = self._fates.get(key)
        if fate is None:
            fate = self._fates[key] = Fate(FateKind.RUN, self.name, rerun=rerun)
        return fate


def entries_holding(platform: Platform, variant: str | None) -> tuple[Entry, ...]:
    """The entries that apply on a target: the one count of 'entries' every report
    gives (a platform file's declarations, each path or test id its own entry)."""
    return tuple(e for e in platform.entries if e.holds_on(variant))


def describe_entries(entries: Sequence[Entry]) -> str:
    """'16 entries: 12 ignores, 1 skip, 2 deselects, 0 flaky (3 expect an error)'."""
    kinds = {"ignore": "ignores", "skip": "skips", "deselect": "deselects"}
    kinds["flaky"] = "flaky"
    parts = []
    for kind, plural in kinds.items():
        n = sum(e.kind == kind for e in entries)
        parts.append(f"{n} {kind if n == 1 else plural}")
    expecting = sum(e.fails is not None for e in entries)
    text = f"{len(entries)} entries: {', '.join(parts)}"
    return text + (f" ({expecting} expect an error)" if expecting else "")


# -- names on the command line -------------------------------------------------------


def platform_named(workspace: Workspace, name: str) -> Platform | None:
    """The declared platform `name`; None for 'none' (no skiplist applies)."""
    if name == "none":
        return None
    if name not in workspace.platforms:
        raise UsageError(unknown("platform", name, [*workspace.platforms, "none"]))
    return workspace.platforms[name]


def variant_named(platform: Platform | None, name: str | None) -> Variant | None:
    """The declared variant `name` of a platform; None for the platform as a whole."""
    if name is None:
        return None
    if platform is None or name not in platform.variants:
        where = f"platform {platform.name}" if platform else "platform none"
        raise UsageError(
            unknown(f"variant of {where}", name, platform_variants(platform))
        )
    return platform.variants[name]


def platform_variants(platform: Platform | None) -> list[str]:
    return list(platform.variants) if platform is not None else []


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


def matches(variant: Variant, models: Sequence[str]) -> bool:
    """Whether detected devices (gfx targets, device names) are this variant's."""
    wanted = [m.lower() for m in variant.match]
    return any(w == m.lower() or w in m.lower() for w in wanted for m in models)


def target_variant(
    platform: Platform | None,
    requested: str | None,
    hardware: str,
    models: Sequence[str],
) -> Variant | None:
    """The variant whose entries apply too: the one asked for, else the variant the
    detected devices are (on the platform's own hardware), else none (platform-wide)."""
    if requested or platform is None:
        return variant_named(platform, requested)
    if platform.hardware != hardware:
        return None
    return next((v for v in platform.variants.values() if matches(v, models)), None)


def hardware_mismatch(
    platform: Platform | None,
    variant: Variant | None,
    hardware: str,
    models: Sequence[str],
    found: str,
) -> str | None:
    """Why strict mode refuses to run this target on this machine, or None."""
    if platform is None:
        return None
    if platform.hardware != hardware:
        return (
            f"--strict-platform: target platform '{platform.name}' needs "
            f"{platform.hardware} hardware, but this machine has {found}; "
            f"drop --strict-platform to simulate {platform.name} here"
        )
    if variant is not None and not matches(variant, models):
        wanted = ", ".join(variant.match) or "(the variant declares no 'match')"
        seen = ", ".join(models) or "devices whose model could not be read"
        return (
            f"--strict-platform: target variant '{platform.name}:{variant.name}' "
            f"needs {wanted}, but this machine has {seen}; drop --strict-platform "
            "to simulate it here"
        )
    return None


def gpus_to_lease(
    workspace: Workspace, platform: Platform, detect: Callable[[], Detection]
) -> int | None:
    """How many GPUs a session of `platform` may lease from, before TESTMATRIX_GPUS
    (which the lease inventory reads) overrides it: `[workspace] gpus`, else the
    detected devices when they are the platform's own. None: it leases no GPU."""
    if not platform.visible_devices_env:
        return None
    if workspace.gpus is not None:
        return workspace.gpus
    if os.environ.get("TESTMATRIX_GPUS"):
        return 0  # the inventory is the environment's; no need to probe
    detected = detect()
    return detected.devices if detected.hardware == platform.hardware else 0


# -- sessions ------------------------------------------------------------------------


def testmatrix_requirement(
    workspace: Workspace, origin: Origin, extras: str = ""
) -> str | None:
    """The pip requirement that installs the running testmatrix into a session's
    fresh virtualenv, beside the workspace's own `install`: the checkout it runs
    from, else the local file or directory it was installed from, else its version
    from the package index. None in testmatrix's own checkout, which `install`
    installs (a copy of it too: two testmatrix requirements would conflict)."""
    if is_own_project(workspace.root):
        return None
    name = DISTRIBUTION + (f"[{extras}]" if extras else "")
    if origin.source is not None:
        if origin.source.resolve() == workspace.root.resolve():
            return None
        return f"{name} @ {origin.source.resolve().as_uri()}"
    if origin.url is not None:
        return f"{name} @ {origin.url}"
    return f"{name}=={origin.version}"


def install_args(workspace: Workspace, origin: Origin, extras: str = "") -> list[str]:
    """What `nox -s SESSION` installs into a fresh virtualenv: the workspace's
    `install` arguments and the testmatrix that runs the session."""
    own = testmatrix_requirement(workspace, origin, extras)
    return [*workspace.install, *([own] if own else [])]


@dataclass(frozen=True)
class SessionKey:
    """What one session runs: a suite on a platform, or on one of its variants."""

    platform: str
    variant: str | None
    suite: str

    @property
    def name(self) -> str:
        return session_name(self.platform, self.suite, self.variant)

    @property
    def target(self) -> str:
        return target_name(self.platform, self.variant)


def runs_on(suite: Suite, target: Target) -> bool:
    """Whether the suite has a session on this target: everywhere unless it names
    platforms (`rocm`: the platform and all its variants) or variants (`rocm:mi355`)."""
    return suite_runs_on(suite.runs_on, target.platform.name, target.variant_name)


def no_session_fate(suite: Suite, target: Target) -> Fate:
    """What explain says of a suite's tests on a target it does not run on."""
    where = ", ".join(suite.runs_on or ())
    message = (
        f"suite {suite.name} has no session on {target.name}: it runs on {where} only "
        f"({suite.runs_on_reason}) [{suite.location}]"
    )
    return Fate(FateKind.NO_SESSION, target.name, message=message)


def sessions(workspace: Workspace) -> dict[str, SessionKey]:
    """Every session by name, in declaration order: each suite on each target it
    runs on (the order and names `nox -l` lists, from the same code)."""
    targets = [(t.platform.name, t.variant_name) for t in workspace.targets()]
    suites = [(s.name, s.runs_on) for s in workspace.suites.values()]
    keys = (SessionKey(p, v, s) for p, v, s in session_keys(targets, suites))
    return {key.name: key for key in keys}


def session_named(workspace: Workspace, name: str) -> SessionKey:
    """The session of a name as `nox -l` lists it."""
    known = sessions(workspace)
    if name not in known:
        raise UsageError(unknown("session", name, known))
    return known[name]


def session_argv(
    workspace: Workspace,
    platform: str,
    suite: str,
    *,
    variant: str | None = None,
    apply: bool = True,
) -> list[str]:
    """The pytest arguments that select a session's tests: the suite's paths and
    selection, the target, and the target's ignore and deselect flags for the suite
    (what a bare `pytest --platform P --suite S` run reproduces). testmatrix's own
    options are in their prefixed form, which exists whatever else is installed."""
    plat = platform_named(workspace, platform)
    var = variant_named(plat, variant)
    target = suite_named(workspace, suite)
    if plat is not None and not runs_on(target, Target(plat, var)):
        raise UsageError(no_session_fate(target, Target(plat, var)).message)
    argv = [*target.paths, opt.PLATFORM.flag(platform)]
    if variant is not None:
        argv.append(opt.VARIANT.flag(variant))
    argv.append(opt.SUITE.flag(suite))
    if target.markexpr:
        argv += ["-m", target.markexpr]
    if target.keyword:
        argv += ["-k", target.keyword]
    argv += target.args
    argv += [f"--ignore={e.target}" for e in target.excludes]
    if not apply:
        return argv + [opt.NO_SKIPLIST.long]
    if plat is None:
        return argv
    argv += [
        f"--ignore={e.target}{'/' if e.path.endswith('/') else ''}"
        for e in plat.ignores
        if e.suite == target.name and e.holds_on(variant) and e.fails is None
    ]
    argv += [
        f"--deselect={e.nodeid}"
        for e in plat.deselects
        if target.holds(e.nodeid.split("::", 1)[0])
        and e.holds_on(variant)
        and e.fails is None
    ]
    return argv


@dataclass(frozen=True)
class SessionCommand:
    """The complete command of one session: pytest's arguments and its environment."""

    key: SessionKey
    argv: tuple[str, ...]  # after `pytest`
    env: Mapping[str, str] = field(default_factory=dict)
    gpus: int = 1  # leased at once on a GPU platform
    applied: bool = True  # the skiplist applies (no --no-skiplist)

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def ignores(self) -> int:
        return sum(1 for a in self.argv if a.startswith("--ignore="))

    def as_dict(self) -> dict:
        return {"argv": list(self.argv), "env": dict(self.env)}


@dataclass(frozen=True)
class Sharding:
    """Parallel jobs: shard `shard_id` of `num_shards` (strings: may be $$VARs).

    Sessions always shard with testmatrix's own, prefixed options: exact (every test
    in one shard) and balanced by recorded durations, whether or not pytest-shard,
    which owns the short `--shard-id`, is installed."""

    shard_id: str
    num_shards: str

    def flags(self) -> list[str]:
        return [opt.SHARD_ID.flag(self.shard_id), opt.NUM_SHARDS.flag(self.num_shards)]


def conflicting_posarg(key: SessionKey, posargs: Sequence[str]) -> str | None:
    """Why an argument given after `--` would contradict the session, or None: the
    session fixes the platform, variant and suite, and its --ignore flags come from
    them."""
    fixed = {
        opt.PLATFORM.long: key.platform,
        opt.VARIANT.long: key.variant,
        opt.SUITE.long: key.suite,
    }
    for i, arg in enumerate(posargs):
        given, _, value = arg.partition("=")
        name = opt.canonical(given)
        if name == opt.SKIPLISTS.long:
            return (
                f"'{given}' after -- is not for sessions: their --ignore flags come "
                "from the workspace's own skiplists"
            )
        if name not in fixed:
            continue
        value = value or (posargs[i + 1] if i + 1 < len(posargs) else "")
        if value == fixed[name]:
            continue
        platform, variant, suite = key.platform, key.variant, key.suite
        if name == opt.PLATFORM.long:
            platform, variant = value, None  # variants belong to their platform
        elif name == opt.VARIANT.long:
            variant = value
        else:
            suite = value
        instead = session_name(platform, suite, variant)
        what = opt.BY_NAME[name].name
        mine = fixed[name] or "none (platform-wide)"
        return (
            f"'{given} {value}' after -- contradicts this session's {what} ({mine}), "
            f"whose --ignore flags it runs with; run nox -s {instead} instead"
        )
    return None


def _merge_expressions(argv: list[str], posargs: Sequence[str]) -> list[str]:
    """The user's -m/-k after `--` narrow the suite's own: pytest keeps only the last
    -m and -k it is given, so the two become one `(suite) and (user)` expression."""
    rest: list[str] = []
    given: dict[str, str] = {}
    i = 0
    while i < len(posargs):
        arg = posargs[i]
        if arg in ("-m", "-k") and i + 1 < len(posargs):
            given[arg] = posargs[i + 1]
            i += 2
            continue
        if arg[:2] in ("-m", "-k") and len(arg) > 2 and not arg.startswith("--"):
            given[arg[:2]] = arg[2:]
        else:
            rest.append(arg)
        i += 1
    out = list(argv)
    for flag, expression in given.items():
        if flag in out:
            index = out.index(flag) + 1
            out[index] = f"({out[index]}) and ({expression})"
        else:
            out += [flag, expression]
    return out + rest


def _canonical_args(posargs: Sequence[str]) -> list[str]:
    """The user's arguments with testmatrix's options in their prefixed form (given in
    either form), so the session means testmatrix's even where another plugin owns the
    short name (pytest-shard's --shard-id)."""
    out = []
    for arg in posargs:
        name, value = opt.split(arg)
        out.append(name if value is None else f"{name}={value}")
    return out


def _value_of(argv: Sequence[str], name: str) -> str | None:
    """The value an option (prefixed form) is given in argv, either as `--x=v` or
    `--x v`; the last one wins, as in pytest."""
    found = None
    for i, arg in enumerate(argv):
        given, value = opt.split(arg)
        if given == name:
            found = value if value is not None else (argv[i + 1 : i + 2] or [""])[0]
    return found


def report_paths(
    workspace: Workspace, key: SessionKey, shard: str | None
) -> ReportPaths:
    """Where a session writes its JUnit XML and summary: <reports_dir>/<session>/, and
    in a parallel job one file per shard (junit-K.xml, summary-K.json), since every
    job of a Buildkite step uploads into the same artifact paths."""
    directory = f"{workspace.reports_dir}/{key.name}"
    suffix = "" if shard is None else f"-{shard}"
    return ReportPaths(
        directory, f"{directory}/junit{suffix}.xml", f"{directory}/summary{suffix}.json"
    )


@dataclass(frozen=True)
class ReportPaths:
    directory: str
    junit: str
    summary: str


def session_command(
    workspace: Workspace,
    platform: str,
    suite: str,
    *,
    variant: str | None = None,
    posargs: Sequence[str] = (),
    sharding: Sharding | None = None,
    exists: Callable[[str], bool] | None = None,
) -> SessionCommand:
    """The one builder of a session's command: nox, Buildkite (either style),
    `testmatrix argv` and `sessions` all run exactly this.

    `posargs` are the user's extra pytest arguments (`nox -s S -- ...`); testmatrix's
    options among them may be in either form and are passed in the prefixed one;
    `--no-skiplist` turns the skiplist off. Reports go to <reports_dir>/<session>/
    (one file per shard when sharded) unless the user names their own. `exists`
    tells whether a workspace-relative file exists (default: look in the workspace);
    it decides whether recorded durations balance the shards.
    """
    key = SessionKey(platform, variant, suite)
    conflict = conflicting_posarg(key, posargs)
    if conflict:
        raise UsageError(conflict)
    the_suite = suite_named(workspace, suite)
    posargs = _canonical_args(posargs)
    off = opt.NO_SKIPLIST.long
    apply = off not in posargs
    argv = session_argv(workspace, platform, suite, variant=variant, apply=apply)
    argv = _merge_expressions(argv, [a for a in posargs if a != off])
    if sharding is not None:
        argv += sharding.flags()
    given = {opt.split(a)[0] for a in argv}
    reports = report_paths(workspace, key, _value_of(argv, opt.SHARD_ID.long))
    if "--junitxml" not in given and "--junit-xml" not in given:
        argv.append(f"--junitxml={reports.junit}")
    durations = the_suite.durations
    if exists is None:
        root = workspace.root
        exists = lambda rel: os.path.isfile(os.path.join(root, rel))  # noqa: E731
    balance = opt.NUM_SHARDS.long in given and opt.DURATIONS.long not in given
    if balance and durations and exists(durations):
        argv.append(opt.DURATIONS.flag(durations))  # balance shards by time
    if opt.SUMMARY.long not in given:
        argv.append(opt.SUMMARY.flag(reports.summary))
    env = {k: str(v) for k, v in the_suite.env.items()}
    return SessionCommand(key, tuple(argv), env, the_suite.gpus, apply)
