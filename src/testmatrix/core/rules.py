"""The fate of each test on one target (Rules): the entries that hold there, decided
once per file, function or test."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from functools import cached_property
from itertools import count, filterfalse
from operator import attrgetter

from testmatrix.core.fate import Fate, FateKind, Rerun, TestCase
from testmatrix.core.holding import describe_entries as describe_entries
from testmatrix.core.holding import entries_holding as entries_holding
from testmatrix.core.holding import holding
from testmatrix.core.made import DeselectFates, MadeFates
from testmatrix.core.model import (
    DeselectEntry,
    Entry,
    Exclude,
    FlakyEntry,
    IgnoreEntry,
    Platform,
    SkipEntry,
    Suite,
    Workspace,
)
from testmatrix.core.models import ModelFinder, models_of
from testmatrix.core.names import session_name as session_name  # re-exported
from testmatrix.core.names import suite_runs_on
from testmatrix.core.nodeids import (
    DeselectLookup,
    MarkedIds,
    by_file,
    literal_prefix,
    params_at,
)
from testmatrix.core.nodeids import IdsBelow as IdsBelow  # re-exported
from testmatrix.core.record import NamedTuple
from testmatrix.core.runs import named_view

_FAILS = attrgetter("fails")  # an entry's expected error (a record: true), or None
_NODEID = attrgetter("nodeid")
_NEW = tuple.__new__


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


def _flaky_near(file: _File, prefix: str) -> bool:
    """Whether a flaky pattern of the file may match an id starting with prefix."""
    return any(lit[: len(prefix)] == prefix[: len(lit)] for *_, lit in file.flaky)


def _folders(path: str) -> list[str]:
    """The folders holding a relative posix path, innermost first, then "." (as
    PurePosixPath.parents, without building paths)."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)] + ["."]


