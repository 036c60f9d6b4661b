"""pytest plugin of the benchmark (`-p hooktiming`, benchmarks/ on the path): times
`pytest_collection_modifyitems` in the process that collects.

The wrapper is a tryfirst hookwrapper, so everything inside it is timed: every
plugin's implementation of the hook (the decision hook, and pytest's own: --deselect,
-k/-m, the fixture manager's reordering). Each of those is timed apart too. The
figures go to the JSON file named by $TESTMATRIX_BENCH_PROBE (no file: no timing),
with what the hook saw: its items before and after, which implementations ran, each
test's fate as testmatrix recorded it, and how many items were given a skip mark.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import pytest

PROBE_ENV = "TESTMATRIX_BENCH_PROBE"


def _timed(
    function: Callable[..., Any], name: str, spent: dict[str, int]
) -> Callable[..., Any]:
    def timed(*args: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return function(*args)
        finally:
            spent[name] = spent.get(name, 0) + time.perf_counter_ns() - start

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
        if impl.hookwrapper or impl.wrapper:
            continue
        patched.append((impl, impl.function))
        timed = _timed(impl.function, impl.plugin_name, spent)
        impl.function = timed  # type: ignore[misc]  # pluggy reads it at call time
    seen = len(items)
    start = time.perf_counter_ns()
    yield
    total = time.perf_counter_ns() - start
    for impl, function in patched:
        impl.function = function  # type: ignore[misc]
    # what was decided, counted outside the timed part
    fates: Counter[str] = Counter()
    skip_marked = 0
    for item in items:
        for name, value in item.user_properties:
            if name == "testmatrix_fate":
                fates[str(value)] += 1
        skip_marked += any(m.name == "skip" for m in item.own_markers)
    with open(path, "w") as handle:
        json.dump(
            {
                "ns": total,
                "items_seen": seen,
                "items_kept": len(items),
                "impls_ns": spent,
                "impls": list(spent),
                "fates": dict(fates),
                "skip_marked": skip_marked,
            },
            handle,
        )
