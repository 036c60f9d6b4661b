"""Where a subcommand's output goes: standard output, or a file it may write."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from testmatrix.errors import TestmatrixError


def check_target(path: Path, *, ours: str | None = None, force: bool = False) -> None:
    """Refuse to write over what is not a regular file (a symlink, a FIFO, a device:
    replacing it by renaming would destroy it), and over a file that does not start
    with `ours` (the header testmatrix writes, which proves it wrote the file) unless
    `force` says to."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot write: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise TestmatrixError(f"{path}: {kind}; refusing to write over it")
    if ours is None or force:
        return
    ours = ours.splitlines()[0]
    try:
        with path.open("rb") as handle:
            head = handle.read(len(ours.encode()))
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read: {exc.strerror}") from None
    if head != ours.encode():
        raise TestmatrixError(
            f"{path}: exists and testmatrix did not write it (no '{ours}' "
            "header); pass --force to overwrite it"
        )


def write_output(
    path: Path,
    text: str,
    *,
    given: bool,
    ours: str | None = None,
    force: bool = False,
) -> None:
    """Write a file atomically. A folder the user named (-o) must exist: a typo there
    is an error, not a new folder; the default location's folder is made. What is
    there already must be a regular file, and one testmatrix wrote (see
    check_target)."""
    if given and not path.parent.is_dir():
        raise TestmatrixError(f"{path}: folder '{path.parent}' does not exist")
    check_target(path, ours=ours, force=force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot write: {exc.strerror}") from None
    print(f"wrote {path}")
