"""Drift of a generated CI file: a unified diff from the committed file to what the
skiplists generate, for `export --check` of every CI format."""

from __future__ import annotations

import difflib
from pathlib import Path


def drift(root: Path, path: Path, expected: str) -> str:
    """The diff from `path` as committed (absent: empty) to `expected`; '' when equal.
    Named relative to the workspace `root` where it lies inside it."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return "".join(
        difflib.unified_diff(
            current.splitlines(True),
            expected.splitlines(True),
            f"{rel} (committed)",
            f"{rel} (from skiplists)",
        )
    )
