"""pytest plugin of the benchmark (`-p cgmark`, benchmarks/ on the path): marks the
phases of a run for callgrind. Each mark calls `zlib.crc32`, which neither pytest nor
testmatrix calls while collecting; run under
`valgrind --tool=callgrind --dump-before='zlib_crc32*'`, callgrind writes the
instructions counted since the previous mark to a file of its own. The marks' names,
in order, go to the file $TESTMATRIX_BENCH_MARKS names (benchmarks/phases.py reads
both). Marked: pytest's start of the command, testmatrix's (or setfloor's)
pytest_configure, collection_modifyitems and terminal_summary, testmatrix's decision
(`decide_collected`), the end of collection, the last unconfigure and atexit.
"""

from __future__ import annotations

import atexit
import os
import zlib
from collections.abc import Callable
from typing import Any

import pytest

MARKS_ENV = "TESTMATRIX_BENCH_MARKS"
_ORDER: list[str] = []
_MARKED = (
    "pytest_configure",
    "pytest_collection_modifyitems",
    "pytest_terminal_summary",
)


def mark(name: str) -> None:
    _ORDER.append(name)
    zlib.crc32(b"mark")


def _marked(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def marked(*args: Any, **kwargs: Any) -> Any:
        mark(f"{name} start")
        try:
            return function(*args, **kwargs)
        finally:
            mark(f"{name} end")

    return marked


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    mark("cmdline_main")
    try:
        from testmatrix.plugin import hooks
    except ImportError:  # the floor's run: no testmatrix
        hooks = None
    if hooks is not None:
        hooks.decide_collected = _marked("decide", hooks.decide_collected)  # type: ignore[method-assign]
    for name in _MARKED:
        for impl in getattr(config.pluginmanager.hook, name).get_hookimpls():
            owner = getattr(impl.plugin, "__name__", "") or ""
            if impl.hookwrapper or impl.wrapper:
                continue
            if owner.startswith("testmatrix") or owner == "setfloor":
                impl.function = _marked(name[len("pytest_") :], impl.function)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    mark("collection")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    mark("collection_finish")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    mark("unconfigure")


def _atexit() -> None:
    mark("atexit")
    path = os.environ.get(MARKS_ENV)
    if path:
        with open(path, "w") as handle:
            handle.write("\n".join(_ORDER) + "\n")


atexit.register(_atexit)
