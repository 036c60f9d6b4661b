"""Load the workspace: from the cache where the skiplists are what it was made from,
else read and validated afresh (and cached)."""

from __future__ import annotations

import os
from pathlib import Path

from testmatrix.config import cache
from testmatrix.config.root import find_root as find_root
from testmatrix.core.model import Workspace
from testmatrix.core.names import HARDWARE as HARDWARE
from testmatrix.core.names import NAME_PATTERN as NAME_PATTERN
from testmatrix.core.names import RESERVED_PLATFORMS as RESERVED_PLATFORMS
from testmatrix.core.names import SKIPLIST_DIR as SKIPLIST_DIR
from testmatrix.errors import ConfigError, Problem

__all__ = [
    "HARDWARE",
    "NAME_PATTERN",
    "RESERVED_PLATFORMS",
    "SKIPLIST_DIR",
    "find_root",
    "find_skiplists",
    "load_workspace",
]


def find_skiplists(start: Path) -> Path:
    """The workspace root: the nearest directory at or above `start` with
    skiplists/suites.toml."""
    root = find_root(start)
    if root is not None:
        return root
    start = start.resolve()
    message = f"no {SKIPLIST_DIR}/suites.toml here or in any parent directory"
    raise ConfigError([Problem(str(start), None, message)])


def load_workspace(
    root: Path | str | None = None,
    skiplist_dir: Path | str | None = None,
    *,
    check_paths: bool = True,
) -> Workspace:
    """Load and validate the skiplists of the workspace at (or above) `root`.

    check_paths=False skips the checks that paths exist: for transformations of the
    skiplists alone (a pipeline export away from the checkout), never for running or
    linting tests.
    """
    if skiplist_dir is not None:
        skiplist_dir = Path(skiplist_dir).resolve()
        root = Path(root).resolve() if root is not None else skiplist_dir.parent
        if not (skiplist_dir / "suites.toml").is_file():
            message = "no suites.toml in this skiplist directory"
            raise ConfigError([Problem(str(skiplist_dir), None, message)])
    else:
        root = find_skiplists(Path(root) if root is not None else Path.cwd())
        skiplist_dir = root / SKIPLIST_DIR
    root, skiplist_dir = Path(root), Path(skiplist_dir)
    if not check_paths:
        return _read(root, skiplist_dir, check_paths)
    files = cache.read_files(skiplist_dir)
    current = cache.stamp(skiplist_dir, files)
    cached = _cached(root, skiplist_dir, current)
    if cached is not None:
        return cached
    workspace = _read(root, skiplist_dir, check_paths)
    if current:  # every file was read: cache what they loaded into
        from testmatrix.config import codec

        try:
            body = codec.encode(workspace)
        except codec.Refused:  # pragma: no cover - the model holds only its own
            return workspace
        cache.put(skiplist_dir, "workspace", current, body, root=str(root))
        from testmatrix.config import listing

        listing.store_for(workspace, files)  # and their sessions, for nox -l
    return workspace


def _read(root: Path, skiplist_dir: Path, check_paths: bool) -> Workspace:
    """The workspace read and validated from its TOML (the reader, the declarations
    and their checker are imported only here: a cached start needs none of them)."""
    from testmatrix.config.reader import Reader

    return Reader(root, skiplist_dir, check_paths).load()


def _cached(root: Path, skiplist_dir: Path, current: str) -> Workspace | None:
    """The cached workspace, if it was loaded from what is there now and every
    path it names still exists (a renamed test file is a change the TOML cannot
    show)."""
    body = cache.get(skiplist_dir, "workspace", current, root=str(root))
    if body is None:
        return None
    from testmatrix.config import codec

    try:
        workspace = codec.decode(body, root, skiplist_dir)
    except codec.Refused:
        return None
    return workspace if _paths_exist(workspace) else None


def _paths_exist(workspace: Workspace) -> bool:
    root = workspace.root
    # a set: thousands of single-test deselects name a few hundred files
    paths = {p for s in workspace.suites.values() for p in s.paths}
    paths.update(e.target for s in workspace.suites.values() for e in s.excludes)
    for platform in workspace.platforms.values():
        paths.update(e.target for e in platform.ignores)
        paths.update(e.nodeid.split("::", 1)[0] for e in platform.deselects)
    return all(os.path.exists(os.path.join(root, p)) for p in paths)
