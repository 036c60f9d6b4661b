"""How low a JUnit reader in Python can go, against ElementTree's parse of the same
files (the baseline of the history ingest's figure): what the reading half of an
ingest costs before it does anything with a test case.

  expat, no handlers       expat tokenizing alone (no Python called)
  expat, empty handlers    a Python start and end handler that do nothing, as any
                           event-driven reader has (attributes as dicts)
  ElementTree and a walk   the C tree, then each <testcase>'s attributes and
                           properties read in Python (what a tree-based reader does
                           before judging a case)
  read_junit               testmatrix's reader: each case's Result

Each figure is the median CPU time of --runs runs, the files read into memory
first (no disk in any figure). Bytecode caching is whatever this process has.

Usage: python benchmarks/junit_floor.py DIR [--runs 5]
(DIR: a build's artifacts, e.g. `artifacts-N` of `benchmarks/history.py --workdir`)
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from xml.parsers import expat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from testmatrix.history.junit import read_junit  # noqa: E402


def _nothing(*_: object) -> None:
    return None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("artifacts", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    files = sorted(args.artifacts.rglob("junit*.xml"))
    if not files:
        parser.error(f"{args.artifacts}: no junit*.xml files")
    datas = [p.read_bytes() for p in files]

    def tree() -> None:
        for data in datas:
            ET.fromstring(data)

    def bare() -> None:
        for data in datas:
            expat.ParserCreate().Parse(data, True)

    def empty() -> None:
        for data in datas:
            p = expat.ParserCreate()
            p.buffer_text = True
            p.StartElementHandler = p.EndElementHandler = _nothing
            p.Parse(data, True)

    def walk() -> None:
        for data in datas:
            for case in ET.fromstring(data).iter("testcase"):
                case.attrib.get("name")
                for child in case:
                    if child.tag == "properties":
                        {p.get("name"): p.get("value") for p in child}

    def reader() -> None:
        for path in files:  # from the page cache: read_junit takes a path
            read_junit(path)

    figures: list[tuple[str, Callable[[], None]]] = [
        ("ElementTree parse (the baseline)", tree),
        ("expat, no handlers", bare),
        ("expat, empty handlers", empty),
        ("ElementTree and a walk", walk),
        ("read_junit", reader),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in figures}
    for _ in range(args.runs):  # interleaved: load hits every figure alike
        for name, action in figures:
            gc.collect()
            start = time.process_time()
            action()
            times[name].append(time.process_time() - start)
    base = statistics.median(times[figures[0][0]])
    size = sum(len(d) for d in datas)
    print(f"{len(files)} files, {size:,} bytes; median CPU of {args.runs} runs")
    for name, _ in figures:
        cpu = statistics.median(times[name])
        print(f"{name:34} {cpu:.3f} s  {cpu / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
