"""pytest's -m / -k expressions: parsed and evaluated as pytest does, without pytest.

The skiplists are loaded in nox's own interpreter, which need not have pytest, and
the core uses no private pytest API; so the grammar pytest documents
(`_pytest/mark/expression.py`, pytest >= 8.3) is written again here, once: the
schema checks a suite's `markexpr` and `keyword` with it and `Selection` selects
tests with it. A differential test holds it equal to pytest's own parser.

    expression: expr? EOF
    expr:       and_expr ('or' and_expr)*
    and_expr:   not_expr ('and' not_expr)*
    not_expr:   'not' not_expr | '(' expr ')' | ident kwargs?
    ident:      (\\w|:|\\+|-|\\.|\\[|\\]|\\\\|/)+
    kwargs:     '(' name '=' value (',' name '=' value)* ')'
    value:      string literal | (-)?[0-9]+ | 'True' | 'False' | 'None'
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

Value = str | int | bool | None
Matcher = Callable[..., bool]  # matcher(name, **kwargs) -> whether it matches

_IDENT = re.compile(r"(?:\w|:|\+|-|\.|\[|\]|\\|/)+")
_PUNCT = frozenset("()=,")
_KEYWORDS = frozenset(("or", "and", "not"))
_LITERALS: dict[str, Value] = {"True": True, "False": False, "None": None}
# a token: (kind, text, 1-based column); kinds: ident, string, or, and, not, the
# punctuation itself, eof
_Token = tuple[str, str, int]
# a parsed expression: ("or"|"and", [nodes]), ("not", node), ("ident", name, kwargs
# or None), ("false",) for the empty expression
_Node = tuple


class ExpressionError(ValueError):
    """A grammar error, with the 1-based column where it was found."""

    def __init__(self, column: int, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def _tokens(text: str) -> list[_Token]:
    """pytest's scanner: blanks are spaces and tabs only; quotes hold no backslash."""
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in " \t":
            pos += 1
        elif char in _PUNCT:
            out.append((char, char, pos + 1))
            pos += 1
        elif char in "'\"":
            end = text.find(char, pos + 1)
            if end == -1:
                raise ExpressionError(pos + 1, f"closing quote {char} is missing")
            value = text[pos : end + 1]
            if "\\" in value:
                column = pos + value.index("\\") + 1
                raise ExpressionError(column, "escaping with \\ is not supported")
            out.append(("string", value, pos + 1))
            pos = end + 1
        else:
            match = _IDENT.match(text, pos)
            if match is None:
                raise ExpressionError(pos + 1, f"unexpected '{char}'")
            value = match.group()
            out.append((value if value in _KEYWORDS else "ident", value, pos + 1))
            pos = match.end()
    out.append(("eof", "", len(text) + 1))
    return out


class _Parser:
    """Recursive descent over the tokens, as pytest's parser descends."""

    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.at = 0
        self.idents: set[str] = set()
        self.calls = False  # some identifier takes keyword arguments

    def accept(self, kind: str) -> _Token | None:
        token = self.tokens[self.at]
        if token[0] != kind:
            return None
        if kind != "eof":
            self.at += 1
        return token

    def expect(self, kind: str, what: str) -> _Token:
        token = self.accept(kind)
        if token is None:
            self.fail(f"expected {what}")
        assert token is not None
        return token

    def fail(self, message: str, token: _Token | None = None) -> None:
        token = token or self.tokens[self.at]
        found = "end of input" if token[0] == "eof" else f"'{token[1]}'"
        raise ExpressionError(token[2], f"{message}; found {found}")

    def expression(self) -> _Node:
        if self.accept("eof"):
            return ("false",)
        node = self.expr()
        self.expect("eof", "end of input")
        return node

    def expr(self) -> _Node:
        nodes = [self.and_expr()]
        while self.accept("or"):
            nodes.append(self.and_expr())
        return nodes[0] if len(nodes) == 1 else ("or", nodes)

    def and_expr(self) -> _Node:
        nodes = [self.not_expr()]
        while self.accept("and"):
            nodes.append(self.not_expr())
        return nodes[0] if len(nodes) == 1 else ("and", nodes)

    def not_expr(self) -> _Node:
        if self.accept("not"):
            return ("not", self.not_expr())
        if self.accept("("):
            node = self.expr()
            self.expect(")", "')'")
            return node
        ident = self.accept("ident")
        if ident is None:
            self.fail("expected not, ( or an identifier")
        assert ident is not None
        self.idents.add(ident[1])
        kwargs = None
        if self.accept("("):
            self.calls = True
            kwargs = self.kwargs()
            self.expect(")", "')'")
        return ("ident", ident[1], kwargs)

    def kwargs(self) -> dict[str, Value]:
        kwargs: dict[str, Value] = {}
        while True:
            name = self.accept("ident")
            if name is None or not name[1].isidentifier():
                self.fail("expected a keyword argument name", name)
            assert name is not None
            if keyword.iskeyword(name[1]):
                self.fail("a Python keyword is no argument name", name)
            if name[1] in kwargs:  # Python refuses f(x=1, x=2); so does pytest
                self.fail("keyword argument repeated", name)
            self.expect("=", "'='")
            kwargs[name[1]] = self.value()
            if not self.accept(","):
                return kwargs

    def value(self) -> Value:
        string = self.accept("string")
        if string is not None:
            return string[1][1:-1]
        token = self.accept("ident")
        what = "expected a string, an integer, True, False or None"
        if token is None:
            self.fail(what)
        assert token is not None
        text = token[1]
        if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
            try:  # str.isdigit takes digits int() refuses ('²'); pytest fails too
                return int(text)
            except ValueError:
                self.fail(what, token)
        if text in _LITERALS:
            return _LITERALS[text]
        self.fail(what, token)
        return None  # unreachable: fail raises


