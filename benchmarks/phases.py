"""Where the plugin's excess over the F3 floor goes, by phase, in instructions.

    python benchmarks/phases.py WORKSPACE [--out DIR]

WORKSPACE is one of the F3 workspaces `run.py` builds (say /tmp/bench/ws-30000-300),
with its floor beside it (WORKSPACE-floor, holding rocm-deselect-ids.txt): run.py
--only f3 makes both. Both sides run once under callgrind, side by side
(`PYTHONHASHSEED=0`, warm caches: one unmeasured run of each first), with `-p cgmark`
marking the phases; the table gives each phase's instructions on both sides, the
difference and the ratio of the totals. Instructions do not depend on the machine's
load, so a change of a few percent of one phase shows where CPU time cannot.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from cgmark import MARKS_ENV
from run import PLAIN, ROCM, child_env, pytest_cmd
from setfloor import DESELECTS_ENV

# (phase, mark it starts at, mark it ends at), in order: the phases but the
# indented one add up to the whole run (the decision's marks are either side's)
PHASES = [
    ("start-up: interpreter, plugins, conftests", "", "cmdline_main"),
    ("to pytest_configure", "cmdline_main", "configure start"),
    ("pytest_configure (testmatrix's; setfloor's)", "configure start", "configure end"),
    ("to collection", "configure end", "collection"),
    ("collection, to the decision", "collection", "decide start"),
    ("the decision (decide_collected; setfloor's)", "decide start", "decide end"),
    ("collection, after the decision", "decide end", "collection_finish"),
    ("summary and unconfigure", "collection_finish", "unconfigure"),
    (
        "  of which testmatrix's terminal summary",
        "terminal_summary start",
        "terminal_summary end",
    ),
    ("unconfigure to atexit", "unconfigure", "atexit"),
    ("after atexit", "atexit", "end"),
]
SAME = {
    "collection_modifyitems start": "decide start",
    "collection_modifyitems end": "decide end",
}


def command(side: str, root: Path, out: Path) -> tuple[list[str], Path, dict[str, str]]:
    """One side's command as figure 3 runs it (run.py), with -p cgmark."""
    marks = {MARKS_ENV: str(out / f"{side}.marks"), "PYTHONHASHSEED": "0"}
    argv = [*pytest_cmd(sys.executable), "-p", "cgmark"]
    if side == "plugin":
        return [*argv, ROCM], root, child_env(bench_plugins=True, **marks)
    floor = root.parent / f"{root.name}-floor"
    ids = str(floor / "rocm-deselect-ids.txt")
    env = child_env(bench_plugins=True, **marks, **{DESELECTS_ENV: ids})
    return [*argv, *PLAIN, "-p", "setfloor"], floor, env


def marks(out: Path, side: str) -> dict[str, int]:
    """Instructions counted up to each mark (and "end"), from callgrind's dumps."""
    order = (out / f"{side}.marks").read_text().splitlines()
    files = [out / f"{side}.cg.{i}" for i in range(1, len(order) + 1)]
    files.append(out / f"{side}.cg")
    at, total = {}, 0
    for name, path in zip([*order, "end"], files, strict=True):
        for line in path.read_text().splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
                break
        at[SAME.get(name, name)] = total
    at[""] = 0
    return at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="phases-"))
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for side in ("plugin", "floor"):
        argv, cwd, env = command(side, args.workspace.resolve(), out)
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        grind = [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=zlib_crc32*",
            f"--callgrind-out-file={out / f'{side}.cg'}",
            *argv,
        ]
        log = (out / f"{side}.log").open("w")
        runs.append(subprocess.Popen(grind, cwd=cwd, env=env, stdout=log, stderr=log))
    if any(run.wait() not in (0, 5) for run in runs):
        print(f"a run failed: see {out}/*.log", file=sys.stderr)
        return 1
    got = {side: marks(out, side) for side in ("plugin", "floor")}
    print(
        f"{'phase':52s} {'plugin':>10s} {'floor':>10s} {'excess':>9s}  (M instructions)"
    )
    for name, start, end in PHASES:
        cells = []
        for side in ("plugin", "floor"):
            at = got[side]
            cells.append(at[end] - at[start] if start in at and end in at else 0)
        print(
            f"{name:52s} {cells[0] / 1e6:10.1f} {cells[1] / 1e6:10.1f} "
            f"{(cells[0] - cells[1]) / 1e6:+9.1f}"
        )
    p, f = got["plugin"]["end"], got["floor"]["end"]
    print(
        f"{'whole run':52s} {p / 1e6:10.1f} {f / 1e6:10.1f} {(p - f) / 1e6:+9.1f}"
        f"  ratio {p / f:.4f}"
    )
    print(f"callgrind's files: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
