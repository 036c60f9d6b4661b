"""testmatrix's -m/-k expressions parse, select and refuse exactly as pytest's own
(`_pytest.mark.expression`, the one the running pytest has), on edge cases and on
thousands of generated expressions and matchers."""

from __future__ import annotations

import random

import pytest
from _pytest.mark import KeywordMatcher, MarkMatcher
from _pytest.mark.expression import Expression as PytestExpression

from testmatrix.core.expression import (
    Expression,
    ExpressionError,
    check,
    keywords_matcher,
    marks_matcher,
)

EDGE_CASES = [
    "",
    "slow",
    "not slow",
    "not multi_gpu and (core_model or distributed)",
    "test_x[a-b] or tests/unit/test_y.py::T",
    "mark(x=1)",
    "mark(x='a', y=-2, z=True)",
    'mark(x="a b")',
    "mark (x=1)",
    "mark(x=1 , y=None)",
    "mark(x='')",
    "mark(match=1)",  # a soft keyword is a name
    "mark(x=٣)",  # a digit int() takes
    "mark(x=²)",  # a digit int() refuses
    "mark(if=1)",
    "mark(x=1, x=2)",
    "mark(x='a\\b')",
    "mark(x='a)",
    "mark()",
    "mark(x=1,)",
    "mark(1=2)",
    "mark(x=y)",
    "mark(x=--1)",
    "mark(x=1.5)",
    "a and",
    "or",
    "not",
    "(a or b",
    "a b",
    "a)",
    "a @ b",
    "'quoted'",
    "and or not",
    "not not a",
    "a or or b",
    "a\nb",
    "a\tand\tb",
    "True or None",
    "é or ü",
    "x\\y",
    "(" * 50 + "a" + ")" * 50,
]


def _pytest_compiles(text: str) -> PytestExpression | None:
    try:
        return PytestExpression.compile(text)
    except Exception:  # SyntaxError (ParseError before pytest 9), ValueError
        return None


def _ours(text: str) -> Expression | None:
    try:
        return Expression.compile(text)
    except ExpressionError:
        return None


@pytest.mark.parametrize("text", EDGE_CASES)
def test_accepts_what_pytest_accepts(text):
    assert (_ours(text) is None) == (_pytest_compiles(text) is None)
    try:
        check(text)
        checked = True
    except ExpressionError:
        checked = False
    assert checked == (_pytest_compiles(text) is not None)


def test_errors_name_the_column_and_what_was_found():
    with pytest.raises(ExpressionError) as info:
        check("not slow and")
    assert (info.value.column, info.value.message) == (
        13,
        "expected not, ( or an identifier; found end of input",
    )
    with pytest.raises(ExpressionError) as info:
        check("m(x=1, x=2)")
    assert (info.value.column, info.value.message) == (
        8,
        "keyword argument repeated; found 'x'",
    )


def test_keyword_expressions_take_no_arguments():
    check("model(name='a')")
    with pytest.raises(ExpressionError, match="take no arguments"):
        check("model(name='a')", arguments=False)


def test_an_empty_expression_selects_nothing():
    assert Expression.compile("").evaluate(lambda name, **kw: True) is False


# The generator's pieces: identifiers, keys and values that the grammar accepts and
# some it refuses, so both sides of every rule are tried.
IDENTS = ["a", "b", "slow", "Slow", "multi_gpu", "x[1-2]", "t.py::T", "a/b", "-x"]
IDENTS += ["1", "True", "None", "é", "ora", "nota", "and_", "A"]
KEYS = ["x", "y", "model", "x", "if", "1x", "match"]
VALUES = ["1", "-2", "0", "'s'", '"t t"', "''", "True", "False", "None", "q", "1.5"]
PARSED = [1, -2, 0, "s", "t t", "", True, False, None, "q"]
NOISE = "()=,'\" \tab-:./[]\\@\nor"


def _atom(rng: random.Random) -> str:
    ident = rng.choice(IDENTS)
    if rng.random() < 0.25:
        pairs = [
            f"{rng.choice(KEYS)}={rng.choice(VALUES)}" for _ in range(rng.randint(1, 3))
        ]
        ident += "(" + rng.choice([",", ", ", " , "]).join(pairs) + ")"
    return ident


def _expression(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return _atom(rng)
    if roll < 0.5:
        return "not " + _expression(rng, depth + 1)
    if roll < 0.65:
        return "(" + _expression(rng, depth + 1) + ")"
    op = rng.choice([" and ", " or ", "  or\t"])
    return _expression(rng, depth + 1) + op + _expression(rng, depth + 1)


def _mutated(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 2)):
        at = rng.randrange(len(text) + 1)
        if rng.random() < 0.5 and text:
            text = text[:at] + text[at + 1 :]  # drop one character
        else:
            text = text[:at] + rng.choice(NOISE) + text[at:]
    return text


def _marks(rng: random.Random) -> dict[str, list[dict[str, object]]]:
    marks: dict[str, list[dict[str, object]]] = {}
    for name in rng.sample(IDENTS, rng.randint(0, 5)):
        for _ in range(rng.randint(1, 2)):
            kwargs = {rng.choice(KEYS): rng.choice(PARSED) for _ in range(2)}
            marks.setdefault(name, []).append(kwargs if rng.random() < 0.7 else {})
    return marks


def _keywords(rng: random.Random) -> set[str]:
    words = [rng.choice(IDENTS) + rng.choice(["", "_test", "X"]) for _ in range(4)]
    return {w.upper() if rng.random() < 0.3 else w for w in words}


def _evaluate(expression, matcher) -> bool | str:
    try:
        return expression.evaluate(matcher)
    except Exception:  # -k with arguments: pytest's UsageError, our ExpressionError
        return "refused"


def test_agrees_with_pytest_on_generated_expressions_and_matchers():
    rng = random.Random(19)  # seeded: a failure reproduces
    # matchers drawn from pools, each built once for both sides
    mark_pool = []
    for _ in range(300):
        marks = _marks(rng)
        theirs_marks = {
            name: [pytest.Mark(name, (), kw, _ispytest=True) for kw in kws]
            for name, kws in marks.items()
        }
        mark_pool.append((marks_matcher(marks), MarkMatcher(theirs_marks), marks))
    keyword_pool = []
    for _ in range(300):
        names = _keywords(rng)
        pair = (keywords_matcher(names), KeywordMatcher(frozenset(names)), names)
        keyword_pool.append(pair)
    accepted = refused = evaluated = 0
    for _ in range(2000):
        text = _expression(rng)
        if rng.random() < 0.35:
            text = _mutated(rng, text)
        theirs, ours = _pytest_compiles(text), _ours(text)
        assert (theirs is None) == (ours is None), text
        if theirs is None or ours is None:
            refused += 1
            continue
        accepted += 1
        if hasattr(theirs, "idents"):  # pytest 9.2 and later tell them
            assert ours.idents == theirs.idents(), text
        for _ in range(3):
            mine, pytests, marks = rng.choice(mark_pool)
            assert ours.evaluate(mine) == theirs.evaluate(pytests), (text, marks)
            mine, pytests, names = rng.choice(keyword_pool)
            want = _evaluate(theirs, pytests)
            assert _evaluate(ours, mine) == want, (text, names)
            evaluated += 1
    # both sides of the grammar were tried, often
    assert accepted > 700 and refused > 250 and evaluated > 2000
