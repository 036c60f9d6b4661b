"""Before and after in one run: the decision implementation's CPU µs per item
(`-p hooktiming`, as figures 1 and 2 read it) for two or more copies of
testmatrix's src/, their runs interleaved (run.py's `measure`), on workspaces
built once; optionally with the naive hook of figure 1 as a third side.

A copy is a src/ folder of another commit (`git archive COMMIT | tar -x -C DIR`).
A workspace is a tree `synth.build` or `synth.build_one_function` wrote; its
pytest.ini may not put a src/ on the path (synth writes the building worktree's:
this script removes that line), or every side would import the same copy.

Usage: python benchmarks/ab.py --runs 5 --root WS [--root WS ...]
           --side perf2=/tmp/base/src --side new=src [--naive]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench


def unpinned(root: Path) -> None:
    """Drops a src/ folder from the workspace's pytest.ini `pythonpath`."""
    ini = root / "pytest.ini"
    text = ini.read_text()
    fixed = re.sub(r"(?m)^pythonpath = (\S*/src)( |$)", "pythonpath = ", text)
    fixed = re.sub(r"(?m)^pythonpath = *\n", "", fixed)
    if fixed != text:
        ini.write_text(fixed)


def commands(
    root: Path, sides: list[tuple[str, str]], naive: bool, work: Path
) -> list[bench.Command]:
    out = []
    for label, src in sides:
        env = bench.child_env(bench_plugins=True)
        env["PYTHONPATH"] = os.pathsep.join([src, str(bench.HERE)])
        probe = work / f"probe-{label}.json"
        env[bench.PROBE_ENV] = str(probe)
        argv = bench.pytest_cmd(sys.executable) + ["-p", "hooktiming", bench.ROCM]
        out.append(bench.Command(label, argv, root, env, probe=probe))
    if naive:
        models = work / "naive-models.json"
        models.write_text(json.dumps(bench.naive_models(root)))
        ignores = [f for f in bench.plain_flags(root) if f.startswith("--ignore=")]
        probe = work / "probe-naive.json"
        env = bench.child_env(
            bench_plugins=True,
            **{bench.PROBE_ENV: str(probe), bench.NAIVE_ENV: str(models)},
        )
        argv = bench.pytest_cmd(sys.executable) + ["-p", "hooktiming", *bench.PLAIN]
        argv += ["-p", "naivehook", bench.argsfile(root, "ignores.txt", ignores)]
        out.append(bench.Command("naive", argv, root, env, probe=probe))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--root", action="append", required=True, type=Path)
    parser.add_argument("--side", action="append", required=True, help="LABEL=SRC")
    parser.add_argument("--naive", action="store_true")
    parser.add_argument("--work", type=Path, default=Path("/tmp/testmatrix-ab"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sides = [tuple(s.split("=", 1)) for s in args.side]
    args.work.mkdir(parents=True, exist_ok=True)
    bench.LOG_DIR = args.work
    result: dict[str, dict[str, object]] = {}
    for root in args.root:
        unpinned(root)
        cmds = commands(root, sides, args.naive, args.work)  # type: ignore[arg-type]
        got = bench.measure(cmds, args.runs)
        rows: dict[str, object] = {}
        for cmd in cmds:
            impl = "naivehook" if cmd.label == "naive" else "testmatrix.plugin"
            values = bench.per_item(got[cmd.label], impl)
            probe = got[cmd.label][-1].probe or {}
            rows[cmd.label] = {
                "cpu_us_per_item": round(statistics.median(values), 3),
                "samples": [round(v, 3) for v in values],
                "items": probe.get("items_seen"),
                "fates": probe.get("fates"),
            }
            print(f"{root.name} {cmd.label}: {rows[cmd.label]}", flush=True)
        result[str(root)] = rows
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
