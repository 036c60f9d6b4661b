"""The workspace cache at start-up: this tree's JSON cache against a baseline revision
(by default the pickle cache it replaced), measured in the same run.

    python benchmarks/cache.py [--baseline REV] [--runs N] [--synth DIR] [--json OUT]

For each workspace (the bundled one, and a synthetic one: `benchmarks/synth.py DIR
120000 300` builds it) and each implementation, in fresh processes, after one
unmeasured run that writes the caches (bytecode caching on, as users run):
  load    `import testmatrix.config.loader; load_workspace()` from a warm cache,
          timed in the process (wall); `-X importtime` says how long the testmatrix
          modules took to import and how many were imported
  pytest  a warm `pytest --co -q FILE --platform=rocm` of one test file (wall)
  cold listing  what `nox -l` does without a cache: the listing read from the
          TOML, in CPU time (the machine may be shared), after `import nox`
Runs alternate between the implementations; medians are reported with the
candidate/baseline ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOAD = (
    "import time; t = time.perf_counter(); "
    "from testmatrix.config.loader import load_workspace; load_workspace('.'); "
    "print(time.perf_counter() - t)"
)


def baseline_src(rev: str, work: Path) -> Path:
    """The baseline revision's src/ (git archive), beside the candidate's."""
    out = work / "baseline"
    out.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "src"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def workspace_copy(source: Path, src: Path, dest: Path) -> Path:
    """A copy of a workspace whose pytest.ini puts `src` first on the path."""
    skip = shutil.ignore_patterns("__pycache__", "selftest", "reports")
    for name in ("skiplists", "tests"):
        shutil.copytree(source / name, dest / name, ignore=skip)
    conftest = 'pytest_plugins = ["testmatrix.plugin"]\n'
    (dest / "conftest.py").write_text(conftest)
    ini = (source / "pytest.ini").read_text().splitlines()
    ini = [
        f"pythonpath = {src} tests" if i.startswith("pythonpath") else i for i in ini
    ]
    (dest / "pytest.ini").write_text("\n".join(ini) + "\n")
    return dest


def first_test_file(root: Path) -> str:
    for path in sorted((root / "tests").rglob("test_*.py")):
        if "selftest" not in path.parts:
            return path.relative_to(root).as_posix()
    raise SystemExit(f"no test file under {root}/tests")


def run(cmd: list[str], cwd: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("TESTMATRIX_NO_CACHE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as users run
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def load_sample(root: Path, src: Path) -> dict[str, float]:
    start = time.perf_counter()
    proc = run([sys.executable, "-X", "importtime", "-c", LOAD], root, src)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(proc.stderr)
    own, modules = 0, 0
    for line in proc.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2].startswith("testmatrix") and parts[0].isdigit():
            own += int(parts[0])
            modules += 1
    return {
        "load_ms": float(proc.stdout.split()[-1]) * 1000,
        "testmatrix_import_ms": own / 1000,
        "testmatrix_modules": modules,
        "process_ms": wall * 1000,
    }


LISTING = (
    "import time, nox.registry; from pathlib import Path; "
    "from testmatrix.config import listing; skiplists = Path('skiplists'); "
    "files = listing.read_files(skiplists); t = time.process_time(); "
    "assert listing.read_listing(skiplists, files); "
    "print(time.process_time() - t)"
)


def listing_sample(root: Path, src: Path) -> float:
    """A cold `nox -l` listing (no cache: the scan of the TOML), in CPU time: nox is
    imported first, as the noxfile runs under it."""
    proc = run([sys.executable, "-c", LISTING], root, src)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return float(proc.stdout.split()[-1]) * 1000


def pytest_sample(root: Path, src: Path, file: str) -> float:
    cmd = [sys.executable, "-m", "pytest", "--co", "-q", file, "--platform=rocm"]
    start = time.perf_counter()
    proc = run(cmd, root, src)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 5):
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
    return wall * 1000


CODEC = """
import json, os, pickle, time
from pathlib import Path
os.environ["TESTMATRIX_NO_CACHE"] = "1"
from testmatrix.config import codec, loader
root = Path(".").resolve()
ws = loader.load_workspace(root)
text, data = codec.encode(ws), pickle.dumps(ws, pickle.HIGHEST_PROTOCOL)
def best(f):
    times = []
    for _ in range(RUNS):
        start = time.perf_counter(); f(); times.append(time.perf_counter() - start)
    return min(times) * 1000
print(json.dumps({
    "decode_json_ms": best(lambda: codec.decode(text, root, ws.skiplist_dir)),
    "unpickle_ms": best(lambda: pickle.loads(data)),
    "json_bytes": len(text), "pickle_bytes": len(data),
}))
"""


def codec_row(root: Path, src: Path, runs: int) -> dict[str, float]:
    """In one process: the workspace decoded from the cache's JSON, against the same
    workspace unpickled (the baseline's way), best of `runs` each."""
    code = CODEC.replace("RUNS", str(max(runs, 20)))
    proc = run([sys.executable, "-c", code], root, src)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    row = json.loads(proc.stdout)
    row["ratio"] = row["decode_json_ms"] / row["unpickle_ms"]
    return row


def measure(name: str, roots: dict[str, Path], srcs: dict[str, Path], runs: int):
    file = first_test_file(roots["candidate"])
    samples: dict[str, list[dict[str, float]]] = {impl: [] for impl in roots}
    for impl, root in roots.items():  # unmeasured: writes bytecode and the caches
        load_sample(root, srcs[impl])
        pytest_sample(root, srcs[impl], file)
    for _ in range(runs):
        for impl, root in roots.items():
            sample = load_sample(root, srcs[impl])
            sample["pytest_ms"] = pytest_sample(root, srcs[impl], file)
            sample["cold_listing_cpu_ms"] = listing_sample(root, srcs[impl])
            samples[impl].append(sample)
    out = {}
    for impl, rows in samples.items():
        out[impl] = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
    ratio = {
        key: out["candidate"][key] / out["baseline"][key]
        for key in out["candidate"]
        if out["baseline"][key]
    }
    codec = codec_row(roots["candidate"], srcs["candidate"], runs)
    return {"workspace": name, "file": file, **out, "ratio": ratio, "codec": codec}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="e4c2569", help="git revision to compare")
    parser.add_argument("--runs", type=int, default=7, help="measured runs of each")
    parser.add_argument("--synth", type=Path, help="a synth.py workspace to add")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        srcs = {
            "candidate": REPO / "src",
            "baseline": baseline_src(args.baseline, work),
        }
        sources = {"bundled": REPO}
        if args.synth:
            sources["synthetic"] = args.synth.resolve()
        for name, source in sources.items():
            roots = {
                impl: workspace_copy(source, src, work / f"{name}-{impl}")
                for impl, src in srcs.items()
            }
            results.append(measure(name, roots, srcs, args.runs))
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.node()}",
        "python": platform.python_version(),
        "bytecode_cache": True,  # the children write and read it
        "baseline": args.baseline,
        "results": results,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
