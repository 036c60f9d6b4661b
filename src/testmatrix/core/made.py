"""The fates a target's rules make (`Rules` is a `MadeFates`): each is made once
and shared by every test it decides (a deselect's, a skip's for one model, a
rerun suite's), or, for a function's deselects, made when first asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from testmatrix.core.fate import Fate, FateKind, Rerun, TestCase
from testmatrix.core.model import DeselectEntry, Entry, SkipEntry, Suite

_ANY = TestCase("", "")  # what `_deselected` and `_expected` never read


class MadeFates:
    """What makes the fates of one target's rules (its name), each once."""

    def __init__(self, name: str):
        self.name = name
        self._fates: dict[tuple[object, ...], Fate] = {}  # shared by many tests
        self._rerun_runs: dict[str, tuple[Rerun, Fate]] = {}  # by suite

    def _suite_runs(self, suite: Suite) -> tuple[Rerun, Fate]:
        """A rerun suite's policy, and the fate of its tests that no entry decides."""
        found = self._rerun_runs.get(suite.name)
        if found is None:
            rerun = Rerun(suite.reruns or 0, suite.reruns_delay, suite=suite.name)
            found = (rerun, Fate(FateKind.RUN, self.name, rerun=rerun))
            self._rerun_runs[suite.name] = found
        return found

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

    def deselected_fate(self, entry: DeselectEntry) -> Fate:
        """A deselect's fate, as `_deselected` makes it (no test is needed)."""
        return self._deselected(_ANY, entry)

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


class DeselectFates(Sequence[Fate]):
    """The fates of a function's deselects, by index, each made on first use
    (`Rules._deselected`: once per entry)."""

    __slots__ = ("entries", "rules", "test")

    def __init__(
        self, rules: MadeFates, test: TestCase, entries: tuple[DeselectEntry, ...]
    ):
        self.rules = rules
        self.test = test
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> Fate: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Fate]: ...
    def __getitem__(self, index: int | slice) -> Fate | Sequence[Fate]:
        if isinstance(index, slice):
            return [self.rules._deselected(self.test, e) for e in self.entries[index]]
        return self.rules._deselected(self.test, self.entries[index])
