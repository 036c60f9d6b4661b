"""pytest plugin (`-p samplehook`, benchmarks/ on the path): where the collection hook
spends its time in the process that collects, by sampling.

A thread samples the main thread's stack every 0.2 ms while
`pytest_collection_modifyitems` runs (every implementation: pytest's own too) and
writes, to the file named by $TESTMATRIX_BENCH_SAMPLES, the share of samples each
function is on the stack for (inclusive), and each line the sample stopped at (self).
A profiler would slow the hook's many small calls unevenly; sampling leaves them as
they are, at the cost of precision (shares within a few percent).

    TESTMATRIX_BENCH_SAMPLES=/tmp/s.txt PYTHONPATH=src:benchmarks \\
        python -m pytest --collect-only -qq -p samplehook --testmatrix-platform=rocm
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Generator

import pytest

SAMPLES_ENV = "TESTMATRIX_BENCH_SAMPLES"


class _Sampler:
    def __init__(self) -> None:
        self.main = threading.get_ident()
        self.inclusive: Counter[str] = Counter()
        self.own: Counter[str] = Counter()
        self.total = 0
        self.on = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            time.sleep(0.0002)
            if not self.on.is_set():
                continue
            frame = sys._current_frames().get(self.main)
            if frame is None:
                continue
            self.total += 1
            seen: set[str] = set()
            first = True
            while frame is not None:
                code = frame.f_code
                key = f"{os.path.basename(code.co_filename)}:{code.co_name}"
                if first:
                    self.own[f"{key}:{frame.f_lineno}"] += 1
                    first = False
                if key not in seen:
                    self.inclusive[key] += 1
                    seen.add(key)
                frame = frame.f_back

    def write(self, path: str, cpu_ns: int) -> None:
        total = max(1, self.total)
        with open(path, "w") as out:
            print(f"samples {self.total}; hook CPU {cpu_ns / 1e6:.1f} ms", file=out)
            for key, n in self.inclusive.most_common(60):
                print(f"{100 * n / total:5.1f}% {key}", file=out)
            print("--- self", file=out)
            for key, n in self.own.most_common(40):
                print(f"{100 * n / total:5.1f}% {key}", file=out)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_collection_modifyitems() -> Generator[None, None, None]:
    path = os.environ.get(SAMPLES_ENV)
    if not path:
        yield
        return
    sampler = _Sampler()
    threading.Thread(target=sampler.run, daemon=True).start()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)  # let the sampler in often
    sampler.on.set()
    cpu = time.thread_time_ns()
    try:
        yield
    finally:
        cpu = time.thread_time_ns() - cpu
        sampler.on.clear()
        sampler.done.set()
        sys.setswitchinterval(interval)
        sampler.write(path, cpu)
