"""A cache of the validated workspace: `nox -l` and pytest start-up skip parsing TOML.

The key is every skiplist file's path, size and mtime, the working directory
(locations in messages are relative to it) and the package version. A hit is used
only if every path the skiplists name still exists: renaming a test file is a change
the TOML stamps cannot see.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

from . import __version__
from .model import Workspace

NAME = "testmatrix-workspace.pickle"

# (version, Python X.Y, cwd, skiplist dir, ((file, size, mtime_ns), ...))
Stamp = tuple[str, tuple[int, ...], str, str, tuple[tuple[str, int, int], ...]]


def _stamp(skiplist_dir: Path) -> Stamp:
    files: list[tuple[str, int, int]] = []
    for dirpath, _, names in os.walk(skiplist_dir):
        for name in names:
            if name.endswith(".toml"):
                path = os.path.join(dirpath, name)
                st = os.stat(path)
                files.append((path, st.st_size, st.st_mtime_ns))
    return (
        __version__,
        sys.version_info[:2],
        os.getcwd(),
        str(skiplist_dir),
        tuple(sorted(files)),
    )


def _paths_exist(workspace: Workspace) -> bool:
    root = workspace.root
    paths = [p for s in workspace.suites.values() for p in s.paths]
    paths += [e.target for s in workspace.suites.values() for e in s.excludes]
    for platform in workspace.platforms.values():
        paths += [e.target for e in platform.ignores]
        paths += [e.nodeid.split("::", 1)[0] for e in platform.deselects]
    return all(os.path.exists(os.path.join(root, p)) for p in paths)


def get(skiplist_dir: Path) -> Workspace | None:
    try:
        with open(skiplist_dir / "__pycache__" / NAME, "rb") as handle:
            stamp, workspace = pickle.load(handle)
    except Exception:  # absent, unreadable or from another version: just load afresh
        return None
    if stamp != _stamp(skiplist_dir) or not _paths_exist(workspace):
        return None
    return workspace


def put(skiplist_dir: Path, workspace: Workspace) -> None:
    directory = skiplist_dir / "__pycache__"
    try:
        directory.mkdir(exist_ok=True)
        tmp = directory / f"{NAME}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            pickle.dump(
                (_stamp(skiplist_dir), workspace),
                handle,
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        os.replace(tmp, directory / NAME)
    except OSError:  # a read-only checkout simply goes without the cache
        pass
