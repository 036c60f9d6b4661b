"""pytest plugin of the benchmark (`-p setfloor`, benchmarks/ on the path): the
deselects of a floor without `--deselect` flags.

pytest parses its arguments with argparse, which costs time quadratic in the
number of options given: with thousands of `--deselect=ID` flags the fair floor
spends most of its excess there, before collecting (0.2 s for 1,000 at 10k tests
on the development machine). This plugin reads the same ids, one a line, from
the file $TESTMATRIX_BENCH_DESELECTS names, and deselects as `--deselect` does
(a node id prefix), by looking up each test's id and its prefixes at `::` and
`[` in a set: what a hand-written conftest would do.
"""

from __future__ import annotations

import os

import pytest

DESELECTS_ENV = "TESTMATRIX_BENCH_DESELECTS"
_IDS: set[str] = set()


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(DESELECTS_ENV)
    if path:
        with open(path) as handle:
            _IDS.update(line.strip() for line in handle if line.strip())


def _named(nodeid: str) -> bool:
    if nodeid in _IDS:
        return True
    head = nodeid.split("[", 1)[0]
    if head in _IDS:
        return True
    parts = head.split("::")
    return any("::".join(parts[:i]) in _IDS for i in range(1, len(parts)))


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not _IDS:
        return
    gone = [item for item in items if _named(item.nodeid)]
    if gone:
        out = set(map(id, gone))
        config.hook.pytest_deselected(items=gone)
        items[:] = [item for item in items if id(item) not in out]
