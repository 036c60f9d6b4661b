"""One source tree's `history ingest` of one build against ElementTree parsing the
same JUnit files, in one process: for before/after comparisons of two trees, run
alternately on copies of one history (see docs/benchmarks.md, History).

Usage: python benchmarks/history_ab.py --src TREE --db HISTORY.sqlite
       --artifacts DIR [--runs 2] [--label NAME]

DIR and the history come from `benchmarks/history.py --workdir DIR` (its
`artifacts/` and `history.sqlite`). Prints one JSON line per run: CPU (user +
system, this process's rusage) and wall seconds of each side, and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", type=Path, required=True, help="a checkout's root")
    parser.add_argument("--db", required=True, help="a history to ingest into")
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(args.src.resolve() / "src"))
    from testmatrix.history import ingest, open_store
    from testmatrix.history.artifacts import read_artifacts
    from testmatrix.history.ingest import BuildInfo

    files = sorted(args.artifacts.rglob("junit*.xml"))

    def parse() -> None:
        for path in files:  # each tree let go, as benchmarks/history.py does
            ET.parse(path)

    store = open_store(args.db, create=False)
    parse()  # warm: the OS cache
    for n in range(args.runs):
        cpu, wall = _cpu(), time.perf_counter()
        parse()
        parse_cpu, parse_wall = _cpu() - cpu, time.perf_counter() - wall
        cpu, wall = _cpu(), time.perf_counter()
        jobs = read_artifacts(args.artifacts, None, {}).jobs
        name = f"ab-{args.label}-{os.getpid()}-{n}"
        ingest(store, BuildInfo(name, "c", "2099-01-01T00:00:00+00:00"), jobs)
        del jobs
        ingest_cpu, ingest_wall = _cpu() - cpu, time.perf_counter() - wall
        figures = {
            "label": args.label,
            "parse_cpu": round(parse_cpu, 3),
            "parse_wall": round(parse_wall, 3),
            "ingest_cpu": round(ingest_cpu, 3),
            "ingest_wall": round(ingest_wall, 3),
            "load": round(os.getloadavg()[0], 2),
        }
        print(json.dumps(figures), flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
