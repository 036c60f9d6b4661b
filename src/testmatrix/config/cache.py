"""A cache of the validated workspace: `nox -l` and pytest start-up skip parsing and
validating TOML.

A cached workspace is used only if the content of every skiplist file and of the
package's own loading code is what it was loaded from (a hash, not size and mtime: a
file replaced by one of the same size and mtime is a change), and every path the
skiplists name still exists (renaming a test file is a change the TOML cannot show).
Locations in messages are relative to the working directory, so each working
directory has a cache file of its own: pytest run from tests/ and nox run from the
root no longer evict each other.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
from pathlib import Path

from testmatrix import __version__
from testmatrix.config.listing import files_digest, read_files
from testmatrix.core.model import Workspace

# the modules whose code decides what a skiplist loads into
_LOADING_CODE = (
    "config/loader.py",
    "config/schema.py",
    "config/tomlpos.py",
    "config/tomlscan.py",
    "config/listing.py",
    "core/model.py",
    "core/names.py",
    "core/expression.py",
    "errors.py",
)


@functools.cache
def code_digest() -> str:
    """A hash of the package's loading code: a change to it is a new cache."""
    digest = hashlib.sha256(__version__.encode())
    here = Path(__file__).parents[1]  # testmatrix/
    for name in _LOADING_CODE:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()


def stamp(skiplist_dir: Path, files: dict[str, bytes] | None = None) -> str:
    """What a cached workspace must have been loaded from: every skiplist file's
    content (`files`, when the caller has read them), the loading code, Python's
    version, the directory and the cwd; "" where a file cannot be read (no cache)."""
    files = read_files(skiplist_dir) if files is None else files
    if files is None:
        return ""
    digest = files_digest(files)
    for part in (code_digest(), str(sys.version_info[:2]), str(skiplist_dir)):
        digest.update(part.encode() + b"\0")
    digest.update(os.getcwd().encode() + b"\0")
    return digest.hexdigest()


def _file(skiplist_dir: Path) -> Path:
    where = hashlib.sha256(os.getcwd().encode()).hexdigest()[:12]
    return skiplist_dir / "__pycache__" / f"testmatrix-workspace-{where}.pickle"


def _paths_exist(workspace: Workspace) -> bool:
    root = workspace.root
    paths = [p for s in workspace.suites.values() for p in s.paths]
    paths += [e.target for s in workspace.suites.values() for e in s.excludes]
    for platform in workspace.platforms.values():
        paths += [e.target for e in platform.ignores]
        paths += [e.nodeid.split("::", 1)[0] for e in platform.deselects]
    return all(os.path.exists(os.path.join(root, p)) for p in paths)


def get(skiplist_dir: Path, current: str | None = None) -> Workspace | None:
    """The cached workspace, if it was loaded from what is there now (`current`:
    the stamp, when the caller has it already)."""
    try:
        with open(_file(skiplist_dir), "rb") as handle:
            cached_stamp, workspace = pickle.load(handle)
    except Exception:  # absent, unreadable or from another version: load afresh
        return None
    current = stamp(skiplist_dir) if current is None else current
    if not current or cached_stamp != current:
        return None
    if not isinstance(workspace, Workspace) or not _paths_exist(workspace):
        return None
    return workspace


def put(skiplist_dir: Path, workspace: Workspace, loaded_from: str) -> None:
    """Cache a workspace under the stamp taken before it was loaded: if the files
    changed meanwhile, the stamp no longer matches and the next load starts afresh."""
    target = _file(skiplist_dir)
    try:
        target.parent.mkdir(exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            pickle.dump((loaded_from, workspace), handle, pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except OSError:  # a read-only checkout simply goes without the cache
        pass
