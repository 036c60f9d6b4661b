"""One source tree's `history ingest` of one build against ElementTree parsing the
same JUnit files, in one process: for before/after comparisons of two trees, run
alternately on copies of one history (see docs/benchmarks.md, History).

Usage: python benchmarks/history_ab.py --src TREE --db HISTORY.sqlite
       --artifacts DIR [DIR ...] [--label NAME]

The history and the artifacts come from `benchmarks/history.py --workdir WORK`
(its `history.sqlite` and `artifacts-N/`, the nightlies after the history's
newest): each DIR is ingested in turn as the next nightly, one run each (the same
build again would change nothing in the rollup). Prints one JSON line per run: CPU
(user + system, this process's rusage) and wall seconds of each side, and the
load.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
    parser.add_argument("--artifacts", type=Path, nargs="+", required=True)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(args.src.resolve() / "src"))
    from testmatrix.history import ingest, open_store
    from testmatrix.history.artifacts import read_artifacts
    from testmatrix.history.ingest import BuildInfo

    store = open_store(args.db, create=False)
    newest = dt.datetime.fromisoformat(store.value("SELECT max(started) FROM builds"))
    for n, folder in enumerate(args.artifacts):
        files = sorted(folder.rglob("junit*.xml"))

        def parse(files: list[Path] = files) -> None:
            for path in files:  # each tree let go, as benchmarks/history.py does
                ET.parse(path)

        parse()  # warm: the OS cache
        cpu, wall = _cpu(), time.perf_counter()
        parse()
        parse_cpu, parse_wall = _cpu() - cpu, time.perf_counter() - wall
        cpu, wall = _cpu(), time.perf_counter()
        jobs = read_artifacts(folder, None, {}).jobs
        date = (newest + dt.timedelta(days=n + 1)).isoformat()
        ingest(store, BuildInfo(f"ab-{folder.name}", "c", date), jobs)
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
