"""Pure planning: the complete command of a session, and the fate of one test.

Everything that must agree (nox sessions, Buildkite steps, the pytest plugin, explain,
lint, audit, `testmatrix argv`) calls these functions; none of them reads TOML or
touches pytest, and no adapter decides anything these functions decide.
"""

from __future__ import annotations

from testmatrix.core.fate import Fate, FateKind, TestCase
from testmatrix.core.model import (
    Suite,
)
from testmatrix.core.names import (
    session_name as session_name,  # named once, for nox -l too
)
from testmatrix.errors import UsageError


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
