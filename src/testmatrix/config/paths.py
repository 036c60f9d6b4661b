"""Paths a skiplist names: made workspace-relative, refused where they leave the
workspace, and a guess where a missing one went."""

from __future__ import annotations

import functools
import os
import posixpath
import subprocess
from pathlib import Path, PurePosixPath


def normalise(path: str, base: str = "") -> tuple[str | None, str]:
    """A workspace-relative posix path (and ""), or None and why it is refused: an
    absolute path, one leaving the workspace, or the workspace root itself."""
    if os.path.isabs(path) or path.startswith("~"):
        return None, f"path '{path}' must be relative"
    joined = PurePosixPath(base, path) if base else PurePosixPath(path)
    parts: list[str] = []
    for part in joined.parts:
        if part == "..":
            if not parts:
                return None, f"path '{path}' leaves the workspace"
            parts.pop()
        elif part != ".":
            parts.append(part)
    if not parts:
        return None, f"path '{path}' is the workspace root itself"
    return "/".join(parts), ""


def escapes(root: Path, norm: str) -> str | None:
    """Why a workspace path is refused though it is written inside: a symbolic link
    on the way leads out of the workspace (tests there have no workspace path to
    decide by, and --ignore flags would not match them)."""
    real = os.path.realpath(root / norm)
    top = os.path.realpath(root)
    if real == top or real.startswith(top + os.sep):
        return None
    return f"'{norm}' leads out of the workspace through a symbolic link (to {real})"


def did_you_mean_path(
    root: Path, missing: str, base: str, within: str | None = None
) -> str:
    """' (did you mean 'x'?)' naming where a missing file went, relative to `base`:
    where git's history renamed it (following renames to the newest name), else the
    same file name elsewhere under `base` (a move), else a name a slip of the
    keyboard away beside it (a misspelling); never a merely similar file. Moves are
    looked for `within` that directory (default: `base`)."""
    found = renamed(root, missing)
    parent, name = posixpath.split(missing)
    top = base if within is None else within
    if found is None and (root / top).is_dir():
        moved = sorted(
            p for p in (root / top).rglob(name) if "__pycache__" not in p.parts
        )
        found = moved[0].relative_to(root).as_posix() if moved else None
    if found is None and (root / parent).is_dir():
        close = sorted(
            p.name
            for p in (root / parent).iterdir()
            if p.name != "__pycache__" and _edits(p.name, name) <= 2
        )
        found = posixpath.join(parent, close[0]) if close else None
    if found is None:
        return ""
    return f" (did you mean '{posixpath.relpath(found, base or '.')}'?)"


def _edits(a: str, b: str) -> int:
    """Edits between two names, a swap of neighbours counting one (optimal string
    alignment; difflib gives similarity ratios, not edit counts)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i]
        for j in range(1, len(b) + 1):
            cost = min(
                rows[-1][j] + 1,
                row[j - 1] + 1,
                rows[-1][j - 1] + (a[i - 1] != b[j - 1]),
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def renamed(root: Path, missing: str) -> str | None:
    """Where git's rename detection says a missing path went, following later
    renames, if that path exists; None without git, history or a rename."""
    moves = _git_renames(str(root))
    seen: set[str] = set()
    path = missing
    while path in moves and path not in seen:
        seen.add(path)
        path = moves[path]
    return path if path != missing and (root / path).exists() else None


@functools.lru_cache(maxsize=8)
def _git_renames(root: str) -> dict[str, str]:
    """old path: new path for every rename in the checkout's history (root-relative;
    the oldest first, so a chain reads forward). Asked only for a missing path, and
    only where a repository holds the checkout (no process started otherwise)."""
    here = Path(root).resolve()
    if not any((d / ".git").exists() for d in (here, *here.parents)):
        return {}
    try:
        done = subprocess.run(
            ["git", "-C", root, "log", "-M", "--diff-filter=R", "--name-status"]
            + ["--format=", "--relative", "-n", "20000"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if done.returncode != 0:
        return {}
    moves: dict[str, str] = {}
    for line in reversed(done.stdout.splitlines()):
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].startswith("R"):
            moves[parts[1]] = parts[2]
    return moves
