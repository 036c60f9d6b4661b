"""What the history costs at vLLM's size, each figure against a baseline measured in
the same run:

  ingest   one nightly build (400 jobs, 50,000 results, testmatrix summaries and
           JUnit files) read and recorded, vs ElementTree parsing the same JUnit
           files (target <= 2x); and the same JUnit files alone (no summaries:
           jobs that do not run testmatrix), recorded into a copy of the history
  queries  status, diff, flaky and entries over the whole history at --rows results
           with SQLite (target < 1 s each; default 10 million rows = 200 builds),
           each as the median of --runs runs; database bytes per million rows

The history is filled build by build through the same `ingest` function the CLI
uses (from generated jobs: writing 200 builds of XML would only measure the disk);
the ingest figure reads real files. Bytecode caching is whatever this process has
(stated in the output).

Usage: python benchmarks/history.py [--rows 10000000] [--runs 5] [--workdir DIR]
       [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from testmatrix.history import diff, entries, flaky, ingest, open_store, status  # noqa: E402
from testmatrix.history.artifacts import Job, read_artifacts  # noqa: E402
from testmatrix.history.ingest import BuildInfo  # noqa: E402
from testmatrix.history.junit import Entry, Result  # noqa: E402
from testmatrix.history.outcomes import Outcome  # noqa: E402
from testmatrix.plugin.summary import results_block  # noqa: E402

TARGETS = ("cuda", "rocm:mi300", "rocm:mi325", "rocm:mi355")
JOBS_PER_TARGET = 100  # 400 jobs
TESTS_PER_JOB = 125  # 50,000 results per build
RESULTS_PER_BUILD = len(TARGETS) * JOBS_PER_TARGET * TESTS_PER_JOB
ENTRY = Entry(
    "skiplists/platforms/rocm.toml:54", "skip", "encoder models", "https://x/1"
)
FLAKY = Entry("skiplists/platforms/rocm.toml:90", "flaky", "timing", "")
MESSAGES = [f"AssertionError: assert {i} == {i + 1}" for i in range(50)]


def _outcome(rng: random.Random, test: int, target: str, build: int) -> Result:
    """A test's result: most pass; some fail for a while, flake, skip themselves, or
    sit under entries (expected failures, skips, flaky reruns)."""
    kind = test % 100
    rocm = target != "cuda"
    if kind < 2 and rocm:
        return Result(
            "",
            Outcome.SKIPPED_BY_ENTRY,
            ENTRY,
            "pytest.skip",
            ENTRY.reason,
            0.0,
            target,
        )
    if kind < 4 and rocm:
        return Result(
            "",
            Outcome.SKIPPED_IN_CODE,
            None,
            "pytest.skip",
            "Need at least 4 GPUs",
            0.0,
            target,
        )
    if kind == 4:
        out = Outcome.FAILED if rng.random() < 0.3 else Outcome.PASSED
        return Result(
            "",
            out,
            None,
            "AssertionError" if out is Outcome.FAILED else "",
            MESSAGES[test % 50] if out is Outcome.FAILED else "",
            1.0,
            target,
        )
    if kind == 5 and rocm:
        out = Outcome.RERUN_PASSED if rng.random() < 0.2 else Outcome.PASSED
        return Result("", out, FLAKY, "", "", 2.0, target)
    if kind == 6 and (build // 20) % 2 == 1:  # broken for 20 builds, fixed for 20
        return Result(
            "", Outcome.FAILED, None, "AssertionError", MESSAGES[test % 50], 1.5, target
        )
    return Result(
        "", Outcome.PASSED, None, "", "", round(0.1 + (test % 7) * 0.3, 3), target
    )


def synthetic_jobs(build: int) -> list[Job]:
    rng = random.Random(build)
    jobs = []
    for target in TARGETS:
        for j in range(JOBS_PER_TARGET):
            results = []
            for t in range(TESTS_PER_JOB):
                test = j * TESTS_PER_JOB + t
                res = _outcome(rng, test, target, build)
                path = f"tests/group{j:03d}/test_mod{t % 5}.py"
                nodeid = f"{path}::test_case_{test}[param-{t}]"
                results.append(res._replace(nodeid=nodeid))
            suite = f"group{j:03d}"
            jobs.append(
                Job(f"reports/{target}-{suite}/junit.xml", target, suite, 0, results)
            )
    return jobs


def write_artifacts(jobs: list[Job], directory: Path) -> list[Path]:
    """The build's jobs as testmatrix writes them: summary.json and a JUnit file with
    testmatrix_* properties per session."""
    files = []
    for job in jobs:
        folder = directory / Path(job.source).parent
        folder.mkdir(parents=True, exist_ok=True)
        root = ET.Element("testsuites", name="pytest tests")
        suite = ET.SubElement(
            root, "testsuite", name="pytest", tests=str(len(job.results))
        )
        for r in job.results:
            path, name = r.nodeid.split("::")
            case = ET.SubElement(
                suite,
                "testcase",
                classname=path[:-3].replace("/", "."),
                name=name,
                time=str(r.duration),
            )
            props = ET.SubElement(case, "properties")
            values = {**_fate_record(job, r), "models": "facebook/opt-125m"}
            for key, value in values.items():
                ET.SubElement(props, "property", name=f"testmatrix_{key}", value=value)
            said = _said(r)
            if said is not None:
                tag, kind, message = said
                element = ET.SubElement(case, tag, message=message)
                if kind is not None:
                    element.set("type", kind)
                element.text = "Traceback...\n" * 5 if tag == "failure" else message
        junit = folder / "junit.xml"
        ET.ElementTree(root).write(junit, encoding="utf-8", xml_declaration=True)
        files.append(junit)
        summary = {
            "results": _results(job),
            "platform": job.target.split(":")[0],
            "target": job.target,
            "suite": job.suite,
            "counts": {},
            "exitstatus": 0,
            "shard": None,
            "flaky": [
                r.nodeid for r in job.results if r.outcome is Outcome.RERUN_PASSED
            ],
            "durations": {r.nodeid: r.duration for r in job.results},
        }
        (folder / "summary.json").write_text(json.dumps(summary))
    return files


def _fate_record(job: Job, r: Result) -> dict[str, str]:
    """A test's testmatrix record: its JUnit properties, unprefixed."""
    fate = "skipped" if r.outcome is Outcome.SKIPPED_BY_ENTRY else "runs"
    record = {"fate": fate, "target": job.target}
    if r.entry is not None:
        record.update(entry=r.entry.location, entry_kind=r.entry.kind,
                      reason=r.entry.reason, issue=r.entry.issue)  # fmt: skip
    return record


