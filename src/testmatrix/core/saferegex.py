"""Regular expressions from the skiplists, matched in time linear in the text.

Python's `re` backtracks: `(a+)+$` takes seconds on 27 characters, so a skiplist's
`model_params = "(a+)+$"` would hang every pytest run that reads a test's
parameters. There is no timeout on `re`, and the well-kept linear-time engine
(google-re2) is a compiled extension that a pytest plugin should not make every
project install; so patterns from data are run here instead, on the same syntax.

The language is Python's regular expressions without what needs backtracking:
literals and escaped punctuation, `.` (any character but a newline), classes
`[...]`, `\\d \\w \\s` (and `\\D \\W \\S`), `\\n \\t \\r \\f \\v`, `\\xhh`, `\\uhhhh`,
groups `(...)`, `(?:...)`, `(?P<name>...)`, alternation `|` at any depth, the
quantifiers `? * +` (lazy or not: a yes-or-no answer is the same) and `{m}`, `{m,}`,
`{,n}`, `{m,n}` with bounds up to MAX_COUNT, and the anchors `^`, `$`, `\\A`, `\\Z`.
Backreferences, lookarounds, word boundaries, atomic groups, possessive quantifiers
and inline flags are refused with the column where they stand.

The pattern becomes a Thompson automaton; `search` and `match` run it over the text
as a set of states, each distinct set made into a state of a DFA the first time it
is met (so a pattern used on many values costs a dictionary lookup per character).
The cache of DFA states is bounded: past MAX_DFA_STATES it starts afresh, which
keeps the time linear and the memory flat whatever the pattern.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

MAX_PATTERN = 1000  # characters of a pattern
MAX_COUNT = 100  # the largest bound of a counted repetition
MAX_STATES = 20_000  # automaton states (counted repetition copies what it repeats)
MAX_DFA_STATES = 5_000  # cached sets of states, then the cache starts afresh

_CLASS_ESCAPES = "dDwWsS"
_CONTROL = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_REFUSED_ESCAPES = {
    "b": "word boundaries (\\b)",
    "B": "word boundaries (\\B)",
    "N": "named characters (\\N{...})",
}
_COUNT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_QUANTIFIERS: dict[str, tuple[int, int | None]] = {
    "*": (0, None),
    "+": (1, None),
    "?": (0, 1),
}
_HEX = {"x": 2, "u": 4, "U": 8}

# automaton state kinds
_CHAR, _SPLIT, _BOL, _EOL, _EOS, _MATCH, _EMPTY = range(7)
_ANCHORS = {"^": _BOL, "$": _EOL, "\\A": _BOL, "\\Z": _EOS}


class PatternError(ValueError):
    """A pattern outside the language; the message says what and where."""


# A character test: a literal character, or a compiled one-character class.
Atom = str | re.Pattern[str]
# A DFA step's key: the character, or (character, `$` holds, the end) near the end
_Key = str | tuple[str, bool, bool]


class _Parser:
    """Recursive descent over the pattern, building automaton fragments (start
    state, dangling exits) as it reads."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.at = 0
        self.kind: list[int] = []
        self.atom: list[Atom | None] = []
        self.out: list[int] = []
        self.alt: list[int] = []

    # -- states ------------------------------------------------------------------

    def state(self, kind: int, atom: Atom | None = None) -> int:
        if len(self.kind) >= MAX_STATES:
            raise PatternError(
                f"it makes over {MAX_STATES} automaton states (counted repetition "
                "copies what it repeats): write a shorter pattern"
            )
        self.kind.append(kind)
        self.atom.append(atom)
        self.out.append(-1)
        self.alt.append(-1)
        return len(self.kind) - 1

    def patch(self, exits: list[tuple[int, bool]], to: int) -> None:
        for state, second in exits:
            if second:
                self.alt[state] = to
            else:
                self.out[state] = to

    # -- grammar -----------------------------------------------------------------

    def error(self, what: str, at: int | None = None) -> PatternError:
        column = (self.at if at is None else at) + 1
        return PatternError(f"{what} (column {column})")

    def peek(self, count: int = 1) -> str:
        return self.pattern[self.at : self.at + count]

    def alternation(self) -> tuple[int, list[tuple[int, bool]]]:
        start, exits = self.sequence()
        while self.peek() == "|":
            self.at += 1
            other, more = self.sequence()
            split = self.state(_SPLIT)
            self.out[split], self.alt[split] = start, other
            start, exits = split, exits + more
        return start, exits

    def sequence(self) -> tuple[int, list[tuple[int, bool]]]:
        start = self.state(_EMPTY)
        exits = [(start, False)]
        while self.at < len(self.pattern) and self.peek() not in "|)":
            piece, piece_exits = self.quantified()
            self.patch(exits, piece)
            exits = piece_exits
        return start, exits

    def quantified(self) -> tuple[int, list[tuple[int, bool]]]:
        begin = self.at
        anchor = self.anchor()
        if anchor is not None:  # re refuses a quantifier after one
            return anchor
        build = self.builder()
        count = self.quantifier()
        if count is None:
            return build()
        if self.peek() == "?":  # lazy: the same yes-or-no answer
            self.at += 1
        if self.peek() == "+" or self.peek() in ("*", "?") or self._count():
            raise self.error(
                "a quantifier after a quantifier (possessive or repeated) is refused",
                begin,
            )
        return self.repeat(build, *count)

    def _count(self) -> re.Match[str] | None:
        """A counted repetition at `at` ({m}, {m,}, {,n}, {m,n}, {,}); `{}` and any
        other brace are literal characters, as re reads them."""
        found = _COUNT.match(self.pattern, self.at)
        if found and (found.group(1) or found.group(2)):
            return found
        return None

    def quantifier(self) -> tuple[int, int | None] | None:
        char = self.peek()
        if char in _QUANTIFIERS:
            self.at += 1
            return _QUANTIFIERS[char]
        found = self._count() if char == "{" else None
        if found is None:
            return None
        low = int(found.group(1) or 0)
        high: int | None = low
        if found.group(2):
            high = int(found.group(3)) if found.group(3) else None
        if max(low, high or 0) > MAX_COUNT:
            raise self.error(f"a counted repetition over {MAX_COUNT} is refused")
        self.at = found.end()
        return low, high

    def anchor(self) -> tuple[int, list[tuple[int, bool]]] | None:
        """The fragment of an anchor at `at` (^ $ \\A \\Z), or None."""
        two = self.peek(2)
        kind = _ANCHORS.get(self.peek()) or _ANCHORS.get(two)
        if kind is None:
            return None
        self.at += 1 if two[:1] in "^$" else 2
        state = self.state(kind)
        return state, [(state, False)]

    def builder(self) -> Callable[[], tuple[int, list[tuple[int, bool]]]]:
        """A function building one fresh copy of the atom at `at`: counted
        repetition builds several."""
        if self.peek() == "(":
            return self.group()
        atom = self.one_char(self.at)

        def build() -> tuple[int, list[tuple[int, bool]]]:
            state = self.state(_CHAR, atom)
            return state, [(state, False)]

        return build

    def one_char(self, begin: int) -> Atom:
        char = self.pattern[self.at]
        if char == "[":
            end = class_end(self.pattern, self.at)
            text = self.pattern[self.at : end + 1]
            self.at = end + 1
            try:
                return re.compile(text)
            except re.error as exc:
                raise self.error(f"the class is not valid: {exc}", begin) from None
        if char == ".":
            self.at += 1
            return _DOT
        if char != "\\":
            self.at += 1
            return char
        return self.escape(begin)

    def escape(self, begin: int) -> Atom:
        escaped = self.pattern[self.at + 1 : self.at + 2]
        if not escaped:
            raise self.error("it ends with a lone backslash")
        self.at += 2
        if escaped in _CLASS_ESCAPES:
            return re.compile("\\" + escaped)
        if escaped in _CONTROL:
            return _CONTROL[escaped]
        if escaped in _HEX:
            digits = self.pattern[self.at : self.at + _HEX[escaped]]
            if len(digits) != _HEX[escaped] or not all(
                d in "0123456789abcdefABCDEF" for d in digits
            ):
                raise self.error(
                    f"'\\{escaped}' needs {_HEX[escaped]} hex digits", begin
                )
            self.at += len(digits)
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise self.error("a character past Unicode's last", begin)
            return chr(code)
        if escaped in _REFUSED_ESCAPES:
            raise self.error(f"{_REFUSED_ESCAPES[escaped]} are refused", begin)
        if escaped.isdigit():
            raise self.error(
                f"'\\{escaped}': backreferences and octal escapes are refused", begin
            )
        if escaped.isalnum() or escaped == "_":
            raise self.error(f"'\\{escaped}' is not an escape this language has", begin)
        return escaped

    def group(self) -> Callable[[], tuple[int, list[tuple[int, bool]]]]:
        """A group's body, read once and rebuilt from its text for each copy."""
        begin = self.at
        self.at += 1
        if self.peek() == "?":
            if self.peek(2) == "?:":
                self.at += 1
            elif self.peek(3) == "?P<":
                close = self.pattern.find(">", self.at)
                name = self.pattern[self.at + 3 : close] if close > 0 else ""
                if close < 0 or not name.isidentifier():
                    raise self.error("a named group needs a name and '>'", begin)
                self.at = close
            else:
                what = {
                    "?=": "lookaheads",
                    "?!": "lookaheads",
                    "?<": "lookbehinds",
                    "?>": "atomic groups",
                    "?#": "comments",
                    "?(": "conditionals",
                    "?P": "named backreferences",
                }.get(self.peek(2), "inline flags")
                raise self.error(f"{what} are refused", begin)
            self.at += 1
        body_start = self.at
        built = self.alternation()  # the first copy; more are read again
        if self.peek() != ")":
            raise self.error("the group opened here is not closed", begin)
        self.at += 1
        first = True

        def build() -> tuple[int, list[tuple[int, bool]]]:
            nonlocal first
            if first:
                first = False
                return built
            saved, self.at = self.at, body_start
            fragment = self.alternation()
            self.at = saved
            return fragment

        return build

    def repeat(
        self,
        build: Callable[[], tuple[int, list[tuple[int, bool]]]],
        low: int,
        high: int | None,
    ) -> tuple[int, list[tuple[int, bool]]]:
        """`low` copies in a row, then `high - low` optional ones (or a loop)."""
        start = self.state(_EMPTY)
        exits = [(start, False)]
        for _ in range(low):
            piece, piece_exits = build()
            self.patch(exits, piece)
            exits = piece_exits
        if high is None:  # a loop: split into another copy, or on
            split = self.state(_SPLIT)
            self.patch(exits, split)
            piece, piece_exits = build()
            self.out[split] = piece
            self.patch(piece_exits, split)
            return start, [(split, True)]
        skips: list[tuple[int, bool]] = []
        for _ in range(high - low):
            split = self.state(_SPLIT)
            self.patch(exits, split)
            piece, piece_exits = build()
            self.out[split] = piece
            skips.append((split, True))
            exits = piece_exits
        return start, exits + skips


