"""What names and describes the nox sessions, read without loading the workspace.

`nox -l` shows session names, tags and docstrings. They come from the platform file
names, each platform's [platform] and [variants.NAME] tables, and the suite names and
`platforms` of suites.toml, never from the entries ([[ignore]], [[skip]], ...) that
make up nearly all of a skiplist. This module reads just those, with the standard
library only, so `nox -l` costs about what a hand-written noxfile does:

  warm  a listing cached (JSON, skiplists/__pycache__) under a hash of every skiplist
        file, this module's source and Python's version; written whenever a listing
        or a full load succeeded
  cold  suites.toml, and from each platform file only its [platform] and [variants]
        tables: a scan finds the table headers (skipping strings, comments and arrays,
        so a header-like line inside a value is never taken for one) and tomllib
        parses just those tables

It validates nothing itself: it returns a listing only where the input is plainly
well formed (known tables and keys, names the model accepts, values of the kinds
it reads, references that resolve, no colliding names) and None on any doubt, and
then the caller loads the workspace in full, which says what is wrong. What it does
not read (paths, settings' values, entries, even their TOML syntax) is checked when a
session runs. Where the whole workspace loads, its listing is this one.

The naming rules themselves live here, once: plan, config and the nox sessions use
these functions, so the listing and the plan cannot disagree.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

PLATFORM_FILE_TABLES = frozenset(
    {"platform", "variants", "ignore", "skip", "deselect", "flaky"}
)

_HEAD_TABLES = ("platform", "variants")  # what a listing reads of a platform file


# The table-header scan. One regular expression walks the text: the part before the
# named groups skips plain text, strings (multi-line ones whole, escapes included),
# comments, arrays and inline tables holding none (whole, over lines too), and
# newlines that do not start a line opening with '['. Each match then ends in one
# event: such a line (a table header, its brackets and first key captured, or not
# one), an opening or closing bracket or brace (of an array or inline table holding
# others), the end, or anything else (a quote that opens no valid string: doubt).
_BASIC = r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'


_LITERAL = r"'[^'\n]*'"


_ML_BASIC = r'"""[^"\\]*(?:(?:\\[\s\S]|""?(?!"))[^"\\]*)*"""(?:""?(?!"))?'


_ML_LITERAL = r"'''[\s\S]*?'''(?:''?(?!'))?"


_STRING = f"{_ML_BASIC}|{_ML_LITERAL}|{_BASIC}|{_LITERAL}"


# each alternative of a loop starts where no other can, so a failed match backtracks
# in linear time
_FLAT_ARRAY = rf"\[[^\[\]{{}}\"'#]*(?:(?:{_STRING}|#[^\n]*)[^\[\]{{}}\"'#]*)*\]"


_FLAT_TABLE = rf"\{{[^\[\]{{}}\"'#\n]*(?:(?:{_BASIC}|{_LITERAL})[^\[\]{{}}\"'#\n]*)*\}}"


_SKIP = (
    rf"(?:[^\n\"'#\[\]{{}}]+|\n(?![ \t]*\[)|{_STRING}|#[^\n]*|{_FLAT_ARRAY}"
    rf"|{_FLAT_TABLE})*"
)


_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"\\\n]*"|'[^'\n]*')"""


_EVENT = (
    _SKIP + r"(?:(?P<line>\n[ \t]*(?:(?P<opens>\[\[?)[ \t]*"
    rf"(?P<first>{_KEY})(?:[ \t]*\.[ \t]*{_KEY})*[ \t]*(?P<closes>\]\]?)"
    r"[ \t]*(?:#[^\n]*)?(?=\n|\Z)|\[[^\n]*))"
    r"|(?P<open>[\[{])|(?P<close>[\]}])|(?P<end>\Z)|(?P<doubt>[\s\S]))"
)


class _Doubt(Exception):
    """The scan cannot be sure of the file's tables."""


def headers(text: str) -> list[tuple[int, str]]:
    """Where each table header's line starts in "\\n" + text (whose lines end in
    "\\n"), and the first key it names; raises _Doubt where a line opening with '['
    is not plainly a header."""
    found: list[tuple[int, str]] = []
    depth = 0
    # compiled here, not at import: a cached listing needs no scan (re caches it)
    for match in re.finditer(_EVENT, "\n" + text):
        event = match.lastgroup  # the outermost group: "line", not "first"
        if event == "line":
            opens, closes = match["opens"], match["closes"]
            if depth or opens is None or len(opens) != len(closes):
                raise _Doubt(match["line"])  # an array's item, or not a header
            first = match["first"]
            found.append(
                (match.start("line"), first[1:-1] if first[0] in "\"'" else first)
            )
        elif event == "open":
            depth += 1
        elif event == "close":
            depth -= 1
            if depth < 0:
                raise _Doubt("an unmatched closing bracket")
        elif event == "end":
            break
        else:
            raise _Doubt(f"unreadable: {match['doubt']!r}")
    if depth:
        raise _Doubt("an unclosed bracket")
    return found


def head_text(text: str) -> str:
    """The part of a platform file that names sessions: what precedes the first
    table header, and every [platform...] and [variants...] table; raises _Doubt
    where the scan is unsure or a table is unknown (the loader names it)."""
    if text.count("\r") != text.count("\r\n"):
        raise _Doubt("a carriage return that ends no line")
    # TOML reads CRLF as LF, in multi-line strings too: a cut after "\r" is none
    text = text.replace("\r\n", "\n")
    found = headers(text)
    text = "\n" + text
    starts = [start for start, _ in found] + [len(text)]
    kept = [text[: starts[0]]]
    for (start, first), end in zip(found, starts[1:], strict=True):
        if first in _HEAD_TABLES:
            kept.append(text[start:end])
        elif first not in PLATFORM_FILE_TABLES:
            raise _Doubt(f"unknown table {first!r}")
    return "".join(kept)
