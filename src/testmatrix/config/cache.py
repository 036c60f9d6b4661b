"""One cache of what the skiplists load into, as plain JSON: the session listing
(`nox -l`) and the validated workspace (pytest start-up, every command).

Each entry is a file under `skiplists/__pycache__/`: a first line naming the format
and the stamp it was made under, then its body. The stamp is a hash of every skiplist
file (path and content), the package's loading code and Python's version; a body is
decoded only after its stamp is found current, and only from a regular file that the
current user owns and no one else may write (anything else is treated as absent,
never trusted). Files are written whole (a temporary file renamed over), 0644, and
never over a file this user did not create.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import IO

from testmatrix import __version__
from testmatrix.errors import TestmatrixError
from testmatrix.jsonio import read_bytes

FORMAT = "testmatrix-cache/2"
KINDS = ("sessions", "workspace")  # one file each
_HEADER_LIMIT = 4096  # the first line: format, stamp, and where the workspace lies
# the core modules whose code decides what a skiplist loads into (all of config too)
_CORE_MODULES = ("model", "record", "names", "expression", "errorpattern")


def enabled() -> bool:
    """TESTMATRIX_NO_CACHE (any value) turns the cache off, reading and writing."""
    return not os.environ.get("TESTMATRIX_NO_CACHE")


def read_files(skiplist_dir: Path) -> dict[str, bytes] | None:
    """Every skiplist file (*.toml under the directory) by path, in a fixed order;
    None where one cannot be read."""
    files: dict[str, bytes] = {}
    try:
        for dirpath, dirs, names in os.walk(skiplist_dir):
            dirs.sort()
            for name in sorted(names):
                if name.endswith(".toml"):
                    path = os.path.join(dirpath, name)
                    # bounded, and no FIFO or device: the reader says what is wrong
                    files[path] = read_bytes(Path(path), "skiplist")
    except (OSError, TestmatrixError):
        return None
    return files


@functools.cache
def code_digest() -> str:
    """A hash of the code that decides what skiplists load into (every module of
    `config`, the model, the names, the expression grammar, the errors): each file
    by its size and modification time, as Python's own bytecode cache judges a
    source (a stat each, where reading and hashing them all cost every run 1.5 ms)."""
    package = os.path.dirname(os.path.dirname(__file__))  # testmatrix/
    config = f"{package}{os.sep}config{os.sep}"  # os.path.join's paths, joined in C
    names = sorted(name for name in os.listdir(config) if name.endswith(".py"))
    modules = [config + name for name in names]
    core = f"{package}{os.sep}core{os.sep}"
    modules += [f"{core}{name}.py" for name in _CORE_MODULES]
    modules += [f"{package}{os.sep}{name}" for name in ("errors.py", "jsonio.py")]
    stats = map(os.stat, modules)
    lines = [
        f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0"
        for path, info in zip(modules, stats, strict=True)
    ]
    return hashlib.sha256((__version__ + "".join(lines)).encode()).hexdigest()


def stamp(skiplist_dir: Path, files: dict[str, bytes] | None) -> str:
    """What a cache entry must have been made from: the files (paths relative to the
    skiplist directory), the loading code and Python's version; "" where the files
    could not all be read or the code cannot be hashed (no cache)."""
    if files is None:
        return ""
    digest = hashlib.sha256()
    for path, data in files.items():
        rel = os.path.relpath(path, skiplist_dir)
        digest.update(rel.encode() + b"\0" + data + b"\0")
    try:
        code = code_digest()
    except OSError:
        return ""
    digest.update(f"{code}\0{sys.version_info[:2]}".encode())
    return digest.hexdigest()


def _path(skiplist_dir: Path, kind: str) -> Path:
    return skiplist_dir / "__pycache__" / f"testmatrix-{kind}.json"


def _ours(info: os.stat_result) -> bool:
    """A regular file of this user that no one else may write."""
    if not stat.S_ISREG(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def _open(path: Path) -> IO[bytes] | None:
    """The file opened for reading if it is ours (checked on the open file, so it
    cannot be swapped between check and read); None otherwise."""
    # no symbolic link followed; O_NONBLOCK: a FIFO planted there cannot block us
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if not _ours(os.fstat(fd)):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb")
    except OSError:
        os.close(fd)
        return None


def get(skiplist_dir: Path, kind: str, current: str, **header: str) -> str | None:
    """The body (JSON text) cached as `kind` under the stamp `current` and the
    header's other values; None where absent, stale, untrusted or unreadable."""
    if not current or not enabled():
        return None
    handle = _open(_path(skiplist_dir, kind))
    if handle is None:
        return None
    with handle:
        try:
            first = json.loads(handle.readline(_HEADER_LIMIT))
            wanted = {"format": FORMAT, "stamp": current, **header}
            if first != wanted:
                return None
            return handle.read().decode("utf-8")
        except (OSError, ValueError):  # cut short, or not JSON: not served
            return None


def put(skiplist_dir: Path, kind: str, current: str, body: str, **header: str) -> None:
    """Cache `body` (JSON text) as `kind` under the stamp taken before it was made:
    if the files changed meanwhile, the stamp no longer matches and the next load
    starts afresh. A read-only checkout simply goes without the cache."""
    if not current or not enabled():
        return
    target = _path(skiplist_dir, kind)
    first = json.dumps({"format": FORMAT, "stamp": current, **header})
    data = (first + "\n" + body).encode()
    try:
        if target.parent.is_symlink():
            return
        target.parent.mkdir(exist_ok=True)
        try:
            if not _ours(os.lstat(target)):
                return  # never over a file this user did not create
        except FileNotFoundError:
            pass
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o644)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except OSError:
            tmp.unlink(missing_ok=True)
    except OSError:
        pass
