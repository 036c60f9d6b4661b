"""The pattern an entry's `fails.match` searches for in an error message: a small,
safe subset of regular expressions, matched in time linear in the message.

A pattern is literal text where `.` is any character but a newline, `\\d` `\\w` `\\s`
(and `\\D` `\\W` `\\S`) a digit, word or space character, `[...]` a character class,
`\\n` `\\t` a newline or tab, and a backslash before any other punctuation that
character itself; `?`, `*` or `+` after one of those makes it optional or repeated;
`^` and `$` at the ends of an alternative anchor it to the start and end of the
message; `|` separates alternatives. No groups, counted or nested repetition,
backreferences or lookarounds, and at most MAX_PATTERN characters.

Python's `re` backtracks: `(a+)+$` takes seconds on 27 characters, and even two
`\\w+` in a row grow with the cube of the message. This module checks the language;
`core.saferegex` (whose language holds this one) runs the pattern in time linear in
the message, and only the first MAX_MESSAGE characters are searched, so no entry can
hang a run.
"""

from __future__ import annotations

import functools
import re

from testmatrix.core.record import record
from testmatrix.core.saferegex import PatternError, class_end, compile_safe

__all__ = ["MAX_MESSAGE", "MAX_PATTERN", "PatternError", "check", "search"]

MAX_PATTERN = 200  # characters of a pattern
MAX_MESSAGE = 4096  # characters of a message searched (the rest is not)

_CLASSES = "dDwWsS"
_CONTROL = {"n": "\n", "t": "\t"}
_DOT = re.compile(".")


@record  # dataclass's would compile six methods at every run's import
class _Item:
    atom: str | re.Pattern[str]  # one character, or a pattern of one character
    repeat: str = ""  # "", "?" or "*" ("x+" is read as "x" "x*")


@record
class _Alternative:
    items: tuple[_Item, ...]
    at_start: bool  # ^
    at_end: bool  # $


def _atom(pattern: str, at: int) -> tuple[str | re.Pattern[str], int]:
    """The atom starting at `at`, and where the next token starts."""
    char = pattern[at]
    if char == "\\":
        if at + 1 == len(pattern):
            raise PatternError("it ends with a lone backslash")
        escaped = pattern[at + 1]
        if escaped in _CLASSES:
            return re.compile("\\" + escaped), at + 2
        if escaped in _CONTROL:
            return _CONTROL[escaped], at + 2
        if escaped.isalnum():
            raise PatternError(
                f"'\\{escaped}' (column {at + 1}) is not in the language: "
                "backreferences and escapes other than \\d \\w \\s \\n \\t are refused"
            )
        return escaped, at + 2
    if char == "[":
        end = class_end(pattern, at)
        try:
            return re.compile(pattern[at : end + 1]), end + 1
        except re.error as exc:
            raise PatternError(f"the class at column {at + 1}: {exc}") from None
    if char == ".":
        return _DOT, at + 1
    if char in "()":
        raise PatternError(
            f"'{char}' (column {at + 1}): groups are not in the language (no groups, "
            "lookarounds or repeated groups); write \\( or \\) for the character"
        )
    if char in "{}":
        raise PatternError(
            f"'{char}' (column {at + 1}): counted repetition is not in the language; "
            f"write \\{char} for the character"
        )
    return char, at + 1


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> tuple[_Alternative, ...]:
    """The pattern's alternatives; PatternError where it is outside the language."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(
            f"it has {len(pattern)} characters, more than {MAX_PATTERN}: match a "
            "telling part of the message"
        )
    alternatives: list[_Alternative] = []
    items: list[_Item] = []
    at_start = at_end = False
    at = 0
    while at <= len(pattern):
        char = pattern[at] if at < len(pattern) else "|"
        if char == "|":
            alternatives.append(_Alternative(tuple(items), at_start, at_end))
            items, at_start, at_end, at = [], False, False, at + 1
        elif at_end:
            raise PatternError(f"'$' (column {at}) may only end an alternative")
        elif char == "^":
            if items or at_start:
                raise PatternError(f"'^' (column {at + 1}) may only start it")
            at_start, at = True, at + 1
        elif char == "$":
            at_end, at = True, at + 1
        elif char in "?*+":
            if not items or items[-1].repeat or pattern[at - 1] in "?*+":
                raise PatternError(
                    f"'{char}' (column {at + 1}) must follow one character, '.', an "
                    "escape or a class: nested or repeated quantifiers are refused"
                )
            last = items[-1]
            if char == "+":
                items.append(_Item(last.atom, "*"))
            else:
                items[-1] = _Item(last.atom, char)
            at += 1
        else:
            atom, at = _atom(pattern, at)
            items.append(_Item(atom))
    return tuple(alternatives)


def check(pattern: str) -> str | None:
    """Why a pattern is refused, or None."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def search(pattern: str, message: str) -> bool:
    """Whether the pattern occurs in the message's first MAX_MESSAGE characters (as
    re.search would find it there); PatternError where it is outside the language."""
    compile_pattern(pattern)  # in this smaller language (a subset of saferegex's)
    return compile_safe(pattern).search(message[:MAX_MESSAGE])
