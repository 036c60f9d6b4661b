"""Where a subcommand's output goes: standard output, or a file it may write."""

from __future__ import annotations

from pathlib import Path

from testmatrix.errors import TestmatrixError


def write_output(path: Path, text: str, *, given: bool) -> None:
    """Write a file atomically. A folder the user named (-o) must exist: a typo there
    is an error, not a new folder; the default location's folder is made."""
    if given and not path.parent.is_dir():
        raise TestmatrixError(f"{path}: folder '{path.parent}' does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot write: {exc.strerror}") from None
    print(f"wrote {path}")
