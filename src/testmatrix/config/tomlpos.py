"""Where things stand in a TOML document: one scan that finds table headers, keys and
the string items of arrays, with their lines.

tomllib gives values but no positions. The scan serves two readers: config errors
name file:line (`locate`), and the session listing keeps just the tables that name
sessions (`head_text`) so that tomllib parses a few lines instead of every entry.
It tokenizes strings whole (multi-line ones and escapes included) and comments, so a
header-like line inside a value is never taken for a header; where the text is not
plainly TOML it raises `Doubt` (the listing then leaves the file to the loader, which
parses it and says what is wrong).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from testmatrix.core.model import Location

# ("ignore", 2, "path") or ("suites", "pooling", "path", 0)
Key = tuple[str | int, ...]


def parse(text: str) -> dict[str, Any]:
    """Parse TOML text; errors are tomllib's."""
    # Imported here, not at the top: a cached workspace needs no parser.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        # mypy checks as 3.10 and so reads this line, yet a 3.11+ venv has no tomli;
        # where tomli is installed the ignore is unused, hence unused-ignore.
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    return tomllib.loads(text)


_ERROR_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def decode_error_line(error: Exception) -> tuple[int, str]:
    """Split a tomllib error into (line, message without the position suffix)."""
    message = str(error)
    match = _ERROR_AT.search(message)
    line = int(match.group(1)) if match else 1
    return line, _ERROR_AT.sub("", message).strip()


class Doubt(Exception):
    """The scan cannot be sure of the document's structure."""


class _Lazy:
    """A regular expression compiled when first used: a cached start scans nothing,
    and the listing never needs the per-key ones."""

    def __init__(self, pattern: str):
        self.pattern = pattern

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


# The scan. Hand-written, not a TOML library's: tomllib keeps no positions, and the
# scan must also be sure where tomllib would refuse the file (the listing reads only
# part of it). Most statements are one regular-expression match (a header, a key
# with a string, a scalar, a flat array or a flat inline table, a comment): Python
# then runs once per line, not per token. Anything else (nested arrays, arrays of
# inline tables, odd spacing) is read token by token, the same events either way.
# Strings match whole, first: a quote, bracket or '#' inside one is no token.


_BASIC = r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
_LITERAL = r"'[^'\n]*'"
_ML_BASIC = r'"""[^"\\]*(?:(?:\\[\s\S]|""?(?!"))[^"\\]*)*"""(?:""?(?!"))?'
_ML_LITERAL = r"'''[\s\S]*?'''(?:''?(?!'))?"
_STRING = f"{_ML_BASIC}|{_ML_LITERAL}|{_BASIC}|{_LITERAL}"
_TOKEN = _Lazy(
    rf"(?P<nl>\r?\n)|(?P<ws>[ \t]+)|(?P<comment>#[^\n]*)|(?P<string>{_STRING})"
    r"|(?P<bare>[A-Za-z0-9_-]+)|(?P<punct>[\[\]{}=.,])"
    r"|(?P<value>[^\s\[\]{}=,#\"']+)|(?P<bad>[\s\S])"
)
_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"\\\n]*"|'[^'\n]*')"""
_DOTTED = rf"{_KEY}(?:[ \t]*\.[ \t]*{_KEY})*"
# each alternative of a loop starts where no other can: a failed match backtracks in
# linear time
_FLAT_ARRAY = rf"\[[^\[\]{{}}\"'#]*(?:(?:{_STRING}|#[^\n]*)[^\[\]{{}}\"'#]*)*\]"
_FLAT_TABLE = rf"\{{[^\[\]{{}}\"'#\n]*(?:(?:{_BASIC}|{_LITERAL})[^\[\]{{}}\"'#\n]*)*\}}"
_SCALAR = r"[^\s#\[\]{}\"',=]+"
_END = r"[ \t]*(?:#[^\n]*)?(?:\r?\n|\Z)"
_STATEMENT = _Lazy(
    rf"[ \t]*(?:(?P<blank>(?:#[^\n]*)?(?:\r?\n|\Z))"
    rf"|(?P<open>\[\[?)[ \t]*(?P<header>{_DOTTED})[ \t]*(?P<close>\]\]?){_END}"
    rf"|(?P<key>{_DOTTED})[ \t]*=[ \t]*"
    rf"(?P<value>{_STRING}|{_FLAT_ARRAY}|{_FLAT_TABLE}|{_SCALAR}){_END})"
)
# statements that are not headers, as many as follow each other: skipped in one match
# where only headers matter (the listing)
_NOT_HEADERS = _Lazy(
    rf"(?:[ \t]*(?:(?:#[^\n]*)?\r?\n|{_DOTTED}[ \t]*=[ \t]*"
    rf"(?:{_STRING}|{_FLAT_ARRAY}|{_FLAT_TABLE}|{_SCALAR}){_END}))*"
)
_HEADER = _Lazy(
    rf"[ \t]*(?P<open>\[\[?)[ \t]*(?P<header>{_DOTTED})[ \t]*(?P<close>\]\]?){_END}"
)
_KEY_PART = _Lazy(_KEY)
_ITEM = _Lazy(rf"(?P<string>{_STRING})|#[^\n]*")
_MULTILINE = ('"""', "'''")


