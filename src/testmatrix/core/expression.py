"""pytest's -m / -k expression grammar, checked without importing pytest.

The skiplists are loaded in nox's own interpreter, which need not have pytest, so a
suite's `markexpr` and `keyword` are checked here against the grammar pytest
documents (`_pytest/mark/expression.py`). Tests are selected by pytest's own parser
(plan.compile_expression), where pytest is there:

    expression: expr? EOF
    expr:       and_expr ('or' and_expr)*
    and_expr:   not_expr ('and' not_expr)*
    not_expr:   'not' not_expr | '(' expr ')' | ident kwargs?
    ident:      (\\w|:|\\+|-|\\.|\\[|\\]|\\\\|/)+
    kwargs:     '(' name '=' value (', ' name '=' value)* ')'
    value:      string literal | (-)?[0-9]+ | 'True' | 'False' | 'None'
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>"[^"\\]*"|'[^'\\]*')
    |(?P<punct>[(),=])
    |(?P<ident>(?:\w|:|\+|-|\.|\[|\]|\\|/)+)
    |(?P<bad>\S)
    )""",
    re.VERBOSE,
)
_KEYWORDS = ("or", "and", "not")


class ExpressionError(ValueError):
    """A grammar error, with the 1-based column where it was found."""

    def __init__(self, column: int, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


class _Parser:
    def __init__(self, text: str):
        self.tokens: list[tuple[str, str, int]] = []
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup or "bad"
            value = match.group(kind)
            if value is None:
                continue
            if kind == "bad":
                raise ExpressionError(match.start(kind) + 1, f"unexpected '{value}'")
            self.tokens.append((kind, value, match.start(kind) + 1))
        self.end = len(text) + 1
        self.at = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[1] == value and token[0] != "string":
            self.at += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            self.fail(f"expected '{value}'")

    def fail(self, message: str) -> None:
        token = self.peek()
        column = token[2] if token else self.end
        found = f"; found '{token[1]}'" if token else "; found end of input"
        raise ExpressionError(column, message + found)

    def expression(self) -> None:
        if self.peek() is not None:
            self.expr()
        if self.peek() is not None:
            self.fail("expected end of input")

    def expr(self) -> None:
        self.and_expr()
        while self.accept("or"):
            self.and_expr()

    def and_expr(self) -> None:
        self.not_expr()
        while self.accept("and"):
            self.not_expr()

    def not_expr(self) -> None:
        if self.accept("not"):
            self.not_expr()
        elif self.accept("("):
            self.expr()
            self.expect(")")
        else:
            self.ident()
            if self.accept("("):
                self.kwargs()

    def ident(self) -> None:
        token = self.peek()
        if token is None or token[0] != "ident" or token[1] in _KEYWORDS:
            self.fail("expected not, ( or an identifier")
        self.at += 1

    def kwargs(self) -> None:
        while True:
            token = self.peek()
            if token is None or token[0] != "ident" or not token[1].isidentifier():
                self.fail("expected a keyword argument name")
            self.at += 1
            self.expect("=")
            value = self.peek()
            literal = value is not None and (
                value[0] == "string"
                or value[1] in ("True", "False", "None")
                or re.fullmatch(r"-?[0-9]+", value[1]) is not None
            )
            if not literal:
                self.fail("expected a string, an integer, True, False or None")
            self.at += 1
            if self.accept(")"):
                return
            self.expect(",")


def check(text: str) -> None:
    """Raise ExpressionError where `text` is not a pytest -m / -k expression."""
    _Parser(text).expression()
