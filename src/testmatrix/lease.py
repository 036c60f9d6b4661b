"""GPU leases for parallel local sessions: one file lock per GPU, freed by the OS if the holder dies."""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import TestmatrixError

ENV_GPUS = "TESTMATRIX_GPUS"  # inventory override: "4" or "0,2,3"
ENV_LEASE_DIR = "TESTMATRIX_LEASE_DIR"
MAX_GPUS = 1024  # no host has more; a bigger count is a typo, not an inventory
_NUMBER = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() takes "²" too
_EXPECTED = "expected a GPU count (4) or distinct GPU indices (0,2,3)"


def configured_gpus() -> str | None:
    """$TESTMATRIX_GPUS as set (stripped), or None where it is unset or blank."""
    raw = os.environ.get(ENV_GPUS, "").strip()
    return raw or None


def _bad_inventory(raw: str, problem: str) -> TestmatrixError:
    return TestmatrixError(f"{ENV_GPUS}={raw!r}: {problem}; {_EXPECTED}")


def inventory(default_count: int = 0) -> list[str]:
    """The GPU indices sessions may lease: $TESTMATRIX_GPUS (a count, "4", or distinct
    indices, "0,2,3"), else `default_count` (the detected or configured count)."""
    raw = configured_gpus()
    if raw is None:
        if default_count > MAX_GPUS:
            raise TestmatrixError(
                f"{default_count} GPUs is more than testmatrix leases "
                f"({MAX_GPUS} at most); set {ENV_GPUS} to the GPUs to use"
            )
        return [str(i) for i in range(default_count)]
    if _NUMBER.fullmatch(raw):
        count = int(raw)
        if count > MAX_GPUS:
            raise _bad_inventory(raw, f"more than {MAX_GPUS} GPUs")
        return [str(i) for i in range(count)]
    gpus: list[str] = []
    for position, part in enumerate(raw.split(","), start=1):
        part = part.strip()
        if not part:
            raise _bad_inventory(raw, f"entry {position} is empty")
        if not _NUMBER.fullmatch(part):
            raise _bad_inventory(raw, f"{part!r} is not a non-negative whole number")
        index = str(int(part))  # "01" is GPU 1
        if int(index) >= MAX_GPUS:
            raise _bad_inventory(raw, f"GPU index {index} is beyond {MAX_GPUS - 1}")
        if index in gpus:
            raise _bad_inventory(raw, f"GPU {index} is listed twice")
        gpus.append(index)
    return gpus


def lease_dir(configured: str | None = None) -> Path:
    path = Path(
        os.environ.get(ENV_LEASE_DIR)
        or configured
        or Path.home() / ".cache" / "testmatrix" / "leases"
    )
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A probe of its own: parallel sessions check the same directory at the same moment.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise TestmatrixError(
            f"GPU lease directory {path} cannot be written: {exc.strerror}"
        ) from None
    return path


class Lease:
    """Holds one GPU's lock until released (or the process ends)."""

    def __init__(self, gpu: str, lock: FileLock):
        self.gpu = gpu
        self.lock = lock

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _check_count(count: object, available: int, who: str) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise TestmatrixError(
            f"{who}: gpus = {count!r} is not a number of GPUs (a whole number, 1 or "
            "more)"
        )
    if count > available:
        raw = configured_gpus()
        source = f" ({ENV_GPUS}={raw})" if raw is not None else ""
        noun = "GPU" if count == 1 else "GPUs"
        raise TestmatrixError(
            f"{who} needs {count} {noun} but this machine has {available}{source}"
        )


def acquire(
    gpus: list[str],
    directory: Path,
    *,
    wait: float | None = None,
    poll: float = 0.2,
    say: Callable[[str], None] = print,
    holder: str = "",
) -> Lease:
    """Take the first free GPU; if none is free, say so once and wait (up to `wait` seconds)."""
    _check_count(1, len(gpus), holder or "this session")
    started = time.monotonic()
    waiting = False
    while True:
        for gpu in gpus:
            lock = FileLock(str(directory / f"gpu{gpu}.lock"))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            (directory / f"gpu{gpu}.holder").write_text(f"{holder} pid {os.getpid()}\n")
            if waiting:
                say(f"GPU {gpu} is free now, after {time.monotonic() - started:.1f}s")
            return Lease(gpu, lock)
        if not waiting:
            say(
                f"all {len(gpus)} GPUs ({', '.join(gpus)}) are leased by other sessions; waiting for one"
            )
            waiting = True
        if wait is not None and time.monotonic() - started > wait:
            raise TestmatrixError(f"no GPU became free within {wait:.0f}s")
        time.sleep(poll)
