"""Reading inputs (text, JSON) with one-line, located errors."""

from __future__ import annotations

import json
from pathlib import Path

from testmatrix.errors import TestmatrixError


class NotText(TestmatrixError):
    """A file that is not UTF-8 text; `line` is where the first bad byte is."""

    def __init__(self, path: object, line: int, detail: str):
        super().__init__(f"{path}:{line}: {detail}")
        self.line = line
        self.detail = detail


def decode(data: bytes, path: object, what: str) -> str:
    """UTF-8 text, or one line naming the file, the line and the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        detail = (
            f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        )
        raise NotText(path, line, detail) from None


def read_text(path: Path, what: str) -> str:
    """A text file's content; unreadable or not UTF-8 is one line naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read {what}: {exc.strerror}") from None
    return decode(data, path, what)


def read_json(path: Path, what: str) -> object:
    """The parsed file; a missing, undecodable or malformed file is one line naming
    it."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TestmatrixError(
            f"{path}:{exc.lineno}: {what} is not JSON: {exc.msg}"
        ) from None
