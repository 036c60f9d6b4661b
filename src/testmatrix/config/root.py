"""Where a workspace is: the one question every pytest run asks, answered without
importing the rest of the configuration."""

from __future__ import annotations

from pathlib import Path

from testmatrix.core.names import SKIPLIST_DIR


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` with skiplists/suites.toml, if any."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / SKIPLIST_DIR / "suites.toml").is_file():
            return directory
    return None