def _key_text(text: str) -> str:
    """A bare or quoted key's name (an escape in a quoted key is beyond the scan)."""
    if text[0] not in "\"'":
        return text
    if text.startswith(_MULTILINE) or (text[0] == '"' and "\\" in text):
        raise Doubt(f"key {text}")
    return text[1:-1]


def _dotted(text: str) -> tuple[str, ...]:
    return tuple(_key_text(m.group()) for m in _KEY_PART.compiled.finditer(text))


class _Scan:
    """The events of one document, in order: ("header", line, start, keys, array),
    ("key", line, start, keys) and ("item", line) for a string in an array."""

    def __init__(self, text: str, keys: bool = True):
        self.text = text
        self.want_keys = keys  # False: headers only (keys and items are skipped)
        self.pos = 0  # where the next statement starts
        self.line = 1
        self.tokens: Iterator[re.Match[str]] = iter(())

    def events(self) -> Iterator[tuple]:
        text = self.text
        while self.pos < len(text):
            if not self.want_keys:
                skipped = _NOT_HEADERS.compiled.match(text, self.pos)
                end = skipped.end() if skipped else self.pos
                self.line += text.count("\n", self.pos, end)
                self.pos = end
                if end == len(text):
                    return
            statement = _STATEMENT if self.want_keys else _HEADER
            match = statement.compiled.match(text, self.pos)
            if match is None:
                yield from self.slow()  # one statement, token by token
                continue
            line, self.pos = self.line, match.end()
            self.line += match.group().count("\n")
            if match["header"] is not None:
                array = match["open"] == "[["
                if array != (match["close"] == "]]"):
                    raise Doubt(f"the header at line {line}")
                keys = _dotted(match["header"])
                yield ("header", line, match.start("open"), keys, array)
            elif match.groupdict().get("key") is not None:
                yield ("key", line, match.start("key"), _dotted(match["key"]))
                value = match["value"]
                if value[0] == "[":
                    at = line + text.count("\n", match.start(), match.start("value"))
                    for item in _ITEM.compiled.finditer(value):
                        if item["string"] is not None:
                            yield ("item", at + value.count("\n", 0, item.start()))

    # -- token by token ----------------------------------------------------------
    def slow(self) -> Iterator[tuple]:
        self.tokens = _TOKEN.compiled.finditer(self.text, self.pos)
        kind, text, start = self.next()
        line = self.line - (kind == "nl")
        if kind == "comment":
            self.end_of_line()
        elif kind == "punct" and text == "[":
            array = self.text.startswith("[", start + 1)
            if array:
                self.next()
            keys = self.keys(self.next(), "]")
            if array:
                kind, text, _ = self.next(skip_ws=False)
                if text != "]":
                    raise Doubt("a header [[...] not closed by ]]")
            self.end_of_line()
            yield ("header", line, start, keys, array)
        elif kind in ("bare", "string"):
            yield ("key", line, start, self.keys((kind, text, start), "="))
            yield from self.value()
        elif kind not in ("nl", "end"):
            raise Doubt(f"'{text}' where a key or header belongs")

    def next(self, skip_ws: bool = True) -> tuple[str, str, int]:
        for match in self.tokens:
            kind, text = match.lastgroup or "", match.group()
            self.pos = match.end()
            if kind == "string" or kind == "nl":
                self.line += text.count("\n")
            if kind == "ws" and skip_ws:
                continue
            return kind, text, match.start()
        self.pos = len(self.text)
        return ("end", "", len(self.text))

    def keys(self, first: tuple[str, str, int], until: str) -> tuple[str, ...]:
        """A dotted key from its first token up to `until` ('=', ']')."""
        if first[0] not in ("bare", "string"):
            raise Doubt(f"'{first[1]}' in a key")
        keys = [_key_text(first[1])]
        while True:
            kind, text, _ = self.next()
            if text == until and kind == "punct":
                return tuple(keys)
            if text != "." or kind != "punct":
                raise Doubt(f"'{text}' in a key")
            kind, text, _ = self.next()
            if kind not in ("bare", "string"):
                raise Doubt(f"'{text}' in a key")
            keys.append(_key_text(text))

    def end_of_line(self) -> None:
        kind, text, _ = self.next()
        if kind == "comment":
            kind, text, _ = self.next()
        if kind not in ("nl", "end"):
            raise Doubt(f"'{text}' after a header or value")

    def value(self) -> Iterator[tuple]:
        """The events of a value, through the end of its line."""
        depth: list[str] = []  # the open brackets and braces
        while True:
            kind, text, _ = self.next()
            if kind == "string" and depth and depth[-1] == "[":
                yield ("item", self.line - text.count("\n"))
            elif kind == "punct" and text in "[{":
                depth.append(text)
            elif kind == "punct" and text in "]}":
                if not depth or depth.pop() != {"]": "[", "}": "{"}[text]:
                    raise Doubt(f"an unmatched '{text}'")
            elif kind == "bad" or (kind == "end" and depth):
                raise Doubt("an unterminated string or bracket")
            if not depth and kind in ("nl", "end", "comment"):
                if kind == "comment":
                    self.end_of_line()
                return