class Expression:
    """A compiled -m or -k expression, evaluated against a matcher as pytest's
    `Expression.evaluate` is: `matcher(name, **kwargs) -> bool` per identifier."""

    __slots__ = ("_root", "calls", "idents", "text")

    def __init__(self, text: str, root: _Node, idents: frozenset[str], calls: bool):
        self.text = text
        self._root = root
        self.idents = idents
        self.calls = calls  # some identifier has keyword arguments: name(k=v)

    @classmethod
    def compile(cls, text: str) -> Expression:
        """Parse `text`; ExpressionError (with its column) where pytest refuses it."""
        parser = _Parser(text)
        try:
            root = parser.expression()
        except RecursionError:
            raise ExpressionError(1, "nested too deeply") from None
        return cls(text, root, frozenset(parser.idents), parser.calls)

    def evaluate(self, matcher: Matcher) -> bool:
        return _evaluate(self._root, matcher)


def _evaluate(node: _Node, matcher: Matcher) -> bool:
    kind = node[0]
    if kind == "ident":
        kwargs = node[2]
        return bool(matcher(node[1], **kwargs) if kwargs else matcher(node[1]))
    if kind == "not":
        return not _evaluate(node[1], matcher)
    if kind == "or":
        return any(_evaluate(n, matcher) for n in node[1])
    if kind == "and":
        return all(_evaluate(n, matcher) for n in node[1])
    return False  # the empty expression


def check(text: str, *, arguments: bool = True) -> None:
    """Raise ExpressionError where `text` is not a pytest -m / -k expression (with
    `arguments=False`, as -k: where an identifier takes keyword arguments)."""
    parsed = Expression.compile(text)
    if parsed.calls and not arguments:
        raise ExpressionError(1, "keyword expressions take no arguments: name(...)")


_MISSING = object()


def marks_matcher(marks: Mapping[str, Sequence[Mapping[str, object]]]) -> Matcher:
    """-m's matcher, as pytest's: `name` matches a test carrying that marker,
    `name(k=v, ...)` one carrying it with those keyword arguments. `marks`: each
    marker name with the keyword arguments of each of its marks on the test."""

    def match(name: str, /, **kwargs: Value) -> bool:
        found = marks.get(name)
        if not found:
            return False
        return any(
            all(m.get(k, _MISSING) == v for k, v in kwargs.items()) for m in found
        )

    return match


def names_matcher(names: Iterable[str]) -> Matcher:
    """-m's matcher from marker names alone (an expression without arguments)."""
    return marks_matcher({name: ({},) for name in names})


def keywords_matcher(names: Iterable[str]) -> Matcher:
    """-k's matcher, as pytest's: an identifier matches a test where it is a
    substring of one of its names, ignoring case."""
    lowered = [n.lower() for n in names]

    def match(sub: str, /, **kwargs: Value) -> bool:
        if kwargs:
            raise ExpressionError(1, "keyword expressions take no arguments")
        sub = sub.lower()
        return any(sub in n for n in lowered)

    return match
