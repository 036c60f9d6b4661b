"""The kinds of values a skiplist key may hold: each checks and converts a parsed TOML
value, reporting why it refuses one, and says the same in JSON Schema."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from testmatrix.core import errorpattern, expression, saferegex
from testmatrix.core.model import FrozenMap
from testmatrix.errors import unknown

Fail = Callable[[tuple, str], None]  # (key path below the value, message)


def show(value: object) -> str:
    """A value as TOML writes it, for messages: 'two', 3, true, a table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return repr(value)


# -- kinds of values ---------------------------------------------------------------


class Kind:
    """What a value must be: `convert` checks and converts a parsed TOML value (None:
    refused, with the reason given to `fail`); `json` says the same in JSON Schema."""

    expect = "a value"  # completes "'key' in [table] must be ..."
    plural = "values"

    def accepts(self, value: object) -> bool:
        raise NotImplementedError

    def cast(self, value: Any) -> Any:
        return value

    def json(self) -> dict[str, Any]:
        raise NotImplementedError

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        """The value converted, or None after reporting why not. `expect` stands for
        this kind's own phrase when the value is an item of a list."""
        if not self.accepts(value):
            fail((), f"{subject} must be {expect or self.expect}, got {show(value)}")
            return None
        return self.cast(value)


class Text(Kind):
    expect = "a non-empty string"
    plural = "non-empty strings"

    def accepts(self, value: object) -> bool:
        return isinstance(value, str) and bool(value.strip())

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if isinstance(value, str) and "\0" in value:
            fail((), no_nul(subject, value))
            return None
        return super().convert(value, subject, fail, expect)

    def json(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"\S"}


def no_nul(subject: str, value: str) -> str:
    # a path, an argument or an environment value with NUL reaches the OS as a
    # ValueError (embedded null byte) when the session runs: said here instead
    # the value itself is not shown: its NUL would reach the terminal
    del value
    return (
        f"{subject} holds a NUL byte, which no path, argument or environment "
        "variable can hold"
    )


class Pattern(Kind):
    """A string matching a regular expression (one that JSON Schema reads alike)."""

    def __init__(
        self, pattern: str, expect: str, plural: str, message: str | None = None
    ):
        self.regex = re.compile(pattern)
        self.expect, self.plural = expect, plural
        self.message = message  # the refusal, from {subject} and {value}

    def accepts(self, value: object) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if self.message and isinstance(value, str) and not self.accepts(value):
            fail((), self.message.format(subject=subject, value=show(value)))
            return None
        return super().convert(value, subject, fail, expect)

    def json(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.regex.pattern}


class Date(Kind):
    expect = "a date (YYYY-MM-DD)"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        fail((), f"{subject} must be {self.expect}, got {show(value)}")
        return None

    def json(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


class Int(Kind):
    def __init__(self, low: int, high: int | None = None):
        self.low, self.high = low, high
        if high is None:
            self.expect = f"an integer >= {low}"
        else:
            self.expect = f"an integer from {low} to {high}"

    def accepts(self, value: object) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        return value >= self.low and (self.high is None or value <= self.high)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "minimum": self.low}
        if self.high is not None:
            out["maximum"] = self.high
        return out


class Seconds(Kind):
    """A number of seconds from 0 to `high`: a bound, so that no value sleeps a run
    away (1e308 is a number too)."""

    def __init__(self, high: float = 3600):
        self.high = high
        self.expect = f"a number of seconds from 0 to {high:g}"

    def accepts(self, value: object) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return math.isfinite(value) and 0 <= value <= self.high

    def cast(self, value: Any) -> Any:
        return float(value)

    def json(self) -> dict[str, Any]:
        return {"type": "number", "minimum": 0, "maximum": self.high}