def _line_start(text: str, at: int) -> int:
    return text.rfind("\n", 0, at) + 1


def head_text(text: str, keep: Collection[str], known: Collection[str]) -> str:
    """What precedes the first table header, and every table whose first key is in
    `keep`; raises Doubt where the scan is unsure or a table is not `known`."""
    if text.count("\r") != text.count("\r\n"):
        raise Doubt("a carriage return that ends no line")
    # TOML reads CRLF as LF, in multi-line strings too: a cut after "\r" is none
    text = text.replace("\r\n", "\n")
    found = [
        (_line_start(text, event[2]), event[3][0])
        for event in _Scan(text, keys=False).events()
        if event[0] == "header"
    ]
    starts = [start for start, _ in found] + [len(text)]
    kept = [text[: starts[0]]]
    for (start, first), end in zip(found, starts[1:], strict=True):
        if first in keep:
            kept.append(text[start:end])
        elif first not in known:
            raise Doubt(f"unknown table {first!r}")
    return "".join(kept)


def locate(text: str) -> dict[Key, int]:
    """Map key paths to 1-based line numbers; array-of-tables get their index. Best
    effort: where the scan is unsure, what it found up to there."""
    positions: dict[Key, int] = {}
    counts: dict[Key, int] = {}
    table: Key = ()
    path: Key = ()
    item = 0
    try:
        for event in _Scan(text).events():
            if event[0] == "header":
                _, line, _, names, array = event
                table = names
                if array:
                    index = counts.get(names, 0)
                    counts[names] = index + 1
                    table = names + (index,)
                positions.setdefault(table, line)
            elif event[0] == "key":
                path, item = table + event[3], 0
                positions.setdefault(path, event[1])
            else:
                positions.setdefault(path + (item,), event[1])
                item += 1
    except Doubt:
        pass
    return positions


@dataclass
class Located:
    """One parsed file (named as messages name it) and the line of each key in it."""

    rel: str
    data: dict[str, Any]
    positions: dict[Key, int]

    def loc(self, *key: str | int) -> Location:
        # imported here: the listing scans without the model
        from testmatrix.core.model import Location

        return Location(self.rel, line_of(self.positions, *key))


def line_of(positions: dict[Key, int], *keys: str | int) -> int:
    """Line of the longest known prefix of `keys` (1 when nothing is known)."""
    path = tuple(keys)
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return 1


def header_lines(text: str) -> list[tuple[int, tuple[str | int, ...]]]:
    """(line, key path) of every table header, array-of-tables with their index:
    where a `[[...]]` entry starts and the next table begins. Raises Doubt where
    the text is not plainly TOML (an editor must not guess)."""
    out: list[tuple[int, tuple[str | int, ...]]] = []
    counts: dict[Key, int] = {}
    for event in _Scan(text).events():
        if event[0] == "header":
            _, line, _, names, array = event
            if array:
                index = counts.get(names, 0)
                counts[names] = index + 1
                names = names + (index,)
            out.append((line, names))
    return out