def class_end(pattern: str, start: int) -> int:
    """The index of the `]` closing the class opened at `start`."""
    at = start + 1
    if pattern[at : at + 1] == "^":
        at += 1
    if pattern[at : at + 1] == "]":  # a leading ] is a member
        at += 1
    while at < len(pattern) and pattern[at] != "]":
        at += 2 if pattern[at] == "\\" else 1
    if at >= len(pattern):
        raise PatternError(f"the class opened at column {start + 1} is not closed")
    return at


_DOT = re.compile(".")


class SafePattern:
    """A compiled pattern: `search` and `match` answer as `re`'s would (whether there
    is a match), in time linear in the text."""

    def __init__(self, pattern: str):
        if len(pattern) > MAX_PATTERN:
            raise PatternError(
                f"it has {len(pattern)} characters, more than {MAX_PATTERN}"
            )
        parser = _Parser(pattern)
        start, exits = parser.alternation()
        if parser.at < len(pattern):  # only a ')' stops the top level early
            raise parser.error("')' closes no group")
        accept = parser.state(_MATCH)
        parser.patch(exits, accept)
        self.pattern = pattern
        self._kind, self._atom = parser.kind, parser.atom
        self._out, self._alt = parser.out, parser.alt
        self._start = start
        self._accept = accept
        self._reset()

    def _reset(self) -> None:
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        # each set's next set by character: searching (the start joins every
        # step) and matching (it does not) step differently
        self._moves: tuple[list[dict[_Key, int]], list[dict[_Key, int]]] = ([], [])
        self._accepting: list[bool] = []
        self._first: dict[tuple[bool, bool], int] = {}  # the start's, by anchors
        self._generation = 0  # how many times the cache started afresh
        # the start's states inside the text (no ^), joining every search step
        self._start_mid = tuple(self._closure((self._start,), False, False, False))

    def _closure(
        self, states: tuple[int, ...] | frozenset[int], bol: bool, eol: bool, eos: bool
    ) -> frozenset[int]:
        """The states, and every state reached from them without reading: through
        splits, and through anchors where the position satisfies them."""
        kind, out, alt = self._kind, self._out, self._alt
        seen: set[int] = set()
        stack = list(states)
        while stack:
            state = stack.pop()
            if state in seen:
                continue
            seen.add(state)
            what = kind[state]
            if what == _SPLIT:
                stack.append(out[state])
                stack.append(alt[state])
            elif (
                what == _EMPTY
                or (what == _BOL and bol)
                or (what == _EOL and eol)
                or (what == _EOS and eos)
            ):
                stack.append(out[state])
        return frozenset(seen)

    def _step(self, states: frozenset[int], char: str) -> list[int]:
        kind, atom, out = self._kind, self._atom, self._out
        moved = []
        for state in states:
            if kind[state] == _CHAR:
                test = atom[state]
                if isinstance(test, str):
                    if test == char:
                        moved.append(out[state])
                elif test is not None and test.fullmatch(char):
                    moved.append(out[state])
        return moved

    def _id(self, states: frozenset[int]) -> int:
        found = self._ids.get(states)
        if found is None:
            if len(self._sets) >= MAX_DFA_STATES:  # afresh, in place: a scan
                self._ids.clear()  # holds these lists, and the id of the new
                self._sets.clear()  # set (made below) is all it uses after
                self._moves[0].clear()
                self._moves[1].clear()
                self._accepting.clear()
                self._first.clear()
                self._generation += 1
            found = self._ids[states] = len(self._sets)
            self._sets.append(states)
            self._moves[0].append({})
            self._moves[1].append({})
            self._accepting.append(self._accept in states)
        return found

    def _scan(self, text: str, anchored: bool) -> bool:
        n = len(text)
        end = n - 1 if text.endswith("\n") else n  # `$` holds here and at n
        flagged = end - 1  # from this index on, a step ends where `$` may hold
        state = self._first.get((end == 0, n == 0))
        if state is None:
            state = self._begin(end == 0, n == 0)
        moves, sets, accepting = self._moves[anchored], self._sets, self._accepting
        if accepting[state]:
            return True
        for index, char in enumerate(text):
            # a step into a position where an anchor holds is cached apart
            key = char if index < flagged else (char, True, index + 1 == n)
            following = moves[state].get(key)
            if following is None:
                following = self._move(state, key, anchored)
            state = following
            if accepting[state]:
                return True
            if anchored and not sets[state]:
                return False
        return False

    def _begin(self, eol: bool, eos: bool) -> int:
        """The set of states at the text's start (where `^` holds)."""
        state = self._id(self._closure((self._start,), True, eol, eos))
        self._first[(eol, eos)] = state
        return state

    def _move(self, state: int, key: _Key, anchored: bool) -> int:
        """The set after reading a character from a set (searching, the start joins
        it), made and cached."""
        char, eol, eos = (key, False, False) if isinstance(key, str) else key
        moved = self._step(self._sets[state], char)
        inject = () if anchored else self._start_mid
        generation = self._generation
        following = self._id(self._closure((*moved, *inject), False, eol, eos))
        if generation == self._generation:  # else `state` is gone with the cache
            self._moves[anchored][state][key] = following
        return following

    def search(self, text: str) -> bool:
        """Whether the pattern occurs anywhere in the text (re.search)."""
        return self._scan(text, anchored=False)

    def match(self, text: str) -> bool:
        """Whether the pattern occurs at the text's start (re.match)."""
        return self._scan(text, anchored=True)


@functools.lru_cache(maxsize=256)
def compile_safe(pattern: str) -> SafePattern:
    """The pattern compiled; PatternError where it is outside the language (or not
    a regular expression at all)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"not a regular expression: {exc}") from None
    except (OverflowError, RecursionError):
        raise PatternError("not a regular expression Python can compile") from None
    return SafePattern(pattern)


def check(pattern: str) -> str | None:
    """Why a pattern is refused, or None."""
    try:
        compile_safe(pattern)
    except PatternError as exc:
        return str(exc)
    return None
