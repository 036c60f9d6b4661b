"""pytest plugin of the benchmark (`-p hooktiming`, benchmarks/ on the path): times
`pytest_collection_modifyitems` in the process that collects.

The wrapper is a tryfirst hookwrapper, so everything inside it is timed: every
plugin's implementation of the hook (the decision hook, and pytest's own: --deselect,
-k/-m, the fixture manager's reordering). Each of those is timed apart too. The
garbage collector runs once just before the timed part, so both sides start from the
same state. The
figures go to the JSON file named by $TESTMATRIX_BENCH_PROBE (no file: no timing),
with what the hook saw: its items before and after, which implementations ran, each
test's fate as testmatrix recorded it, and how many items were given a skip mark.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import pytest

try:
    from testmatrix.plugin.decide import properties_of
    from testmatrix.plugin.keys import STATE
except ImportError:  # no testmatrix on the path: the naive side's fates are its marks
    STATE = None

PROBE_ENV = "TESTMATRIX_BENCH_PROBE"
CPU = "cpu:"  # impls_ns's keys of each implementation's CPU time (its thread's)
# per-item work done in these hooks would escape the timing: the probe names any
# testmatrix implementation of them (figure 3, the whole process, still counts it)
OTHER_HOOKS = (
    "pytest_itemcollected",
    "pytest_pycollect_makeitem",
    "pytest_make_collect_report",
    "pytest_collectreport",
    "pytest_collection_finish",
    "pytest_deselected",
)


def _timed(
    function: Callable[..., Any], name: str, spent: dict[str, int]
) -> Callable[..., Any]:
    def timed(*args: Any) -> Any:
        start = time.perf_counter_ns()
        cpu = time.thread_time_ns()
        try:
            return function(*args)
        finally:
            spent[name] = spent.get(name, 0) + time.perf_counter_ns() - start
            spent[CPU + name] = spent.get(CPU + name, 0) + time.thread_time_ns() - cpu

    return timed


def _timed_wrapper(
    function: Callable[..., Any], name: str, spent: dict[str, int]
) -> Callable[..., Any]:
    """A new-style wrapper whose own steps are timed, not what runs in between."""

    def timed(*args: Any) -> Generator[None, Any, Any]:
        start, cpu = time.perf_counter_ns(), time.thread_time_ns()
        inner = function(*args)
        try:
            next(inner)  # up to its yield: the other implementations run next
        finally:
            spent[name] = spent.get(name, 0) + time.perf_counter_ns() - start
            spent[CPU + name] = spent.get(CPU + name, 0) + time.thread_time_ns() - cpu
        result = yield
        start, cpu = time.perf_counter_ns(), time.thread_time_ns()
        try:
            inner.send(result)
        except StopIteration as done:
            return done.value
        finally:
            spent[name] = spent.get(name, 0) + time.perf_counter_ns() - start
            spent[CPU + name] = spent.get(CPU + name, 0) + time.thread_time_ns() - cpu
        raise RuntimeError(f"{name}: a wrapper yields once")

    return timed


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    path = os.environ.get(PROBE_ENV)
    if not path:
        yield
        return
    spent: dict[str, int] = {}
    patched = []
    for impl in config.hook.pytest_collection_modifyitems.get_hookimpls():
        if impl.hookwrapper:
            continue  # old-style wrappers (this one): inside the total only
        patched.append((impl, impl.function))
        # testmatrix decides in a new-style wrapper, after the others: both of
        # its steps (before and after the other implementations) are timed
        how = _timed_wrapper if impl.wrapper else _timed
        timed = how(impl.function, impl.plugin_name, spent)
        impl.function = timed  # type: ignore[misc]  # pluggy reads it at call time
    elsewhere = [
        f"{impl.plugin_name}:{hook}"
        for hook in OTHER_HOOKS
        for impl in getattr(config.hook, hook).get_hookimpls()
        if impl.plugin_name.startswith("testmatrix")
    ]
    seen = len(items)
    # the same garbage collector state on both sides: collection leaves millions of
    # objects and pending counts that would have a full collection land in whichever
    # hook happens to allocate next; collected here, untimed, a collection in the
    # timed part is one the hooks' own allocations cause
    gc.collect()
    cpu = time.process_time_ns()
    start = time.perf_counter_ns()
    yield
    total = time.perf_counter_ns() - start
    cpu = time.process_time_ns() - cpu
    for impl, function in patched:
        impl.function = function  # type: ignore[misc]
    # what was decided, counted outside the timed part
    fates: Counter[str] = Counter()
    skip_marked = 0
    # each kept test's report properties, as testmatrix gives them when it runs
    state = config.stash.get(STATE, None) if STATE is not None else None
    for item in items:
        if state is not None:
            for name, value in properties_of(state, item):
                if name == "testmatrix_fate":
                    fates[str(value)] += 1
        skip_marked += any(m.name == "skip" for m in item.own_markers)
    with open(path, "w") as handle:
        json.dump(
            {
                "ns": total,
                "cpu_ns": cpu,  # this process's CPU time: what others' load leaves
                "items_seen": seen,
                "items_kept": len(items),
                "impls_ns": spent,
                "impls": [k for k in spent if not k.startswith(CPU)],
                "fates": dict(fates),
                "skip_marked": skip_marked,
                "testmatrix_collection_hooks_elsewhere": elsewhere,
            },
            handle,
        )
