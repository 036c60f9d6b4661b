"""GPU leases for parallel local sessions: one file lock per GPU, freed by the OS if the holder dies."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import TestmatrixError

ENV_GPUS = "TESTMATRIX_GPUS"  # inventory override: "4" or "0,2,3"
ENV_LEASE_DIR = "TESTMATRIX_LEASE_DIR"


def inventory(default_count: int = 0) -> list[str]:
    """The GPU indices sessions may lease: $TESTMATRIX_GPUS, else the detected device count."""
    raw = os.environ.get(ENV_GPUS, "").strip()
    if not raw:
        return [str(i) for i in range(default_count)]
    if raw.isdigit():
        return [str(i) for i in range(int(raw))]
    return [part.strip() for part in raw.split(",") if part.strip()]


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
    if not gpus:
        raise TestmatrixError(
            "no GPU to lease: set TESTMATRIX_GPUS or run on a machine with GPUs"
        )
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
