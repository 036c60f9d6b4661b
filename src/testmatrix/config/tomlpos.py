"""Line numbers for keys of a TOML document, so config errors can name file:line.

tomllib gives values but no positions. Once a file has parsed, a line scan is
enough to place table headers, keys and the string items of arrays.
"""

from __future__ import annotations

import re
import sys
from typing import Any

# ("ignore", 2, "path") or ("suites", "pooling", "path", 0)
Key = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""  # bare, "basic" or 'literal'
_KEYVAL = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=\s*(.*)$")
# what an array's lines hold that matters for item positions: strings, brackets and
# a comment (to the end of the line)
_ARRAY_TOKEN = re.compile(r""""(?:[^"\\]|\\.)*"|'[^']*'|#.*|[\[\]]""")
_ERROR_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


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


def decode_error_line(error: Exception) -> tuple[int, str]:
    """Split a tomllib error into (line, message without the position suffix)."""
    message = str(error)
    match = _ERROR_AT.search(message)
    line = int(match.group(1)) if match else 1
    return line, _ERROR_AT.sub("", message).strip()


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _split_dotted(key: str) -> list[str]:
    if _BARE.match(key):  # the common case: one bare key
        return [key]
    parts: list[str] = []
    for m in re.finditer(r"""\s*("([^"]*)"|'([^']*)'|[A-Za-z0-9_-]+)\s*(\.|$)""", key):
        parts.append(
            m.group(2)
            if m.group(2) is not None
            else m.group(3)
            if m.group(3) is not None
            else m.group(1)
        )
    return parts


def locate(text: str) -> dict[Key, int]:
    """Map key paths to 1-based line numbers; array-of-tables get their index."""
    positions: dict[Key, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    table: Key = ()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        header = _HEADER.match(raw)
        if header and not _KEYVAL.match(raw):
            names = tuple(_split_dotted(header.group(2)))
            if header.group(1) == "[[":
                index = counts.get(names, 0)
                counts[names] = index + 1
                table = names + (index,)
            else:
                table = names
            positions.setdefault(table, lineno)
            continue
        keyval = _KEYVAL.match(raw)
        if not keyval:
            continue
        path = table + tuple(_split_dotted(keyval.group(1)))
        positions.setdefault(path, lineno)
        value = keyval.group(2)
        if value.startswith('"""') or value.startswith("'''"):
            quote = value[:3]
            if value.count(quote) < 2:
                while i < len(lines) and quote not in lines[i]:
                    i += 1
                i += 1
            continue
        if value.startswith("["):
            depth = 0
            item = 0
            chunk, chunk_line = value, lineno
            while True:
                for token in _ARRAY_TOKEN.finditer(chunk):
                    tok = token.group(0)
                    if tok.startswith("#"):  # a comment: its quotes are no items
                        break
                    if tok in "[]":
                        depth += 1 if tok == "[" else -1
                    else:
                        positions.setdefault(path + (item,), chunk_line)
                        item += 1
                if depth <= 0 or i >= len(lines):
                    break
                chunk, chunk_line = lines[i], i + 1
                i += 1
    return positions


def line_of(positions: dict[Key, int], *keys: str | int) -> int:
    """Line of the longest known prefix of `keys` (1 when nothing is known)."""
    path = tuple(keys)
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return 1