def _said(r: Result) -> tuple[str, str | None, str] | None:
    """The test's JUnit result element: (tag, type, message), None where it passed."""
    if r.outcome is Outcome.FAILED:
        return "failure", None, r.message
    if r.outcome in (Outcome.SKIPPED_BY_ENTRY, Outcome.SKIPPED_IN_CODE):
        return "skipped", "pytest.skip", r.message
    return None


def _results(job: Job) -> dict[str, Any]:
    """The summary's `results`, written by the plugin's own writer."""
    tests = ((r.nodeid, _said(r), _fate_record(job, r)) for r in job.results)
    return results_block(tests, {})


def plain_copy(folder: Path) -> Path:
    """The build's JUnit files alone, as jobs that do not run testmatrix leave them
    (each test's target from its testmatrix_target property): hard links."""
    plain = folder.with_name(f"plain-{folder.name}")
    if not plain.is_dir():
        for junit in sorted(folder.rglob("junit*.xml")):
            copy = plain / junit.relative_to(folder)
            copy.parent.mkdir(parents=True, exist_ok=True)
            os.link(junit, copy)
    return plain


def measure(action: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of `runs` runs: on a shared machine the CPU
    time is the steadier of the two."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def fill(db: str, builds: int) -> None:
    store = open_store(db, create=True)
    try:
        have = store.value("SELECT count(*) FROM builds") or 0
        start = time.perf_counter()
        for n in range(have, builds):
            date = time.strftime(
                "%Y-%m-%dT04:00:00+00:00", time.gmtime(1735700000 + n * 86400)
            )
            ingest(
                store,
                BuildInfo(str(1000 + n), f"c{n // 2:05d}", date),
                synthetic_jobs(n),
            )
            if (n + 1) % 10 == 0:
                rate = (n + 1 - have) / (time.perf_counter() - start)
                print(
                    f"  filled {n + 1}/{builds} builds ({rate:.1f} builds/s)",
                    flush=True,
                )
    finally:
        store.close()


def machine() -> dict[str, Any]:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": platform.platform(),
        "bytecode_caching": "off" if sys.dont_write_bytecode else "on",
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=10_000_000,
        help="results in the history (default 10 million)",
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="measured runs per figure (median)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the database here (reused when it has enough builds)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="testmatrix-history-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = str(work / "history.sqlite")
    filled = max(2, args.rows // RESULTS_PER_BUILD)
    print(f"filling {filled} builds of {RESULTS_PER_BUILD} results into {db}")
    fill(db, filled)
    store = open_store(db, create=False)
    # what the file holds (earlier runs' ingest figures added builds to a kept one)
    rows = store.value("SELECT max(id) FROM results")
    builds = store.value("SELECT count(*) FROM builds")
    store.close()
    size = os.path.getsize(db)
    figures: dict[str, Any] = {
        "rows": rows,
        "builds": builds,
        "db_bytes": size,
        "bytes_per_million_rows": round(size / rows * 1e6),
    }
    store = open_store(db, create=False)
    filled = max(2, args.rows // RESULTS_PER_BUILD)
    first, last = str(1000 + filled - 2), str(1000 + filled - 1)
    queries = {
        "status": lambda: status(store),
        "diff": lambda: diff(store, first, last),
        "flaky": lambda: flaky(store),
        "entries": lambda: entries(store),
    }
    for name, query in queries.items():
        query()  # warm: the OS cache and SQLite's page cache
        wall, cpu = measure(query, args.runs)
        figures[f"{name}_s"], figures[f"{name}_cpu_s"] = round(wall, 3), round(cpu, 3)
        figures[f"{name}_rows"] = (
            len(query()) if name != "diff" else len(query().changes)
        )  # type: ignore[attr-defined]
    store.close()
    figures.update(_ingest_figure(work, db, args.runs))
    figures["machine"] = machine()
    _report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def next_builds(work: Path, db: str, runs: int) -> list[Path]:
    """Artifacts of the builds after the history's newest, one per measured run:
    each run ingests a new nightly, whose results differ from the last one's as a
    real night's do (ingesting one build again and again would change nothing in
    the rollup, and flatter it)."""
    store = open_store(db, create=False)
    have = store.value("SELECT count(*) FROM builds")
    store.close()
    folders = []
    for n in range(have, have + runs):
        folder = work / f"artifacts-{n}"
        if not folder.is_dir():
            write_artifacts(synthetic_jobs(n), folder)
        folders.append(folder)
    return folders


def _parse(files: list[Path]) -> None:
    # each file parsed and let go: keeping all 400 trees alive costs the garbage
    # collector as much again, and would flatter the ratio
    for path in files:
        ET.parse(path)


def _record(store: Any, folder: Path, date: str) -> None:
    jobs = read_artifacts(folder, None, {}).jobs
    ingest(store, BuildInfo(folder.name, "cbench", date), jobs)


def _ingest_figure(work: Path, db: str, runs: int) -> dict[str, Any]:
    """Each run reads and records the next nightly build's artifacts, against
    parsing its JUnit files with ElementTree alone; the three take turns. The
    artifacts twice: as testmatrix sessions leave them (each summary's `results`
    read, the JUnit file beside it not), and their JUnit files alone, as jobs that
    do not run testmatrix leave them, recorded into a copy of the history."""
    folders = next_builds(work, db, runs)
    plain_db = str(work / "history-plain.sqlite")
    shutil.copyfile(db, plain_db)  # the same history, each run's build added
    store, plain = open_store(db, create=False), open_store(plain_db, create=False)
    newest = dt.datetime.fromisoformat(store.value("SELECT max(started) FROM builds"))
    baseline: list[tuple[float, float]] = []
    candidate: list[tuple[float, float]] = []
    junit_only: list[tuple[float, float]] = []
    for n, folder in enumerate(folders):
        files = sorted(folder.rglob("junit*.xml"))
        # the nightly after the newest: appended, as a real night's ingest is
        date = (newest + dt.timedelta(days=n + 1)).isoformat()
        plain_folder = plain_copy(folder)
        _parse(files)  # warm: the OS cache
        baseline.append(measure(functools.partial(_parse, files), 1))
        candidate.append(measure(functools.partial(_record, store, folder, date), 1))
        junit_only.append(
            measure(functools.partial(_record, plain, plain_folder, date), 1)
        )
    store.close()
    plain.close()
    b, c, p = (
        statistics.median(t[0] for t in x) for x in (baseline, candidate, junit_only)
    )
    bc, cc, pc = (
        statistics.median(t[1] for t in x) for x in (baseline, candidate, junit_only)
    )
    return {
        "parse_s": round(b, 3),
        "ingest_s": round(c, 3),
        "ingest_ratio": round(c / b, 2),
        "parse_cpu_s": round(bc, 3),
        "ingest_cpu_s": round(cc, 3),
        "ingest_cpu_ratio": round(cc / bc, 2),
        "junit_ingest_s": round(p, 3),
        "junit_ingest_ratio": round(p / b, 2),
        "junit_ingest_cpu_s": round(pc, 3),
        "junit_ingest_cpu_ratio": round(pc / bc, 2),
        "junit_bytes": sum(f.stat().st_size for f in folders[0].rglob("junit*.xml")),
        "summary_bytes": sum(
            f.stat().st_size for f in folders[0].rglob("summary*.json")
        ),
    }


def _report(f: dict[str, Any]) -> None:
    m = f["machine"]
    print(
        f"\nmachine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
        f"SQLite {m['sqlite']}, {m['os']}; bytecode caching {m['bytecode_caching']}"
    )
    print(
        f"history: {f['rows']:,} results in {f['builds']} builds; "
        f"{f['db_bytes']:,} bytes, {f['bytes_per_million_rows']:,} bytes per million "
        "rows"
    )
    print(
        f"ingest of one build ({RESULTS_PER_BUILD:,} results, "
        f"{f['junit_bytes']:,} bytes of JUnit, {f['summary_bytes']:,} of "
        f"summaries), testmatrix sessions: {f['ingest_s']} s vs ElementTree "
        f"parse {f['parse_s']} s = {f['ingest_ratio']}x wall, "
        f"{f['ingest_cpu_ratio']}x CPU ({f['ingest_cpu_s']} s vs "
        f"{f['parse_cpu_s']} s; target <= 2x)"
    )
    print(
        f"ingest of the same build's JUnit files alone (jobs without testmatrix): "
        f"{f['junit_ingest_s']} s = {f['junit_ingest_ratio']}x wall, "
        f"{f['junit_ingest_cpu_ratio']}x CPU ({f['junit_ingest_cpu_s']} s)"
    )
    for name in ("status", "diff", "flaky", "entries"):
        verdict = "met" if f[f"{name}_s"] < 1 else "MISSED"
        print(
            f"{name:8} {f[f'{name}_s']:.3f} s wall, {f[f'{name}_cpu_s']:.3f} s CPU "
            f"({f[f'{name}_rows']:,} rows out; target < 1 s: {verdict})"
        )


if __name__ == "__main__":
    sys.exit(main())
