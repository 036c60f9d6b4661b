"""pytest plugin of the benchmark (`-p atexitprobe`, benchmarks/ on the path): the
process's CPU time when `atexit` runs, written to $TESTMATRIX_BENCH_ATEXIT. The
benchmark subtracts it from the child's whole CPU time (rusage): what is left is
spent after atexit, in the interpreter's teardown, where no in-process timer looks.
Registered at import, before any other plugin's handler, it runs after them."""

from __future__ import annotations

import atexit
import os
import time

ATEXIT_ENV = "TESTMATRIX_BENCH_ATEXIT"


def _write() -> None:
    path = os.environ.get(ATEXIT_ENV)
    if path:
        with open(path, "w") as handle:
            handle.write(repr(time.process_time()))


atexit.register(_write)
