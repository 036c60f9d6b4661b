"""What testmatrix costs and saves, each figure a median over runs and a ratio against a
baseline measured in the same run, interleaved with it.
Usage: python benchmarks/run.py [--runs 5] [--json PATH]
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "src"))

from synth import Scale, build, build_import_heavy  # noqa: E402


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()}"
    )


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 5):
        raise SystemExit(
            f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stderr[-2000:]}"
        )
    return elapsed


def compare(
    name: str,
    baseline_name: str,
    baseline: list[str],
    candidate: list[str],
    cwd: Path,
    runs: int,
    target: str,
    env: dict | None = None,
    kind: str = "ratio",
) -> dict:
    """Interleave baseline and candidate runs (alternating which goes first); medians
    and their ratio."""
    base, cand = [], []
    for i in range(runs):
        order = [(base, baseline), (cand, candidate)]
        for bucket, cmd in order if i % 2 == 0 else reversed(order):
            bucket.append(timed(cmd, cwd, env))
    b, c = statistics.median(base), statistics.median(cand)
    row = {
        "figure": name,
        "baseline": baseline_name,
        "candidate_s": round(c, 3),
        "baseline_s": round(b, 3),
        "ratio": round(c / b, 3),
        "added_s": round(c - b, 3),
        "target": target,
        "runs": runs,
    }
    if kind == "added":
        row["met"] = (c - b) < float(target.split()[1])
    elif target.startswith("<="):
        row["met"] = c / b <= float(target[2:])
    else:
        row["met"] = None
    print(
        f"  {name}: {c:.2f}s vs {b:.2f}s -> ratio {c / b:.3f} (added {c - b:+.2f}s)",
        flush=True,
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=str(HERE / "results.json"))
    parser.add_argument(
        "--workdir",
        default=None,
        help="where to build the synthetic suites (default: a temp dir)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny suite and one run: checks the benchmark works, measures nothing",
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    elif args.runs < 5:
        print(
            "note: fewer than 5 runs per figure; the targets are stated for medians "
            "over at least 5",
            file=sys.stderr,
        )
    py = sys.executable
    work = Path(args.workdir or tempfile.mkdtemp(prefix="testmatrix-bench-"))
    big = work / "vllm-scale"
    built = build(
        big,
        Scale(files=40, items=800, models=20, entries=30, suites=4)
        if args.smoke
        else Scale(),
    )
    print(f"synthetic suite: {built}", flush=True)
    from testmatrix.config import load_workspace
    from testmatrix.plan import session_argv

    ws = load_workspace(big)
    flags = [
        a
        for s in ws.suites
        for a in session_argv(ws, "rocm", s)
        if a.startswith(("--ignore=", "--deselect="))
    ]
    plain = [py, "-m", "pytest", "--collect-only", "-qq", "-p", "no:testmatrix.plugin"]
    plugin = [py, "-m", "pytest", "--collect-only", "-qq"]
    rows = []
    print("figures:", flush=True)
    rows.append(
        compare(
            "1a collect: plugin, no entries apply (cuda)",
            "plain pytest --collect-only",
            plain,
            plugin + ["--platform=cuda"],
            big,
            args.runs,
            "<=1.05",
        )
    )
    rows.append(
        compare(
            "1b collect: plugin + rocm skiplists",
            "plain pytest --collect-only",
            plain,
            plugin + ["--platform=rocm"],
            big,
            args.runs,
            "<=1.05",
        )
    )
    argsfile = big / "rocm-flags.txt"
    argsfile.write_text("\n".join(flags) + "\n")
    rows.append(
        compare(
            "1c collect: plugin + rocm skiplists",
            "plain pytest with the same --ignore/--deselect flags",
            plain + [f"@{argsfile}"],
            plugin + ["--platform=rocm"],
            big,
            args.runs,
            "<=1.05",
        )
    )
    handwritten = big / "noxfile_handwritten.py"
    handwritten.write_text(_handwritten_noxfile(ws))
    rows.append(
        compare(
            "2 nox -l: generated sessions",
            "hand-written noxfile, same sessions",
            [py, "-m", "nox", "-l", "-f", str(handwritten)],
            [py, "-m", "nox", "-l"],
            big,
            args.runs,
            "<=1.2",
        )
    )
    rows.append(
        compare(
            "3 explain: every platform x suite",
            "one plain collection",
            plain,
            [py, "-m", "testmatrix", "explain", "--summary"],
            big,
            args.runs,
            "<=1.5",
        )
    )
    rows.append(_session_overhead(py, args.runs))
    heavy = work / "import-heavy"
    build_import_heavy(heavy)
    rows.append(
        compare(
            "5 collect: with CI-level ignores "
            "(50 of 60 modules ignored, 40 ms import each)",
            "same suite without the ignores",
            plugin + ["--platform=rocm", "--no-skiplist"],
            plugin + ["--platform=rocm"],
            heavy,
            args.runs,
            "saving",
        )
    )
    result = {
        "machine": machine(),
        "suite": built,
        "runs": args.runs,
        "figures": rows,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table(result))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _handwritten_noxfile(ws) -> str:
    lines = ["import nox", ""]
    for p in ws.platforms:
        for s in ws.suites:
            name = f"{p}-{s}"
            lines += [
                f'@nox.session(name="{name}", tags=["{p}", "{s}"])',
                f"def {name.replace('-', '_')}(session):",
                f'    """Run suite {s} as {p} CI does."""',
                f'    session.run("pytest", "{ws.suites[s].path}")',
                "",
            ]
    for extra in ("pipeline", "lint"):
        lines += [
            f'@nox.session(name="{extra}", default=False)',
            f"def {extra}(session):",
            '    """Tooling."""',
            "",
            "",
        ]
    return "\n".join(lines)


def _session_overhead(py: str, runs: int) -> dict:
    """nox with a reused virtualenv versus the same pytest command run directly, on the
    bundled suite."""
    with tempfile.TemporaryDirectory(prefix="testmatrix-envs-") as envs:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        session = "rocm-pooling"
        # reports go to the temporary folder: reports/ in the checkout is the user's
        reports = [
            f"--junitxml={envs}/junit.xml",
            f"--testmatrix-summary-json={envs}/summary.json",
        ]
        subprocess.run(
            [py, "-m", "nox", "-s", session, "--envdir", envs, "--", *reports],
            cwd=REPO,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        from testmatrix.config import load_workspace
        from testmatrix.plan import session_argv

        argv = session_argv(load_workspace(REPO), "rocm", "pooling")
        direct = [
            str(Path(envs) / session / "bin" / "pytest"),
            *argv,
            *reports,
        ]
        return compare(
            "4 session: nox -R (reused env)",
            "the same pytest command run directly",
            direct,
            [py, "-m", "nox", "-R", "-s", session, "--envdir", envs, "--", *reports],
            REPO,
            runs,
            "added 0.5",
            env,
            kind="added",
        )


def table(result: dict) -> str:
    lines = [
        f"machine: {result['machine']}",
        f"suite: {result['suite']}, median of {result['runs']} runs",
        "",
        "| figure | baseline | candidate s | baseline s | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["figures"]:
        target = (
            f"< +{r['target'].split()[1]} s (added {r['added_s']:+.2f} s)"
            if r["target"].startswith("added")
            else r["target"]
        )
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        lines.append(
            f"| {r['figure']} | {r['baseline']} | {r['candidate_s']} "
            f"| {r['baseline_s']} | {r['ratio']} | {target} | {met} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
