"""Reading inputs (text, JSON) with one-line, located errors."""

from __future__ import annotations

import json
import os
import stat
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


# Far above any summary or durations file (vLLM's whole suite: a few MB); a bigger
# input, or an endless one (/dev/zero, a FIFO), is refused, not read into memory.
MAX_BYTES = 64 * 1024 * 1024


def read_text(
    path: Path, what: str, limit: int = MAX_BYTES, shown: object = None
) -> str:
    """A text file's content; unreadable, not a regular file, bigger than `limit`
    bytes or not UTF-8 is one line naming it (as `shown`, default the path)."""
    return decode(read_bytes(path, what, limit, shown), shown or path, what)


def read_bytes(
    path: Path, what: str, limit: int = MAX_BYTES, shown: object = None
) -> bytes:
    """A regular file's bytes, at most `limit` of them; anything else is one line."""
    shown = shown or path
    try:
        # without waiting: a FIFO nobody writes to would block the open
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as file:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise TestmatrixError(f"{shown}: {what} is not a regular file")
            # read(n) allocates n bytes before it reads: ask for the file's size
            # (and one more), then for the rest of the limit if it grew meanwhile
            data = file.read(min(info.st_size, limit) + 1)
            if info.st_size < len(data) <= limit:
                data += file.read(limit + 1 - len(data))
    except OSError as exc:
        raise TestmatrixError(f"{shown}: cannot read {what}: {exc.strerror}") from None
    if len(data) > limit:
        raise TestmatrixError(
            f"{shown}: {what} is bigger than {limit // (1024 * 1024)} MiB; not read"
        )
    return data


def read_json(path: Path, what: str, limit: int = MAX_BYTES) -> object:
    """The parsed file; a missing, oversized, undecodable or malformed file is one
    line naming it."""
    text = read_text(path, what, limit)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TestmatrixError(
            f"{path}:{exc.lineno}: {what} is not JSON: {exc.msg}"
        ) from None
    except RecursionError:  # json recurses once per level: [[[[... ]]]]
        raise TestmatrixError(
            f"{path}: {what} is not JSON: nested too deeply"
        ) from None
