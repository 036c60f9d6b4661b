"""Which values are a test's models: named on its marker, its parameters' (records'
fields included) and the module constants it or its fixtures name.

A value counts where the skiplists list it (wherever it is), or where its name says
it carries a model (`model_params`) and it looks like a model id (`model_pattern`);
a value shaped like org/name under any other name (a dataset id) is never taken.
Each reason says where the model was found, for explain and skip messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from testmatrix.core.fate import TestCase
from testmatrix.core.model import Workspace

if TYPE_CHECKING:
    from testmatrix.core.saferegex import SafePattern

Found = tuple[tuple[str, str], ...]  # (model, where it was found and why)


def _compiled(pattern: str, default: str) -> SafePattern | re.Pattern[str]:
    """A pattern from the skiplists, run by saferegex in time linear in the value
    whatever it holds; the workspace's own default (not data: no nested
    quantifier, nothing for `re` to backtrack over) by Python's `re`, whose
    compiling and matching are C's (saferegex's automaton is built in Python at
    every run's first unlisted value). Both answer alike (a test compares them)."""
    if pattern == default:
        return re.compile(pattern)
    from testmatrix.core.saferegex import compile_safe  # not at start-up

    return compile_safe(pattern)


# what a string value can be (ModelFinder.value_kind): a model under any name
# (listed in the skiplists), one under a model's name only (shaped like a model
# id), or never one
MODEL, MAYBE, NOT = 1, 2, 0


class ModelFinder:
    """One workspace's model rule, with its answers cached (parameters repeat)."""

    def __init__(self, workspace: Workspace):
        self.known = workspace.known_models
        self._patterns = (workspace.model_pattern, workspace.model_params)
        self._by_value: dict[tuple[str, str], str | None] = {}
        self._by_params: dict[object, Found] = {}
        # value_kind's answers by value (a caller with a loop per test looks
        # here first: a lookup in C, not a call), model_name's by name
        self.kinds: dict[str, int] = {}
        self._model_names: dict[str, bool] = {}

    # compiled when a value is first judged by them (most runs need neither: a
    # listed model, or no marked test, decides without them)
    @cached_property
    def model_re(self) -> SafePattern | re.Pattern[str]:
        return _compiled(self._patterns[0], Workspace.model_pattern)

    @cached_property
    def params_re(self) -> SafePattern | re.Pattern[str]:
        return _compiled(self._patterns[1], Workspace.model_params)

    def rule(self, name: str, value: str) -> str | None:
        """Why a parameter value counts as the test's model, or None."""
        key = (name, value)
        why = self._by_value.get(key, "")
        if why == "":  # not decided yet
            # where it was found: a record's field ('model_info.name'), or the
            # parameter itself (a value under no name: a marker's argument)
            what = "record field" if "." in name else "parameter"
            where = f"{what} '{name}'" if name else ""
            kind = self.value_kind(value)
            if kind == MODEL:
                listed = "listed in the skiplists"
                why = f"{where}, {listed}" if where else listed
            elif kind == MAYBE and self.model_name(name):
                why = where
            else:
                why = None
            self._by_value[key] = why
        return why

    def value_kind(self, value: str) -> int:
        """MODEL, MAYBE or NOT (the rule's half that reads the value), once per
        value."""
        kind = self.kinds.get(value)
        if kind is None:
            if value in self.known:
                kind = MODEL
            elif self.model_re.match(value):
                kind = MAYBE
            else:
                kind = NOT
            self.kinds[value] = kind
        return kind

    def model_name(self, name: str) -> bool:
        """Whether a parameter (or record field) of this name carries a model (the
        rule's half that reads the name), once per name."""
        found = self._model_names.get(name)
        if found is None:
            found = self._model_names[name] = bool(self.params_re.search(name))
        return found

    def in_params(self, test: TestCase) -> Found:
        """The values of a test's parameters that are its models, with why."""
        return self.in_values(test.params, test.param_names)

    def in_values(self, params: tuple[str, ...], names: tuple[str, ...]) -> Found:
        """`in_params` from the values and their names (once per combination of
        values: a parametrization repeats them)."""
        key = (params, names)
        found = self._by_params.get(key)
        if found is None:
            names = names or ("",) * len(params)
            pairs = zip(names, params, strict=True)
            found = tuple(
                (value, why)
                for name, value in pairs
                if (why := self.rule(name, value)) is not None
            )
            self._by_params[key] = found
        return found

    def in_constants(self, test: TestCase) -> Found:
        """The module constants the test or its fixtures name that hold models:
        listed, or a model-shaped value under a model-like name (MODEL_NAME)."""
        return tuple(
            (value, f"module constant {name} at {where}")
            for value, name, where in test.constants
            if value in self.known
            or (self.params_re.search(name.lower()) and self.model_re.match(value))
        )


def models_of(
    test: TestCase, marker: str, finder: ModelFinder
) -> Sequence[tuple[str, str]]:
    """The models a marked test uses, each with why it counts: named on the marker,
    else its parameters' values that the rule takes, else its module constants'."""
    named = [m for use in test.markers if use.name == marker for m in use.models]
    if named:
        return [(m, "named on the marker") for m in named]
    return finder.in_params(test) or finder.in_constants(test)
