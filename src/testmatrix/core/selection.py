"""A suite's own selection of a test: its paths, excludes, -m and -k, before any
platform entry applies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from testmatrix.core.fate import Fate, FateKind, TestCase
from testmatrix.core.model import Suite, path_holds
from testmatrix.core.names import (
    session_name as session_name,  # named once, for nox -l too
)
from testmatrix.errors import UsageError

if TYPE_CHECKING:
    from testmatrix.core.expression import Expression


class Selection:
    """A suite's own choice of tests, on every platform: its paths minus its excludes,
    narrowed by its -m and -k expressions (evaluated as pytest evaluates them)."""

    def __init__(self, suite: Suite):
        self.suite = suite
        # node ids among the paths: the file is held, only those tests selected
        self._ids = tuple(p for p in suite.paths if "::" in p)
        self._whole = tuple(p for p in suite.paths if "::" not in p)
        self.narrows = bool(
            suite.excludes or suite.markexpr or suite.keyword or self._ids
        )
        self._markexpr = self._compile("markexpr", suite.markexpr)
        self._by_marks: dict[tuple[frozenset[str], str], Fate | None] = {}
        self._keyword = self._compile("keyword", suite.keyword)

    def _compile(self, key: str, text: str | None) -> Expression | None:
        if not text:
            return None
        # the grammar loads only for a suite with -m or -k (a bare run has none)
        from testmatrix.core.expression import Expression, ExpressionError

        try:
            parsed = Expression.compile(text)
            if key == "keyword" and parsed.calls:
                raise ExpressionError(1, "-k takes no arguments: name(...)")
        except ExpressionError as exc:
            raise UsageError(
                f"{self.suite.location}: suite {self.suite.name}'s {key} '{text}' is "
                f"not a pytest expression: {exc.message} (column {exc.column})"
            ) from None
        return parsed

    @property
    def reads_arguments(self) -> bool:
        """Whether -m names markers with keyword arguments (`name(k=v)`): the
        tests' marks' arguments are then read too."""
        return self._markexpr is not None and self._markexpr.calls

    @property
    def by_expression(self) -> bool:
        """Whether -m, -k or a node id narrows the suite: a choice per test, not
        per file."""
        return (
            self._markexpr is not None or self._keyword is not None or bool(self._ids)
        )

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
        if self._ids and not self._named(test.nodeid):
            why = f"not in suite {suite.name}: it names other tests of {test.path}"
            return Fate(FateKind.NOT_IN_SUITE, target, message=why)
        if self._markexpr is not None:
            fate = self._by_markexpr(test, target)
            if fate is not None:
                return fate
        keyword = self._keyword
        if keyword is None:
            return None
        from testmatrix.core.expression import keywords_matcher

        if not keyword.evaluate(keywords_matcher(test.keywords or ())):
            why = f"not in suite {suite.name}: -k '{suite.keyword}' deselects it"
            return Fate(FateKind.NOT_IN_SUITE, target, message=why)
        return None

    def _named(self, nodeid: str) -> bool:
        """Whether a node id path (or a whole path) of the suite selects the test,
        as pytest's own node id arguments do (a prefix up to a '::' or '[')."""
        if any(path_holds(p, nodeid.split("::", 1)[0]) for p in self._whole):
            return True
        return any(
            nodeid == i or nodeid.startswith(i + "::") or nodeid.startswith(i + "[")
            for i in self._ids
        )

    def _by_markexpr(self, test: TestCase, target: str) -> Fate | None:
        """NOT_IN_SUITE where the suite's -m deselects the test (decided once per
        set of marker names where the expression has no arguments)."""
        assert self._markexpr is not None
        why = f"not in suite {self.suite.name}: -m '{self.suite.markexpr}' deselects it"
        if self._markexpr.calls:
            from testmatrix.core.expression import marks_matcher

            if self._markexpr.evaluate(marks_matcher(test.mark_args or {})):
                return None
            return Fate(FateKind.NOT_IN_SUITE, target, message=why)
        marks = test.marks or frozenset()
        key = (marks, target)  # -m reads the marker names alone: many tests share
        if key in self._by_marks:
            return self._by_marks[key]
        from testmatrix.core.expression import names_matcher

        fate = None
        if not self._markexpr.evaluate(names_matcher(marks)):
            fate = Fate(FateKind.NOT_IN_SUITE, target, message=why)
        self._by_marks[key] = fate
        return fate
