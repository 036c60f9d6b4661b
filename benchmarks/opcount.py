"""pytest plugin (`-p opcount`, benchmarks/ on the path): how many bytecodes the
plugin's decision executes, per function, in the process that collects.

It counts every bytecode run inside `decide_collected` (the collection hook's
work after the other implementations: what `hooktiming` times as
testmatrix.plugin's implementation, less its first imports) with `sys.settrace`
and `f_trace_opcodes`, and writes the total and each function's share to the file
named by $TESTMATRIX_BENCH_OPCOUNT. Tracing makes the run many times slower, but
the count does not depend on the machine's load: two versions' counts compare
where their CPU times, on a shared machine, do not resolve. C work (dicts,
tuples, allocations) counts as the one bytecode that calls it.

    TESTMATRIX_BENCH_OPCOUNT=/tmp/ops.txt PYTHONPATH=src:benchmarks \\
        python -m pytest --collect-only -qq -p opcount --testmatrix-platform=rocm

Run it twice: the first run of a copy of src/ counts its modules' import too.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from types import FrameType
from typing import Any

import pytest

OPCOUNT_ENV = "TESTMATRIX_BENCH_OPCOUNT"


def _count(counts: Counter[str], frame: FrameType) -> Any:
    frame.f_trace_opcodes = True
    code = frame.f_code
    key = f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}:{code.co_name}"

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "opcode":
            counts[key] += 1
        return local

    return local


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(OPCOUNT_ENV)
    if not path:
        return
    import testmatrix.plugin.hooks as hooks

    decide = hooks.decide_collected

    def counted(*args: Any) -> None:
        counts: Counter[str] = Counter()
        sys.settrace(lambda frame, event, arg: _count(counts, frame))
        try:
            decide(*args)
        finally:
            sys.settrace(None)
            with open(path, "w") as out:
                out.write(f"{sum(counts.values())}\ttotal\n")
                for key, n in counts.most_common():
                    out.write(f"{n}\t{key}\n")

    hooks.decide_collected = counted  # type: ignore[assignment]  # looked up per run
