"""How fast the dashboard's pages open with vLLM-sized data: 50,000 tests on 4
targets over 10 builds (synthetic, seeded), written by `write_site`, each page
opened from file:// in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright) and timed from navigation start to the page being shown (the load
event; for the test viewer, its data loaded and rendered). The baseline, measured
in the same run and browser, is a near-empty page with the same stylesheet and
Content-Security-Policy: each figure is a ratio against it and an absolute time
(the target: under 1 s).

Usage: python benchmarks/dashboard.py [--tests 50000] [--builds 10] [--runs 5]
       [--json PATH] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from testmatrix.dashboard.data import (  # noqa: E402
    Build,
    Cell,
    DashboardData,
    Entry,
    Result,
    interned,
)
from testmatrix.dashboard.markup import page  # noqa: E402
from testmatrix.dashboard.site import write_site  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TARGETS = ("cuda", "rocm", "rocm:mi300", "rocm:mi355")
SUITES = tuple(f"suite-{i:02d}" for i in range(20))


def synthetic(tests: int, builds: int, seed: int = 0) -> DashboardData:
    """`tests` tests in files of 20, on every target, over `builds` builds: 2% fail,
    5% skipped by one of 200 entries, 1% expected failures; failures move."""
    rng = random.Random(seed)
    pool: dict[Result, Result] = {}
    entries = {
        f"skiplists/platforms/rocm.toml:{10 + 7 * i}": Entry(
            f"skiplists/platforms/rocm.toml:{10 + 7 * i}", "skip", f"reason {i}", None
        )
        for i in range(200)
    }
    locations = list(entries)
    data = DashboardData(
        [Build(str(1000 + b)) for b in range(builds)], [], {}, entries, []
    )
    for n in range(tests):
        suite = SUITES[n % len(SUITES)]
        test = (
            f"tests/{suite}/test_file_{n // 20:05d}.py::test_case_{n % 20}[param-{n}]"
        )
        rows = {}
        for target in TARGETS:
            row: list[Result | None] = []
            for _ in range(builds):
                roll = rng.random()
                if roll < 0.02:
                    r = Result("failed", suite, None, f"AssertionError: case {n % 97}")
                elif roll < 0.07:
                    r = Result("skipped_by_entry", suite, rng.choice(locations), "skip")
                elif roll < 0.08:
                    r = Result("expected_fail", suite, rng.choice(locations[:20]), None)
                else:
                    r = Result("passed", suite)
                row.append(interned(pool, r))
            rows[target] = row
        data.tests[test] = rows
    for b in range(builds):
        tally: dict[tuple[str, str], dict[str, int]] = {}
        for rows in data.tests.values():
            for target, row in rows.items():
                r = row[b]
                if r is not None:
                    counts = tally.setdefault((target, r.suite), {})
                    counts[r.outcome] = counts.get(r.outcome, 0) + 1
        cells = {}
        for (target, suite), counts in sorted(tally.items()):
            status = "fail" if counts.get("failed") else "ok"
            text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
            cells[(target, suite)] = Cell(target, suite, counts, 0, status, text)
        data.cells.append(cells)
        data.models.append({})
    return data


def timed_open(tab: Any, url: str, ready: str | None) -> float:
    """Milliseconds from navigation start to the page shown."""
    tab.goto("about:blank")
    tab.goto(url, wait_until="load")
    if ready:
        tab.wait_for_selector(ready, state="attached")
    return float(tab.evaluate("performance.now()"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=50_000)
    parser.add_argument("--builds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = args.workdir or Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    site = work / "site"
    start = time.perf_counter()
    data = synthetic(args.tests, args.builds)
    made = time.perf_counter()
    written = write_site(data, site, force=True)
    wrote = time.perf_counter()
    (site / "baseline.html").write_text(page("baseline", "<p>baseline</p>"))
    size = sum((site / f).stat().st_size for f in written)
    first = next(iter(data.tests))
    file = first.split("::")[0]
    viewer = (site / "tests.html").as_uri()
    pages = {
        "baseline (near-empty page)": ((site / "baseline.html").as_uri(), None),
        "index.html": ((site / "index.html").as_uri(), None),
        "entries.html": ((site / "entries.html").as_uri(), None),
        "entry page": ((site / "entry-0.html").as_uri(), None),
        "changes.html": ((site / "changes.html").as_uri(), None),
        "suite page": ((site / "suite-0.html").as_uri(), None),
        "tests.html (file list)": (viewer, "body[data-ready]"),
        "tests.html#file=": (
            f"{viewer}#file={quote(file, safe='')}",
            "body[data-ready]",
        ),
        "tests.html#test=": (
            f"{viewer}#test={quote(first, safe='')}",
            "body[data-ready]",
        ),
    }
    results: dict[str, list[float]] = {name: [] for name in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        tab = browser.new_page()
        for url, ready in pages.values():
            timed_open(tab, url, ready)  # warm-up: the OS cache and the browser
        for _ in range(args.runs):  # the pages take turns, the baseline among them
            for name, (url, ready) in pages.items():
                results[name].append(timed_open(tab, url, ready))
        browser.close()
    base = statistics.median(results["baseline (near-empty page)"])
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}; "
        f"Python {platform.python_version()}, bytecode caching "
        f"{'off' if sys.dont_write_bytecode else 'on'}; Chromium from {CHROMIUM}"
    )
    print(
        f"{args.tests} tests x {len(TARGETS)} targets x {args.builds} builds: data "
        f"{made - start:.1f} s, site written in {wrote - made:.1f} s, "
        f"{len(written)} files, {size / 1e6:.1f} MB"
    )
    rows = []
    for name, samples in results.items():
        ms = statistics.median(samples)
        rows.append(
            {"page": name, "median_ms": round(ms, 1), "ratio": round(ms / base, 2)}
        )
        verdict = "met" if ms < 1000 else "MISSED"
        print(
            f"  {name:28} {ms:7.1f} ms  {ms / base:5.2f}x baseline  (<1 s: {verdict})"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"pages": rows, "files": len(written)}, indent=1)
        )
    return 0 if all(r["median_ms"] < 1000 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
