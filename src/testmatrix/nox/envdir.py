"""Several nox processes in one checkout: each gets virtualenvs of its own, and their
installs take turns.

nox rebuilds a session's virtualenv in .nox/<session> on every run, so two
`nox -s rocm-pooling` at once delete and refill the same directory under each other
(pip crashes). The first nox process keeps .nox; one started while it runs uses
.nox/concurrent-<pid>, removed when it ends. Installing the checkout builds it in its
own build/ folder, which two pip processes would also share: installs hold a lock.
"""

from __future__ import annotations

import atexit
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK = ".testmatrix-envdir.lock"
_held: list[int] = []  # the lock's descriptor, open for the life of this process


def claim(root: Path) -> Path | None:
    """The virtualenv directory this nox process must use: None for the default
    (.nox, which no other nox process of this checkout is using), else its own."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): keep nox's default
        return None
    base = root / ".nox"
    try:
        base.mkdir(exist_ok=True)
        fd = os.open(base / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only checkout: nox will say what it cannot do
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        own = base / f"concurrent-{os.getpid()}"
        atexit.register(shutil.rmtree, own, True)
        return own
    _held.append(fd)
    return None


@contextmanager
def installing(root: Path) -> Iterator[None]:
    """Hold the checkout's install lock: one pip at a time builds the checkout."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): installs run as they come
        yield
        return
    base = root / ".nox"
    base.mkdir(exist_ok=True)
    fd = os.open(base / ".testmatrix-install.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
