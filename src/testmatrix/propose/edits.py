"""Skiplist edits as text: new entries appended, stale entries' `[[...]]` tables cut
out by their lines, everything else in the files byte for byte as it was. No file
is parsed and written back: a TOML writer would drop comments and blank lines."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from testmatrix.config.tomlpos import Doubt, header_lines
from testmatrix.config.writer import toml_array, toml_string, toml_table
from testmatrix.errors import TestmatrixError

from .cluster import Group
from .evidence import Stale, shown_builds

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
PLACEHOLDER_ISSUE = "https://issues.invalid/file-an-issue"


@dataclass
class FileEdit:
    """The edits of one skiplist file."""

    path: Path  # absolute
    rel: str  # as messages and the diff name it
    old: str | None  # None: a new file
    remove: list[tuple[int, Stale]] = field(default_factory=list)  # header line
    add: list[str] = field(default_factory=list)  # entry texts
    notes: list[str] = field(default_factory=list)  # the diff's comments

    def new_text(self) -> str:
        text = self.old if self.old is not None else ""
        lines = split_lines(text)
        for start, end in sorted(
            (entry_span(text, self.rel, line) for line, _ in self.remove),
            reverse=True,
        ):
            del lines[start:end]
        out = "".join(lines)
        if self.add:
            if out and not out.endswith("\n"):
                out += "\n"
            if out and not out.endswith("\n\n"):
                out += "\n"
            out += "\n".join(self.add)
        return out

    def diff(self) -> str:
        old = split_lines(self.old or "")
        new = split_lines(self.new_text())
        header = "".join(f"# {one_line(note)}\n" for note in self.notes)
        body = "".join(
            difflib.unified_diff(
                old,
                new,
                "/dev/null" if self.old is None else f"a/{self.rel}",
                f"b/{self.rel}",
            )
        )
        return header + body


def split_lines(text: str) -> list[str]:
    """Lines as TOML counts them, ends kept: at "\n" only (str.splitlines also
    breaks at \x85 and \u2028, which a TOML string may hold)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def entry_header(text: str, rel: str, line: int) -> int:
    """The header line of the `[[...]]` table holding `line` (an entry's location
    is its header, or the line of one of its tests)."""
    try:
        headers = header_lines(text)
    except Doubt as exc:
        raise TestmatrixError(f"{rel}: cannot edit this file safely: {exc}") from None
    before = [(at, names) for at, names in headers if at <= line]
    if not before or not isinstance(before[-1][1][-1], int):
        raise TestmatrixError(f"{rel}:{line}: no [[...]] entry holds this line")
    return before[-1][0]


def entry_span(text: str, rel: str, line: int) -> tuple[int, int]:
    """0-based [start, end) of the lines of the `[[...]]` table whose header is on
    `line`: up to its last value line, and one blank line after it where a blank
    line also comes before (so no double gap is left). Comments just above the next
    table are that table's."""
    line = entry_header(text, rel, line)
    headers = header_lines(text)
    lines = [part.rstrip("\n") for part in split_lines(text)]
    later = [at for at, _ in headers if at > line]
    end = (later[0] - 1) if later else len(lines)  # 1-based exclusive: next header
    while end > line and (
        not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
    ):
        end -= 1
    start = line - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1  # the comment right above an entry is about it
    before_blank = start > 0 and not lines[start - 1].strip()
    if before_blank and end < len(lines) and not lines[end].strip():
        end += 1
    elif before_blank and end == len(lines):
        start -= 1  # the last entry: drop the gap before it instead
    return start, end


def entry_text(group: Group, reruns: int, issue: str) -> str:
    """The TOML of one proposed entry, with a comment saying where it comes from."""
    on = group.platform + (f" ({', '.join(group.variants)})" if group.variants else "")
    lines = []
    if group.signature is None:
        lines.append(one_line(f"# flaky on {on} in {shown_builds(group.builds)}"))
        lines.append("[[flaky]]")
        lines.append(_tests_key(group.items))
        lines.append(f"reruns = {reruns}")
        reason = "flaky: passes and fails on the same code"
    else:
        sig = group.signature
        lines.append(
            one_line(
                f"# {group.tests} tests fail alike on {on} in "
                f"{shown_builds(group.builds)}"
            )
        )
        lines.append("[[deselect]]")
        lines.append(_tests_key(group.items))
        reason = (
            f"fails with {sig.error}: {sig.words()}"
            if sig.template
            else (f"fails with {sig.error}")
        )
    if group.variants:
        lines.append(f"variants = {toml_array(group.variants)}")
    lines.append(f"reason = {toml_string(reason)}")
    lines.append(f"issue = {toml_string(issue)}")
    if group.signature is not None:
        fails = {"error": group.signature.error}
        if group.signature.pattern:
            fails["match"] = group.signature.pattern
        lines.append(f"fails = {toml_table(fails)}")
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    """A comment's text with no line break or control character: build names and
    locations come from reports, and a newline in a comment would be TOML (or a
    diff line) of somebody else's making."""
    return _CONTROL.sub("?", text)


def _tests_key(items: tuple[str, ...]) -> str:
    if len(items) == 1:
        return f"test = {toml_string(items[0])}"
    return f"tests = {toml_array(items)}"


def new_platform_text(platform: str) -> str:
    """The head of a platform file that does not exist yet."""
    return (
        f"# {platform}: first skiplist, proposed by `testmatrix propose` from a\n"
        "# --no-skiplist run; each entry's issue is a placeholder to replace.\n\n"
        "[platform]\n"
        f"description = {toml_string(f'{platform} platform')}\n"
    )