class Bool(Kind):
    expect = "true or false"

    def accepts(self, value: object) -> bool:
        return isinstance(value, bool)

    def json(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Choice(Kind):
    """One of a few words; a wrong word is an unknown `noun` with did-you-mean."""

    def __init__(self, noun: str, choices: tuple[str, ...]):
        self.noun, self.choices = noun, choices
        words = [f"'{c}'" for c in choices]
        self.expect = ", ".join(words[:-1]) + f" or {words[-1]}"

    def accepts(self, value: object) -> bool:
        return value in self.choices

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if isinstance(value, str) and value not in self.choices:
            fail((), unknown(self.noun, value, self.choices))
            return None
        return super().convert(value, subject, fail, expect)

    def json(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


class Regex(Kind):
    expect = "a regular expression"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, str):
            return super().convert(value, subject, fail, expect)
        why = saferegex.check(value)  # Python's syntax, run without backtracking
        if why is not None:
            said = "is" if why.startswith("not a regular") else "is refused:"
            fail((), f"{subject} {said} {why}")
            return None
        return value

    def accepts(self, value: object) -> bool:
        return isinstance(value, str)

    def json(self) -> dict[str, Any]:
        return {"type": "string", "format": "regex"}


class Expression(Text):
    """A pytest -m or -k expression, checked against pytest's grammar (nox loads the
    skiplists in an interpreter that need not have pytest)."""

    def __init__(self, option: str):
        self.option = option
        self.expect = f"a pytest {option} expression"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        text: str | None = super().convert(value, subject, fail, expect)
        if text is None:
            return None
        try:
            expression.check(text, arguments=self.option != "-k")
        except expression.ExpressionError as exc:
            why = f"is not a valid pytest {self.option} expression: {exc.message}"
            fail((), f"{subject} {why} (column {exc.column})")
            return None
        return text


class List(Kind):
    """An array of one kind of item; converted to a tuple. One bad item refuses the
    whole array (so later items keep their positions for messages)."""

    def __init__(self, item: Kind, *, min_items: int = 0, expect: str | None = None):
        self.item, self.min_items = item, min_items
        many = "a non-empty list" if min_items else "a list"
        self.expect = expect or f"{many} of {item.plural}"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, list):
            fail((), f"{subject} must be {expect or self.expect}, got {show(value)}")
            return None
        if len(value) < self.min_items:
            fail((), f"{subject} must be {self.expect}, got an empty array")
            return None
        items = []
        for index, item in enumerate(value):

            def at(path: tuple, message: str, index: int = index) -> None:
                fail((index, *path), message)

            items.append(self.item.convert(item, subject, at, self.expect))
        if any(item is None for item in items):
            return None
        return tuple(items)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.json()}
        if self.min_items:
            out["minItems"] = self.min_items
        return out


class StrOrList(List):
    """One item, or an array of them (of at least `min_items`): always a tuple."""

    def __init__(self, item: Kind, *, min_items: int = 0):
        super().__init__(item, min_items=min_items)
        many = "a non-empty list" if min_items else "a list"
        self.expect = f"{item.expect} or {many} of {item.plural}"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if isinstance(value, list):
            return super().convert(value, subject, fail, expect)
        one = self.item.convert(value, subject, fail, self.expect)
        return None if one is None else (one,)

    def json(self) -> dict[str, Any]:
        item = self.item.json()
        many: dict[str, Any] = {"type": "array", "items": item}
        if self.min_items:
            many["minItems"] = self.min_items
        return {"anyOf": [item, many]}


