"""Paths a skiplist names: made workspace-relative, refused where they leave the
workspace, and a guess where a missing one went."""

from __future__ import annotations

import os
import posixpath
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


def did_you_mean_path(root: Path, missing: str, base: str) -> str:
    """' (did you mean 'x'?)' naming where a missing file most likely went, relative to
    `base`: a close name beside it (a rename), else the same name elsewhere under
    `base` (a move)."""

    def stem(name: str) -> str:  # 'test_' and '.py' would make every test look alike
        return name.removeprefix("test_").removesuffix(".py")

    parent, name = posixpath.split(missing)
    found = None
    if (root / parent).is_dir():
        names = {
            stem(p.name): p.name
            for p in (root / parent).iterdir()
            if p.name != "__pycache__"
        }
        import difflib  # only for a suggestion in an error: not at every start

        close = difflib.get_close_matches(stem(name), list(names), n=1, cutoff=0.75)
        found = posixpath.join(parent, names[close[0]]) if close else None
    if found is None and (root / base).is_dir():
        moved = sorted(
            p for p in (root / base).rglob(name) if "__pycache__" not in p.parts
        )
        found = moved[0].relative_to(root).as_posix() if moved else None
    if found is None:
        return ""
    return f" (did you mean '{posixpath.relpath(found, base)}'?)"
