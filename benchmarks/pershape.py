"""The plugin's decision per shape of the synthetic suite: CPU µs per test.

Collects a workspace `synth.py` built in this process (the plugin loaded, its
platform given), keeps every collected test as pytest made it (before any
collection hook), groups the tests by their file's kind (`test_<kind>_NNNN.py`;
`encoder_only` for the pool files) and times `Decider.split` on each group with
a fresh decider (its per-file and per-function caches empty), the minimum of
`--repeat` runs, by this thread's CPU clock. A shape whose tests cost more than
the others' is where to look (`--profile KIND` prints cProfile's top functions
for that group's split).

    PYTHONPATH=src:benchmarks python benchmarks/pershape.py WORKSPACE \\
        [--platform rocm] [--repeat 5] [--profile tuples]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import pstats
import re
import sys
import time
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path

import pytest

_KIND = re.compile(r"/test_([a-z_]+?)_\d{4}\.py::")


class _Keep:
    """The tests as collected, and the plugin's state once collection ends."""

    def __init__(self) -> None:
        self.items: list[pytest.Item] = []
        self.state = None

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        self.items = list(items)
        yield

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from testmatrix.plugin.state import STATE

        self.state = session.config.stash.get(STATE, None)


def kind_of(nodeid: str) -> str:
    found = _KIND.search(nodeid)
    if found is None:
        return "other"
    return "encoder_only" if found.group(1) == "encoder" else found.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--platform", default="rocm")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", default=None, help="a kind to profile")
    args = parser.parse_args(argv)
    keep = _Keep()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = pytest.main(
            [str(args.workspace), "--collect-only", "-qq", "-p", "no:cacheprovider"]
            + ["--rootdir", str(args.workspace)]
            + [f"--testmatrix-platform={args.platform}"],
            plugins=[keep],
        )
    if code != 0 or keep.state is None:
        print(out.getvalue()[-2000:], file=sys.stderr)
        return 1
    from testmatrix.plugin.decide import Decider

    groups: dict[str, list[pytest.Item]] = defaultdict(list)
    for item in keep.items:
        groups[kind_of(item.nodeid)].append(item)
    print(f"{'kind':16} {'tests':>7} {'µs/test':>8} {'left out':>9}  runs (µs/test)")
    gc.disable()
    for kind, items in sorted(groups.items()):
        runs = []
        dropped = 0
        for _ in range(args.repeat):
            decider = Decider(keep.state)
            start = time.thread_time_ns()
            _, deselected = decider.split(list(items))
            runs.append((time.thread_time_ns() - start) / 1000 / len(items))
            dropped = len(deselected)
        shown = " ".join(f"{r:.2f}" for r in runs)
        print(f"{kind:16} {len(items):7} {min(runs):8.2f} {dropped:9}  {shown}")
        if kind == args.profile:
            profile = cProfile.Profile()
            profile.enable()
            Decider(keep.state).split(list(items))
            profile.disable()
            stats = pstats.Stats(profile, stream=sys.stdout)
            stats.sort_stats("tottime").print_stats(12)
    gc.enable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
