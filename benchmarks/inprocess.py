"""The decision against figure 1's naive hook on the same collected items, in one
process: pytest collects the workspace once (rocm), then testmatrix's split
(`Decider(state).split`, with the rules' per-file caches emptied first, as in a
fresh process) and the naive hook's loop take turns, each timed by its thread's
CPU clock; optionally each one's bytecodes too (`sys.settrace` with
`f_trace_opcodes`, as `opcount.py` counts them), where the naive hook's are
counted over the same items. Marks either side adds are taken off between runs.

What it leaves out, against `hooktiming`: the first imports of the decision's
modules, the items' node ids computed (the collection computed them), and the
cold caches of a fresh process: its figures are for comparing the decision's
per-item paths, `run.py`'s for the figures.

    cd WORKSPACE && PYTHONPATH=SRC:BENCHMARKS:tests \\
        python BENCHMARKS/inprocess.py --runs 9 --naive naive.json [--ops]
    [--only marked|unmarked|first]  (marked tests, the others, each parent's first)

naive.json: {"marker": ["org/name", ...]}, as `run.naive_models` writes it.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest


class _Capture:
    """Keeps the state and the collected list testmatrix decides."""

    def __init__(self) -> None:
        self.got: dict[str, Any] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        import testmatrix.plugin.hooks as hooks

        real = hooks.decide_collected

        def capture(state: Any, config: Any, items: Any, collected: Any) -> None:
            self.got["state"] = state
            self.got["items"] = list(collected)
            real(state, config, items, collected)

        hooks.decide_collected = capture  # type: ignore[assignment]


def _chosen(items: list[pytest.Item], only: str | None, marker: str) -> list[Any]:
    if only == "first":
        first: dict[int, pytest.Item] = {}
        for item in items:
            first.setdefault(id(item.parent), item)
        return list(first.values())
    if only:
        return [i for i in items if (marker in i.keywords) == (only == "marked")]
    return items


def _bytecodes(run: Callable[[], None]) -> int:
    count = [0]

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "opcode":
            count[0] += 1
        return local

    def traced(frame: FrameType, event: str, arg: object) -> Any:
        frame.f_trace_opcodes = True
        return local

    sys.settrace(traced)
    try:
        run()
    finally:
        sys.settrace(None)
    return count[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--naive", type=Path, required=True)
    parser.add_argument("--ops", action="store_true")
    parser.add_argument("--only", choices=("marked", "unmarked", "first"))
    args = parser.parse_args()
    capture = _Capture()
    flags = ["--collect-only", "-qq", "--testmatrix-platform=rocm"]
    code = pytest.main([*flags, "-p", "no:cacheprovider"], plugins=[capture])
    if code != 0 or "state" not in capture.got:
        print(f"inprocess: the collection failed ({code})", file=sys.stderr)
        return 1
    state = capture.got["state"]
    rules = [(k, tuple(v)) for k, v in json.loads(args.naive.read_text()).items()]
    items = _chosen(capture.got["items"], args.only, rules[0][0])
    marks = [list(i.own_markers) for i in items]

    def restore() -> None:
        for item, own in zip(items, marks, strict=True):
            item.own_markers[:] = own
            for name in ("skip", "flaky"):  # what either side adds
                item.keywords._markers.pop(name, None)  # type: ignore[attr-defined]

    def ours() -> None:
        from testmatrix.plugin.decide import Decider

        made = state.rules
        for cache in ("_files", "_folder_facts", "_deselect_lookups", "_fates"):
            getattr(made, cache).clear()  # as a fresh process has them
        made.models._by_value.clear()
        made.models._by_params.clear()
        state.left_out = []
        gc.disable()
        try:
            state.decider = Decider(state)
            state.decider.split(items)
        finally:
            gc.enable()

    def naive() -> None:  # naivehook.py's loop
        for marker, models in rules:
            reason = f"{marker} models are not supported on ROCm (vLLM #27442)"
            skip = pytest.mark.skip(reason=reason)
            for item in items:
                if marker in item.keywords and any(m in item.nodeid for m in models):
                    item.add_marker(skip)

    spent: dict[str, list[float]] = {"testmatrix": [], "naive": []}
    for run in range(args.runs):
        sides = [("testmatrix", ours), ("naive", naive)]
        for name, side in sides if run % 2 else sides[::-1]:
            restore()
            gc.collect()
            start = time.thread_time_ns()
            side()
            spent[name].append((time.thread_time_ns() - start) / 1000 / len(items))
    restore()
    out: dict[str, Any] = {"items": len(items)}
    for name, values in spent.items():
        out[name] = {
            "cpu_us_per_item": round(statistics.median(values), 3),
            "min": round(min(values), 3),
        }
    out["ratio"] = round(
        out["testmatrix"]["cpu_us_per_item"] / out["naive"]["cpu_us_per_item"], 3
    )
    if args.ops:
        for name, side in (("testmatrix", ours), ("naive", naive)):
            restore()
            out[name]["bytecodes"] = _bytecodes(side)
        restore()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
