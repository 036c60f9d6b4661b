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


# The most any input file may hold: a summary or durations file of a 120,000-test
# run is a few MiB; a device (/dev/zero) or a runaway file must not be read forever.
MAX_INPUT = 64 * 1024 * 1024


def read_bytes(path: Path, what: str, limit: int = MAX_INPUT) -> bytes:
    """A file's bytes, at most `limit` of them; unreadable or larger is one line
    naming it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read {what}: {exc.strerror}") from None
    if len(data) > limit:
        raise TestmatrixError(
            f"{path}: {what} is larger than {limit // (1024 * 1024)} MiB, the most "
            "testmatrix reads of one input"
        )
    return data


def read_text(path: Path, what: str) -> str:
    """A text file's content; unreadable, too large or not UTF-8 is one line naming
    it."""
    return decode(read_bytes(path, what), path, what)


def read_json(path: Path, what: str) -> object:
    """The parsed file; a missing, undecodable, too large or malformed file is one
    line naming it."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TestmatrixError(
            f"{path}:{exc.lineno}: {what} is not JSON: {exc.msg}"
        ) from None
    except RecursionError:  # [[[[...]]]] nested deeper than the parser goes
        raise TestmatrixError(f"{path}:1: {what} is nested too deeply") from None
