"""Markdown that holds any text: table cells, code spans, TOML values, anchors."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def code(text: str) -> str:
    """A code span around `text`, whatever backticks it holds."""
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: str) -> str:
    """Text for a page or a table cell, on one line: outside its code spans, HTML
    escaped and pipes escaped (a table row would split on them; Python-Markdown's
    tables leave pipes inside code spans alone)."""
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_plain(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_plain(text[last:]))
    return " ".join("".join(out).split())


def _plain(text: str) -> str:
    return html.escape(text, quote=False).replace("|", r"\|")


def toml(value: Any) -> str:
    """A default value as TOML writes it, in a code span."""
    return code(_toml(value))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{k} = {_toml(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return repr(value)


def anchor(title: str) -> str:
    """An id for a heading: [suites.NAME.buildkite] -> suites-name-buildkite."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table; the cells are Markdown already."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
