"""The queries' JSON as readable tables for a terminal."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# a test id or message may hold terminal escapes: shown, never obeyed
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(value: object) -> str:
    if value is None:
        return "-"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; the last column is never padded."""
    cells = [[clean(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
    lines = []
    for row in [list(header), *cells]:
        padded = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def _day(date: str | None) -> str:
    return date[:10] if date else "-"


def _status(data: dict[str, Any]) -> str:
    rows = [
        (
            t["target"],
            t["outcome"],
            f"{t['since_build']} ({_day(t['since_date'])})",
            t["streak"],
            t["last_pass_build"],
            t["changes"],
            t["test"] + (f"  [{t['message']}]" if t["message"] else ""),
        )
        for t in data["tests"]
    ]
    if not rows:
        return "no test matches\n"
    header = ("target", "outcome", "since", "streak", "last pass", "changes", "test")
    return (
        table(header, rows)
        + f"({len(rows)} tests; changes in each target's last {data['window']} "
        "builds)\n"
    )


def _diff(data: dict[str, Any]) -> str:
    out = []
    for side, targets in (("A", data["only_in_a"]), ("B", data["only_in_b"])):
        for target in targets:
            out.append(f"target {clean(target)} ran only in build {side}\n")
    rows = [
        (
            c["target"],
            c["change"],
            f"{c['before'] or '-'} -> {c['after'] or '-'}",
            _seconds(c) if c["change"] == "slower" else clean(c["reason"]) or "-",
            c["test"],
        )
        for c in data["changes"]
    ]
    if rows:
        out.append(table(("target", "change", "outcome", "why", "test"), rows))
    out.append(
        f"{len(rows)} changes from build {clean(data['a'])} to {clean(data['b'])}\n"
    )
    return "".join(out)


def _seconds(change: dict[str, Any]) -> str:
    return f"{change['before_seconds']:.2f}s -> {change['after_seconds']:.2f}s"


def _flaky(data: dict[str, Any]) -> str:
    rows = [
        (
            f["target"],
            ",".join(f["reasons"]),
            f"{f['changes']}/{f['runs']}",
            " ".join(f["builds"][-5:]),
            f["test"],
        )
        for f in data["tests"]
    ]
    text = data["definition"] + "\n\n"
    if rows:
        text += table(("target", "why", "changes/runs", "builds", "test"), rows)
    return text + f"{len(rows)} flaky tests\n"


def _entries(data: dict[str, Any]) -> str:
    rows = [
        (
            e["entry"],
            e["kind"],
            e["target"],
            e["evidence"],
            len(e["tests"]),
            e["detail"],
        )
        for e in data["findings"]
    ]
    if not rows:
        return "no evidence against any entry\n"
    return table(("entry", "kind", "target", "evidence", "tests", "detail"), rows)


def _skips(data: dict[str, Any]) -> str:
    out = []
    for g in data["groups"]:
        out.append(
            f"{clean(g['target'])}: {g['count']} tests skip themselves: "
            f"{clean(g['reason']) or '(no reason)'} "
            f"(since build {clean(g['since_build'])}, "
            f"{_day(g['since_date'])}; {g['builds']} builds)\n"
        )
        out += [f"    {clean(t)}\n" for t in g["tests"]]
    return "".join(out) or "no test skips itself\n"


def render(command: str, data: dict[str, Any]) -> str:
    return {
        "status": _status,
        "diff": _diff,
        "flaky": _flaky,
        "entries": _entries,
        "skips": _skips,
    }[command](data)
