"""The skiplists' -m/-k check accepts exactly what pytest's own parser accepts."""

from __future__ import annotations

import pytest
from _pytest.mark.expression import Expression

from testmatrix.core.expression import ExpressionError, check

EXPRESSIONS = [
    "",
    "slow",
    "not slow",
    "not multi_gpu and (core_model or distributed)",
    "test_x[a-b] or tests/unit/test_y.py::T",
    "mark(x=1)",
    "mark(x='a', y=-2, z=True)",
    'mark(x="a b")',
    "a and",
    "or",
    "not",
    "(a or b",
    "a b",
    "a)",
    "mark(1=2)",
    "mark(x=y)",
    "mark(x=1,)",
    "a @ b",
    "'quoted'",
    "and or not",
    "not not a",
    "a or or b",
]


def _pytest_accepts(text: str) -> bool:
    try:
        Expression.compile(text)
    except Exception:  # ParseError (SyntaxError in older pytest)
        return False
    return True


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_agrees_with_pytest(text):
    try:
        check(text)
        ours = True
    except ExpressionError:
        ours = False
    assert ours == _pytest_accepts(text)


def test_errors_name_the_column_and_what_was_found():
    with pytest.raises(ExpressionError) as info:
        check("not slow and")
    assert (info.value.column, info.value.message) == (
        13,
        "expected not, ( or an identifier; found end of input",
    )
