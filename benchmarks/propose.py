"""What `testmatrix propose` costs on a vLLM-sized history, against a baseline
measured in the same run: the history's own `status` query over the same store
(which propose reads once, with flaky, entries and a results scan of the last
builds on top).

The history is filled with the history benchmark's generated builds (400 jobs,
50,000 results each; some tests broken for 20 builds in a row, some flaky, some
under entries). The workspace is this repository's. Bytecode caching is whatever
this process has (stated in the output).

Usage: python benchmarks/propose.py [--builds 30] [--runs 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from history import RESULTS_PER_BUILD, fill, machine, measure
from testmatrix.config.loader import load_workspace
from testmatrix.history import open_store, status
from testmatrix.propose.evidence import Thresholds
from testmatrix.propose.plan import propose


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=30, help="builds in the history")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--workdir", type=Path, help="keep the database here (default: a temp dir)"
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="testmatrix-propose-"))
    db = str(workdir / "history.sqlite")
    print(f"filling {args.builds} builds ({RESULTS_PER_BUILD} results each) in {db}")
    fill(db, args.builds)
    workspace = load_workspace(Path(__file__).resolve().parents[1], check_paths=False)
    store = open_store(db, create=False)
    try:
        base_wall, base_cpu = measure(lambda: status(store), args.runs)
        found = propose(store, workspace, Thresholds(), set(), "https://x/1")
        wall, cpu = measure(
            lambda: propose(store, workspace, Thresholds(), set(), "https://x/1"),
            args.runs,
        )
    finally:
        store.close()
    rows = args.builds * RESULTS_PER_BUILD
    print(f"machine: {machine()}")
    print(f"history: {args.builds} builds, {rows} results")
    print(
        f"proposal: {len(found.evidence.failing)} failing tests, "
        f"{len(found.evidence.flaky)} flaky, "
        f"{sum(len(e.add) for e in found.edits)} entries to add"
    )
    print(f"status (baseline): {base_wall:.2f} s wall, {base_cpu:.2f} s CPU")
    print(
        f"propose: {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"({cpu / base_cpu:.1f}x the status query's CPU)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