class MessagePattern(Kind):
    """An error message pattern in the safe language of `core.errorpattern`."""

    expect = "an error message pattern"

    def accepts(self, value: object) -> bool:
        return isinstance(value, str)

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, str):
            return super().convert(value, subject, fail, expect)
        why = errorpattern.check(value)
        if why is not None:
            fail((), f"{subject} is not a safe message pattern: {why}")
            return None
        return value

    def json(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": errorpattern.MAX_PATTERN}


class Glob(Text):
    """A test id (a prefix of node ids, its brackets literal: test_x[cuda-1]) or, with
    * or ?, a glob over them, whose [...] classes must close and be able to match:
    fnmatch takes a broken class silently, and the entry would match no test."""

    expect = "a test id or glob"
    plural = "test ids or globs"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        text: str | None = super().convert(value, subject, fail, expect)
        if text is None:
            return None
        why = _glob_problem(text)
        if why is not None:
            fail((), f"{subject} is not a valid test glob: {why}")
            return None
        return text


def _glob_problem(pattern: str) -> str | None:
    """What is wrong with a glob's classes ([abc], [!a-z]), if anything."""
    if "*" not in pattern and "?" not in pattern:
        return None  # a test id or prefix: its brackets are parameters
    at = pattern.find("[")
    while at >= 0:
        end = pattern.find("]", at + 2)  # a ] right after [ (or [!) is a member
        if pattern[at + 1 : at + 2] == "!":
            end = pattern.find("]", at + 3)
        if end < 0:
            return (
                f"'[' at column {at + 1} opens a class that is never closed (write "
                "'[[]' for a literal '[')"
            )
        members = pattern[at + 1 : end].removeprefix("!")
        for low, high in re.findall(r"(.)-(.)", members):
            if low > high:
                return (
                    f"the range '{low}-{high}' in the class at column {at + 1} is empty"
                )
        at = pattern.find("[", end + 1)
    return None


class Integer(Kind):
    """Any integer (Buildkite's priority may be negative)."""

    expect = "an integer"

    def accepts(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def json(self) -> dict[str, Any]:
        return {"type": "integer"}


class Either(Kind):
    """A value of one of several kinds (the first that accepts it converts it)."""

    def __init__(self, *kinds: Kind, expect: str):
        self.kinds = kinds
        self.expect = expect

    def accepts(self, value: object) -> bool:
        return any(self._accepts(kind, value) for kind in self.kinds)

    @staticmethod
    def _accepts(kind: Kind, value: object) -> bool:
        if isinstance(kind, List):
            return (
                isinstance(value, list)
                and len(value) >= kind.min_items
                and all(kind.item.accepts(v) for v in value)
            )
        return kind.accepts(value)

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        for kind in self.kinds:
            if self._accepts(kind, value):
                return kind.convert(value, subject, fail, expect)
        fail((), f"{subject} must be {expect or self.expect}, got {show(value)}")
        return None

    def json(self) -> dict[str, Any]:
        return {"anyOf": [kind.json() for kind in self.kinds]}


def freeze(value: Any) -> Any:
    """A parsed TOML value as a hashable one: tables become FrozenMaps, arrays
    tuples."""
    if isinstance(value, dict):
        return FrozenMap({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


class Plugins(Kind):
    """Buildkite plugins: each a reference ('docker#v5.12.0') or a one-key table of
    the reference to its settings."""

    expect = (
        "a list of Buildkite plugins: references ('docker#v5.12.0') or tables of one "
        "reference to its settings"
    )

    def accepts(self, value: object) -> bool:
        return isinstance(value, list) and all(self._plugin(v) for v in value)

    @staticmethod
    def _plugin(value: object) -> bool:
        if isinstance(value, str):
            return bool(value.strip())
        return (
            isinstance(value, dict)
            and len(value) == 1
            and all(isinstance(v, dict) for v in value.values())
        )

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, list):
            return super().convert(value, subject, fail, expect)
        good = True
        for index, item in enumerate(value):
            if not self._plugin(item):
                fail(
                    (index,),
                    f"{subject} item {index + 1} must be a plugin reference or a "
                    f"table of one reference to its settings, got {show(item)}",
                )
                good = False
        return freeze(value) if good else None

    def json(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string", "pattern": r"\S"},
                    {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 1,
                        "additionalProperties": {"type": "object"},
                    },
                ]
            },
        }


SCALAR_TYPES = (str, int, float, bool)


class ScalarMap(Kind):
    """A table of names to strings, numbers or booleans; `names` checks the names,
    `as_strings` stores every value as the string a process environment holds."""

    def __init__(self, names: Pattern | None = None, *, as_strings: bool = False):
        self.names, self.as_strings = names, as_strings
        if names is None:
            self.expect = "a table of names to strings, numbers or booleans"
        else:
            self.expect = f"a table of {names.plural} to strings, numbers or booleans"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, dict):
            fail((), f"{subject} must be {self.expect}, got {show(value)}")
            return None
        good = True
        for name, item in value.items():
            if self.names is not None and not self.names.accepts(name):
                fail((name,), f"{subject} names '{name}', not {self.names.expect}")
                good = False
            if isinstance(item, str) and "\0" in item:
                fail((name,), no_nul(f"{subject} '{name}'", item))
                good = False
            elif not isinstance(item, SCALAR_TYPES):
                wanted = "a string, number or boolean"
                fail(
                    (name,),
                    f"{subject} must map '{name}' to {wanted}, got {show(item)}",
                )
                good = False
        if not good:
            return None
        if self.as_strings:
            return FrozenMap({k: _as_env(v) for k, v in value.items()})
        return FrozenMap(value)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        }
        if self.names is not None:
            out["propertyNames"] = {"pattern": self.names.regex.pattern}
        return out


def _as_env(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


# pytest options a suite's `args` may not pass, and what to write instead: the session


class PytestArgs(List):
    """Extra pytest arguments, refusing those `refused` names (option: advice), which
    the session passes itself or other keys say."""

    def __init__(self, refused: Mapping[str, str]) -> None:
        super().__init__(Text(), expect="a list of pytest arguments (strings)")
        self.refused = refused
        long = "|".join(re.escape(o[2:]) for o in refused if o.startswith("--"))
        short = "".join(o[1] for o in refused if not o.startswith("--"))
        # the option alone, `--opt=value` or `--opt value` in one item, or a short
        # option with its value attached (-knot_x, -pno:x)
        self.regex = re.compile(rf"^(--(?:{long})(?=[=\s]|$)|-[{short}])")

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        args = super().convert(value, subject, fail, expect)
        if args is None:
            return None
        refused = False
        for index, arg in enumerate(args):
            if "\0" in arg:
                fail((index,), f"{subject} item {index + 1} holds a NUL byte")
                refused = True
                continue
            match = self.regex.match(arg)
            if match:
                advice = self.refused[match.group(1)]
                fail((index,), f"{subject} may not pass '{arg}': {advice}")
                refused = True
        return None if refused else args

    def json(self) -> dict[str, Any]:
        out = super().json()
        out["items"] = {**out["items"], "not": {"pattern": self.regex.pattern}}
        return out