class Rules(MadeFates):
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
        run: int | None = None,
    ):
        self.workspace = workspace
        self.platform = platform
        self.variant = variant
        name = platform.name if platform else "none"
        super().__init__(name if variant is None else f"{name}:{variant}")
        self.apply = apply and platform is not None
        # the suite as this session's pytest process runs it: one run, on the target
        self.suite = named_view(workspace, suite, platform, variant, run)
        # which parameter values and constants are a test's models (models.py)
        self.models = ModelFinder(workspace)
        self.model_rule = self.models.rule
        self.models_in = self.models.in_params
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
        self._ignore_cache: dict[str, IgnoreEntry | None] = {}
        self._files: dict[str, _File] = {}
        self._folder_facts: dict[
            str, tuple[IgnoreEntry | None, tuple[DeselectEntry, ...]]
        ] = {}
        self._deselect_lookups: dict[str, DeselectLookup] = {}
        self._flaky_prefixes: tuple[tuple[FlakyEntry, Rerun, str], ...] = ()
        self._listing: dict[str, list[tuple[int, SkipEntry]]] | None = None
        if self.suite is not None:  # its paths, -m and -k: loaded only for a suite
            from testmatrix.core.selection import Selection
        self._selection = Selection(self.suite) if self.suite is not None else None
        # bare pytest (no suite) on a platform: what no session on this target runs
        # stays out, as the sessions leave it out (a suite for other platforms only)
        self.sessionless: tuple[Suite, ...] = ()
        if self.suite is None and platform is not None and self.apply:
            self.sessionless = tuple(
                s
                for s in workspace.suites.values()
                if not suite_runs_on(s.runs_on, platform.name, variant)
            )
        self._by_expression = (
            self._selection is not None and self._selection.by_expression
        )
        if platform is not None and self.apply:
            # suites may share a directory: a named suite applies only its own ignores
            on = self.suite  # each kind's entries holding here (`entries_holding`)
            ignores = holding(platform.ignores, variant, on)
            self.ignores = {e.target: e for e in ignores}
            self.deselects = holding(platform.deselects, variant, on)
            self.flaky = holding(platform.flaky, variant, on)
            self._flaky_prefixes = tuple(
                (e, Rerun(e.reruns, e.delay, entry=e), literal_prefix(e.pattern))
                for e in self.flaky
            )
            for entry in holding(platform.skips, variant, on):
                self.skips.setdefault(entry.marker, []).append(entry)
                index = self.skip_index.setdefault(entry.marker, {})
                for model in entry.models:
                    # a skip that keeps the test out wins over one expecting it to
                    # fail (PRECEDENCE); else the first declared
                    first = index.get(model)
                    if first is None or (first.fails and entry.fails is None):
                        index[model] = entry

    @property
    def selects(self) -> bool:
        """Whether the suite's own selection can leave a test out (beyond its paths,
        which pytest is given): excludes, -m or -k."""
        return self._selection is not None and self._selection.narrows

    @property
    def reads_mark_arguments(self) -> bool:
        """Whether the suite's -m reads the marks' keyword arguments (name(k=v))."""
        return self._selection is not None and self._selection.reads_arguments

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
            self.sessionless
            or self.ignores
            or self.deselects
            or self.skips
            or self.selects
            or (self.apply and (self.flaky or self.rerun_suites))
        )

    def overlap(self, test: TestCase) -> tuple[Entry, Entry] | None:
        """(the entry that keeps the test out, an entry expecting it to fail that
        it overrides), where both name the test (PRECEDENCE); for lint."""
        if not self.apply:
            return None
        keep: list[Entry] = []
        expect: list[Entry] = []
        ignore = self.ignore_for(test.path)
        named: list[Entry] = [ignore] if ignore is not None else []
        named += [e for e in self.deselects if test.nodeid.startswith(e.nodeid)]
        for use in test.markers:
            for skip in self.skips.get(use.name, ()):
                models = models_of(test, use.name, self.models)
                if any(model in skip.models for model, _ in models):
                    named.append(skip)
        for entry in named:
            (keep if entry.fails is None else expect).append(entry)
        return (keep[0], expect[0]) if keep and expect else None

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
        return by_file(self.deselects)

    @cached_property
    def deselect_order(self) -> dict[int, int]:
        """Each deselect's place in declaration order, by its id (the rules hold
        their entries; hashing an entry hashes all its fields)."""
        return dict(zip(map(id, self.deselects), count()))  # in C

    def _in_precedence(
        self, entries: Sequence[DeselectEntry], in_order: bool = False
    ) -> tuple[DeselectEntry, ...]:
        """As declared, those that keep a test out before those expecting a failure
        (PRECEDENCE): the first that matches decides."""
        if in_order:  # one folder's or file's: as declared already
            first = list(filterfalse(_FAILS, entries))  # in C: a file may have
            if len(first) < len(entries):  # thousands
                first += filter(_FAILS, entries)
            return tuple(first)
        order = self.deselect_order
        return tuple(sorted(entries, key=lambda e: (e.fails is not None, order[id(e)])))

    def _file(self, test: TestCase) -> _File:
        """The decisions shared by every test of the test's file, made once."""
        path = test.path
        left_out = None
        if self._selection is not None:
            left_out = self._selection.leaves_out_path(path, self.name)
        elif self.sessionless:
            left_out = self._no_session(path)
        decided: Fate | None = None if self.apply else self.runs
        folder, _, _ = path.rpartition("/")
        near_folders = self._folder_facts.get(folder)
        if near_folders is None:  # what the file's folders say, once per folder
            near_folders = self._folder_facts[folder] = self._folder(path)
        folder_ignore, folder_deselects = near_folders
        ignore = None
        if self.apply and self.ignores:
            ignore = self.ignores.get(path) or folder_ignore
        expected: Fate | None = None  # an ignore expecting the file's tests to fail
        if ignore is not None:
            if ignore.fails is not None:
                expected = self._expected(test, ignore)
            else:
                message = f"{ignore.target} is ignored on {self.name}: {ignore.cite()}"
                decided = Fate(FateKind.IGNORED, self.name, ignore, message=message)
        own = self.deselect_index.get(path, ()) if self.deselects else ()
        deselects: tuple[DeselectEntry, ...] = folder_deselects
        if own:
            deselects = self._in_precedence(
                (*own, *folder_deselects), in_order=not folder_deselects
            )
        # node ids of one file share their file part: the prefix a flaky pattern
        # must agree with to match any test here
        flaky: tuple[tuple[FlakyEntry, Rerun, str], ...] = ()
        if self._flaky_prefixes and self.apply:
            head = test.nodeid.split("::", 1)[0] + "::"
            flaky = tuple(
                (e, rerun, lit)
                for e, rerun, lit in self._flaky_prefixes
                if lit[: len(head)] == head[: len(lit)]
            )
        rerun = None
        runs = self.runs
        if self.apply:
            for suite in self.rerun_suites:
                if suite.reruns and suite.holds(path):
                    # one policy and one fate per suite: its files' tests share them
                    rerun, runs = self._suite_runs(suite)
                    break
        if expected is not None:  # what no other entry decides here must fail
            runs, rerun = expected, None
        ids = tuple(map(_NODEID, deselects))
        made = (left_out, decided, deselects, ids, flaky, rerun, runs)
        file: _File = _NEW(_File, made)  # in C: one per collected file
        self._files[path] = file
        return file

    def _folder(
        self, path: str
    ) -> tuple[IgnoreEntry | None, tuple[DeselectEntry, ...]]:
        """What the folders holding a file say of every file in them: the ignore
        covering them (innermost first), and the deselects whose id names one of
        them (in precedence order)."""
        folders = _folders(path)
        ignore = None
        if self.apply and self.ignores:
            ignore = next(
                (e for f in folders if (e := self.ignores.get(f)) is not None), None
            )
        near: tuple[DeselectEntry, ...] = ()
        if self.deselects:
            index = self.deselect_index
            near_by = [index[where] for where in folders if where in index]
            found = [e for entries in near_by for e in entries]
            near = self._in_precedence(found, in_order=len(near_by) <= 1)
        return ignore, near

    def _no_session(self, path: str) -> Fate | None:
        """NO_SESSION where suites select the file but none of them has a session
        on this target (bare pytest only; a file no suite holds runs as it is)."""
        holding = [
            s
            for s in self.workspace.suites.values()
            if s.holds(path) and s.exclude_for(path) is None
        ]
        if not holding or any(s not in self.sessionless for s in holding):
            return None
        why = "; ".join(
            f"suite {s.name} runs on {', '.join(s.runs_on or ())} only "
            f"({s.runs_on_reason}) [{s.location}]"
            for s in holding
        )
        message = f"no session on {self.name} runs {path}: {why}"
        return Fate(FateKind.NO_SESSION, self.name, message=message)

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

    def ids_decide(self, test: TestCase) -> bool:
        """Whether the node ids of the test's file can change a fate (deselects or
        flaky patterns near it, or the suite's -m/-k): else a marked test's fate
        follows from its markers, parameters and constants alone."""
        if self._by_expression:
            return True
        file = self._files.get(test.path) or self._file(test)
        return bool(file.deselects or file.flaky)

    def by_id(self, test: TestCase) -> DeselectEntry | bool:
        """What the test's node id decides of its fate: False where nothing (no
        deselect or flaky pattern names it, and the suite's -m/-k does not choose):
        a marked test's fate then follows from its file, markers, parameters and
        constants alone, as in a file where `ids_decide` is False; its fate where
        a deselect expecting no error leaves it out, whatever else it carries;
        True where the rest of the test must be read too."""
        if self._by_expression:
            return True
        file = self._files.get(test.path) or self._file(test)
        if file.deselects:
            entry = self.deselect_for(test)
            if entry is not None:
                if entry.fails is None and file.left_out is file.decided is None:
                    return entry  # its fate is what `fate` gives
                return True
        return bool(file.flaky) and self.rerun_for(test) is not file.rerun

    def ids_may_name(self, test: TestCase) -> bool:
        """Whether a deselect or flaky pattern may name a test whose node id starts
        with `test.nodeid` (a function's), or the suite's -m/-k chooses: where not,
        `by_id` is False for each of them."""
        if self._by_expression:
            return True
        file = self._files.get(test.path) or self._file(test)
        prefix = test.nodeid
        ids = file.deselect_ids
        named = any(prefix.startswith(i) or i.startswith(prefix) for i in ids)
        return named or _flaky_near(file, prefix)

    def marked_ids(self, test: TestCase) -> MarkedIds | None:
        """`by_id` of each test whose id is the function part `test.nodeid` and a
        rest ('' or '[params]'), from that rest, once per function; None where each
        whole id must be asked (-m/-k, a flaky pattern near, [params] in it)."""
        file = self._files.get(test.path) or self._file(test)
        prefix = test.nodeid
        # no flaky pattern near: by_id's rerun_for gives each the file's rerun
        if self._by_expression or params_at(prefix) >= 0 or _flaky_near(file, prefix):
            return None
        below = self._lookup(test.path, file).ids_below(prefix, (), self.runs, ())
        return MarkedIds(below, file.deselects, file.left_out is file.decided is None)

    def marked_runs(self, test: TestCase) -> Fate | None:
        """For a marked test that no node id decides (`by_id`) and no skip
        of its markers lists a model of: what it does, for the collection (it
        runs, with its file's reruns; which model it runs with is in its full
        fate). None where the file or the suite's -m/-k decides otherwise. The
        full fate of such a test follows from this fate, its marker uses and the
        models they and its parameters name (else its module constants): files
        with the same marked_runs decide such tests alike."""
        if self._by_expression:
            return None
        file = self._files.get(test.path) or self._file(test)
        if (
            file.left_out is not None
            or file.decided is not None
            or file.runs.kind is not FateKind.RUN
        ):
            return None
        return file.runs

    def group_fate(self, test: TestCase) -> Fate | IdsBelow | None:
        """The fate every test with no marker a skip names gets whose node id starts
        with `test.nodeid` (a function's, without [params]: its parametrizations),
        whatever the rest of its id: what `fate` gives each of them; where deselects
        name some of them, what decides each from the rest of its id (`IdsBelow`).
        None where a flaky pattern may match some of them, the suite's -m/-k
        chooses, or the prefix has [params] itself."""
        file = self._unmarked_file(test)
        if not isinstance(file, _File):
            return file
        prefix = test.nodeid
        otherwise, lookup = file.runs, None
        if file.deselects:
            if params_at(prefix) >= 0:
                return None  # each test's whole id decides
            lookup = self._lookup(test.path, file)
            first = lookup.head_first(prefix)  # the first id prefixing them all
            if first < lookup.size:
                otherwise = self._deselected(test, file.deselects[first])
        if otherwise is file.runs and _flaky_near(file, prefix):
            return None  # a test no deselect names may be flaky: a pattern may match
        if lookup is None or not lookup.names_some(prefix):
            return otherwise
        fates = DeselectFates(self, test, file.deselects)  # each made when asked
        return lookup.ids_below(prefix, fates, otherwise, file.deselects)

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
        if not file.deselects:
            return None
        lookup = self._deselect_lookups.get(test.path) or self._lookup(test.path, file)
        index = lookup.first(test.nodeid)
        return None if index is None else file.deselects[index]

    def _lookup(self, path: str, file: _File) -> DeselectLookup:
        """The file's deselect ids, indexed once (`deselect_for`, `group_fate`):
        thousands of ids in one file cost no more per test."""
        lookup = self._deselect_lookups.get(path)
        if lookup is None:
            lookup = self._deselect_lookups[path] = DeselectLookup(file.deselect_ids)
        return lookup

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

    def fate(self, test: TestCase) -> Fate:
        """Decide one test's fate (PRECEDENCE): an entry that keeps the test from
        running (ignore, deselect, skip, in that order) wins over one that expects
        it to fail (`fails`: the test runs), which wins over flaky; a test that runs
        carries its rerun policy. With a suite, its selection comes first:
        partitioning is not a platform decision. What a test shares with its file is
        decided once per file."""
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
        expected: Fate | None = None  # an expectation a skip may still override
        if file.deselects:
            entry = self.deselect_for(test)
            if entry is not None:
                fate = self._deselected(test, entry)
                if entry.fails is None or not test.markers:
                    return fate
                expected = fate
        if not test.markers:
            if not file.flaky or file.runs.kind is FateKind.EXPECTED_FAIL:
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
            models = models_of(test, use.name, self.models)
            if not models:
                missing = missing or self.skips[use.name][0]
                continue
            for model, why in models:
                skip = index.get(model)
                if skip is not None:
                    fate = self._skipped(test, skip, model, why)
                    if skip.fails is None:
                        return fate  # keeps the test out: wins (PRECEDENCE)
                    expected = expected or fate
            decided = decided or models[0]
        if expected is None and file.runs.kind is FateKind.EXPECTED_FAIL:
            expected = file.runs  # the file's ignore expects it to fail
        if expected is not None:
            return expected
        rerun = self.rerun_for(test) if file.flaky else file.rerun
        if missing is not None:
            # no model found: the test runs, as one whose model is on no list runs
            # (lint reports it: the skiplist cannot decide it)
            message = (
                f"{test.nodeid} is marked '{missing.marker}' but its model cannot be "
                f"determined from its parameters or the module constants it uses, so "
                f"it runs on {self.name}; name it on the marker: "
                f'@pytest.mark.{missing.marker}(model="org/name") [{missing.location}]'
            )
            named, why_named = decided if decided is not None else (None, None)
            kind = FateKind.RUN
            return Fate(
                kind, self.name, None, named, message, rerun, why_named, missing
            )
        if decided is not None:  # say which model the marked test runs with, and why
            return self._runs_with(decided[0], decided[1], rerun)
        if rerun is not None:
            return file.runs if rerun is file.rerun else self._rerun_fate(rerun)
        return self.runs
