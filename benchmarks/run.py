"""What testmatrix costs, each figure a ratio against a baseline measured in the same
run: every command is run once unmeasured (a warm-up that writes the bytecode caches
and warms the OS cache), then the candidate and its baseline take turns, and each
figure is the median of at least 5 measured runs. Child processes run with bytecode
caching on (no PYTHONDONTWRITEBYTECODE, no PYTHONPYCACHEPREFIX) and the worktree's
src/ first on PYTHONPATH.

Figures (--only takes their keys):
  f1       per-item decision cost: testmatrix's hook vs vLLM PR 28156's naive
           substring hook, timed in the collecting process (<= 1.0x)
  f2       flat in entries: per-item cost with 3,000 entries vs 30 (<= 1.1x)
  f3       whole collection: plugin vs the fair floor (a copy without the ignored
           files, the same tests deselected without flags), at every size
           (<= 1.02x), beside plain pytest with the same --ignore and --deselect
           flags; cuda (nothing applies) too
  f4       nox -l: generated sessions vs a hand-written noxfile, cold and warm
           (<= 1.1x); floor: python -c 'import nox'
  f5       explain --summary (<= 1.2x) and lint (<= 1.3x) vs one plain collection
  f6       importing vLLM's CI files of the snapshot (< 1 s)
  session  nox -R session vs the same pytest command run directly (< +0.5 s)
  saving   what CI-level ignores save when ignored modules are costly to import

Usage: python benchmarks/run.py [--runs 5] [--sizes 10k,30k,120k,300k]
       [--only f1,f3] [--json PATH] [--workdir DIR] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(SRC))

from atexitprobe import ATEXIT_ENV  # noqa: E402
from hooktiming import PROBE_ENV  # noqa: E402
from naivehook import NAIVE_ENV  # noqa: E402
from setfloor import DESELECTS_ENV  # noqa: E402
from synth import (  # noqa: E402
    MIXES,
    Scale,
    build,
    build_import_heavy,
    build_one_function,
    build_one_test,
)

FIGURES = (
    "f1",
    "f2",
    "f2one",
    "f3",
    "fixed",
    "f4",
    "f5",
    "f6",
    "session",
    "saving",
)
SIZES = {"10k": 10_000, "30k": 30_000, "120k": 120_000, "300k": 300_000}
REFERENCE_SIZE = 120_000  # figures 1, 2, 4 and 5 use this size where it is asked for
ENTRIES = 300
FEW, MANY = 30, 3000  # figure 2
REFERENCE = REPO / "tests" / "selftest" / "data" / "vllm"  # vendored, with its NOTICE
SNAPSHOT = "7075df79b"
LM_EVAL = ".buildkite/lm-eval-harness/test_lm_eval_correctness.py"
BYTECODE = "on"  # what every figure is measured with; the output says so
DROPPED_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTEST_ADDOPTS")


class BenchError(Exception):
    """A command of the benchmark failed: the figure cannot be measured."""


# -- running and timing ----------------------------------------------------------


def child_env(*, bench_plugins: bool = False, **extra: str) -> dict[str, str]:
    """The environment of every measured process: bytecode caching on (whatever
    this shell says), no testmatrix or pytest settings of the caller's, the
    worktree's src/ first (and benchmarks/, for -p hooktiming, where asked)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in DROPPED_ENV and not k.startswith("TESTMATRIX_")
    }
    paths = [str(SRC)] + ([str(HERE)] if bench_plugins else [])
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra)
    return env


@dataclass
class Command:
    label: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    before: Callable[[], None] | None = None  # unmeasured, before every run
    probe: Path | None = None  # in-process timing: the hook writes it
    atexit: Path | None = None  # CPU time at atexit: -p atexitprobe writes it
    ok: tuple[int, ...] = (0, 5)

    def describe(self) -> str:
        return f"(cd {self.cwd} && {shlex.join(self.argv)})"


@dataclass
class Sample:
    wall: float  # seconds, the whole process
    cpu: float = 0.0  # its CPU seconds, user and system, with its children's
    probe: dict[str, Any] | None = None
    returncode: int = 0
    last_line: str = ""  # of its output: what it said it did
    maxrss_mb: float = 0.0  # the process's peak resident memory
    after_atexit: float | None = None  # CPU seconds after atexit (teardown)


LOG_DIR = Path(tempfile.gettempdir())


def run_once(cmd: Command) -> Sample:
    if cmd.before is not None:
        cmd.before()
    if cmd.probe is not None:
        cmd.probe.unlink(missing_ok=True)
    if cmd.atexit is not None:
        cmd.atexit.unlink(missing_ok=True)
    log = LOG_DIR / "last-command.log"
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd.argv,
            cwd=cmd.cwd,
            env=cmd.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        # this child's own rusage: its CPU time and its peak memory alone
        _, status, used = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = used.ru_utime + used.ru_stime
    if proc.returncode not in cmd.ok:
        tail = log.read_text(errors="replace")[-3000:]
        raise BenchError(
            f"{cmd.label}: exit {proc.returncode} from\n  {cmd.describe()}\n{tail}"
        )
    after = None
    if cmd.atexit is not None and cmd.atexit.is_file():
        after = cpu - float(cmd.atexit.read_text())
    probe = None
    if cmd.probe is not None:
        if not cmd.probe.is_file():
            raise BenchError(
                f"{cmd.label}: the timing plugin wrote nothing: {cmd.describe()}"
            )
        probe = json.loads(cmd.probe.read_text())
    lines = log.read_text(errors="replace")[-2000:].strip().splitlines()
    last = lines[-1] if lines else ""
    rss = used.ru_maxrss / 1024  # KiB on Linux
    return Sample(wall, cpu, probe, proc.returncode, last, rss, after)


def measure(commands: list[Command], runs: int) -> dict[str, list[Sample]]:
    """Each command once, unmeasured (the warm-up), then `runs` rounds in which each
    runs once, the order rotating from round to round (two commands alternate)."""
    for cmd in commands:
        run_once(cmd)
    samples: dict[str, list[Sample]] = {c.label: [] for c in commands}
    for i in range(runs):
        k = i % len(commands)
        for cmd in commands[k:] + commands[:k]:
            samples[cmd.label].append(run_once(cmd))
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def walls(samples: list[Sample]) -> list[float]:
    return [s.wall for s in samples]


# -- rows --------------------------------------------------------------------------


@dataclass
class Target:
    kind: str  # "ratio" (<= value), "below" (candidate < value), "added", "saving"
    value: float = 0.0

    def text(self) -> str:
        if self.kind == "ratio":
            return f"<= {self.value:g}x"
        if self.kind == "below":
            return f"< {self.value:g} s"
        if self.kind == "added":
            return f"< +{self.value:g} s"
        if self.kind == "added_ms":
            return f"< +{self.value:g} ms"
        return "a saving"

    def met(self, cand: float, base: float, seconds: float) -> bool | None:
        if self.kind == "ratio":
            return cand / base <= self.value
        if self.kind == "below":
            return seconds < self.value
        if self.kind in ("added", "added_ms"):
            return seconds < self.value
        return None


@dataclass
class Row:
    figure: str
    name: str
    candidate: str
    baseline: str
    unit: str  # "s", "ms", "us/item"
    candidate_value: float
    baseline_value: float
    target: Target
    runs: int
    floor: float | None = None  # same unit
    floor_name: str | None = None
    size: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    met_seconds: float | None = None  # what an absolute target is checked on

    @property
    def ratio(self) -> float:
        return self.candidate_value / self.baseline_value

    def as_dict(self) -> dict[str, Any]:
        seconds = (
            self.met_seconds
            if self.met_seconds is not None
            else self.candidate_value - self.baseline_value
        )
        out = {
            "figure": self.figure,
            "name": self.name,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "unit": self.unit,
            "candidate_value": round(self.candidate_value, 4),
            "baseline_value": round(self.baseline_value, 4),
            "ratio": round(self.ratio, 3),
            "target": self.target.text(),
            "met": self.target.met(self.candidate_value, self.baseline_value, seconds),
            "runs": self.runs,
        }
        if self.size is not None:
            out["items"] = self.size
        if self.floor is not None:
            out["floor"] = round(self.floor, 4)
            out["floor_name"] = self.floor_name
            out["candidate_above_floor"] = round(self.candidate_value - self.floor, 4)
            out["baseline_above_floor"] = round(self.baseline_value - self.floor, 4)
        out["range"] = {
            k: [round(min(vs), 4), round(max(vs), 4)] for k, vs in self.samples.items()
        }
        out["detail"] = self.detail
        out["samples"] = {
            k: [round(v, 6) for v in vs] for k, vs in self.samples.items()
        }
        return out


def say(row: Row) -> Row:
    d = row.as_dict()
    for side in ("testmatrix", "many"):
        hooks = row.detail.get(side, {}).get("testmatrix_collection_hooks_elsewhere")
        if hooks:
            print(
                f"  note: testmatrix also implements {', '.join(hooks)}: per-item "
                "work there is outside figure 1/2's timing (figure 3 counts it)",
                flush=True,
            )
    met = {True: "met", False: "NOT MET", None: "-"}[d["met"]]
    floor = ""
    if row.floor is not None:
        floor = f"; floor {row.floor:.4g} {row.unit}"
    print(
        f"  {row.figure} {row.name}: {row.candidate_value:.4g} vs "
        f"{row.baseline_value:.4g} {row.unit} -> {d['ratio']}x "
        f"(target {d['target']}: {met}){floor}; runs "
        + ", ".join(f"{k} {lo:.4g}..{hi:.4g}" for k, (lo, hi) in d["range"].items()),
        flush=True,
    )
    return row


# -- workspaces --------------------------------------------------------------------


@contextlib.contextmanager
def no_cache() -> Iterator[None]:
    """Load workspaces here without writing testmatrix's cache for this process's
    working directory (the measured processes write their own)."""
    old = os.environ.get("TESTMATRIX_NO_CACHE")
    os.environ["TESTMATRIX_NO_CACHE"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TESTMATRIX_NO_CACHE", None)
        else:
            os.environ["TESTMATRIX_NO_CACHE"] = old


def load(root: Path):  # type: ignore[no-untyped-def]
    from testmatrix.config.loader import load_workspace

    with no_cache():
        return load_workspace(root)


def plain_flags(root: Path, platform_name: str = "rocm") -> list[str]:
    """The --ignore and --deselect flags of every suite's session on a platform (its
    platform-wide entries): what plain pytest needs to leave out what the plugin
    does."""
    from testmatrix.core.session import session_argv

    ws = load(root)
    flags: dict[str, None] = {}
    for suite in ws.suites:
        for arg in session_argv(ws, platform_name, suite):
            if arg.startswith(("--ignore=", "--deselect=")):
                flags[arg] = None
    return list(flags)


def naive_models(root: Path) -> dict[str, list[str]]:
    """Every model the rocm skip entries name (model lists expanded), by marker."""
    ws = load(root)
    out: dict[str, set[str]] = {}
    for skip in ws.platforms["rocm"].skips:
        out.setdefault(skip.marker, set()).update(skip.models)
    return {marker: sorted(models) for marker, models in out.items()}


def our_caches(root: Path) -> list[Path]:
    """Every cache file testmatrix writes in a workspace: `__pycache__/testmatrix-*`
    beside the skiplists (and at the root); Python's own .pyc files are not ours."""
    found: list[Path] = []
    for base in (root, root / "skiplists"):
        found += base.glob("__pycache__/testmatrix-*")
    found += (root / "skiplists").glob("*/**/__pycache__/testmatrix-*")
    return found


def drop_caches(root: Path) -> Callable[[], None]:
    def drop() -> None:
        for path in our_caches(root):
            path.unlink(missing_ok=True)

    return drop


class Workspaces:
    """Builds each synthetic workspace once, on first use."""

    def __init__(self, work: Path, smoke: bool, mix: str = "wide"):
        self.work = work
        self.smoke = smoke
        self.mix = mix  # synth's mix of shapes: "wide" (the default) or "classic"
        self.built: dict[str, dict[str, Any]] = {}
        self.entries = FEW if smoke else ENTRIES

    def scale(
        self, items: int, entries: int, tree_entries: int = 0, budget: bool = False
    ) -> Scale:
        if self.smoke:
            return Scale(
                items=items,
                entries=entries,
                files=40,
                models=20,
                suites=4,
                tree_entries=tree_entries,
                mix=self.mix,
                budget=budget,
            )
        return Scale(
            items=items,
            entries=entries,
            tree_entries=tree_entries,
            mix=self.mix,
            budget=budget,
        )

    def get(
        self, items: int, entries: int = 0, tree_entries: int = 0, budget: bool = False
    ) -> Path:
        """The workspace of `items` tests and `entries` entries (`budget`: the
        single-test deselects among them, not on top; figures 1 and 2)."""
        entries = entries or self.entries
        name = f"ws-{items}-{entries}" + (f"-of-{tree_entries}" if tree_entries else "")
        name += "" if self.mix == "wide" else f"-{self.mix}"
        name += "-budget" if budget else ""
        root = self.work / name
        if name not in self.built:
            start = time.perf_counter()
            info = build(root, self.scale(items, entries, tree_entries, budget))
            info["build_s"] = round(time.perf_counter() - start, 2)
            self.built[name] = info
            print(
                f"  built {name}: {info['items']} tests in {info['files']} files, "
                f"{info['entries']} entries {info['entry_kinds']}, "
                f"{info['build_s']} s",
                flush=True,
            )
        return root


# -- figures -----------------------------------------------------------------------


def label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def pytest_cmd(py: str) -> list[str]:
    return [py, "-m", "pytest", "--collect-only", "-qq"]


PLAIN = ["-p", "no:testmatrix.plugin"]
ROCM = "--testmatrix-platform=rocm"


def argsfile(root: Path, name: str, flags: list[str]) -> str:
    path = root / name
    path.write_text("\n".join(flags) + "\n")
    return f"@{path}"


def per_item(samples: list[Sample], impl: str | None = None) -> list[float]:
    """CPU µs per item the hook saw, in the collecting process: the whole hook, or
    one plugin's implementation (CPU time: what others' load does not lengthen;
    `wall_per_item` is the wall clock)."""
    out = []
    for s in samples:
        assert s.probe is not None
        if impl is not None and impl not in s.probe["impls_ns"]:
            raise BenchError(
                f"no {impl} among the implementations of pytest_collection_"
                f"modifyitems: {s.probe['impls']} (was the plugin renamed?)"
            )
        ns = s.probe["cpu_ns"] if impl is None else s.probe["impls_ns"]["cpu:" + impl]
        out.append(ns / 1000 / max(1, s.probe["items_seen"]))
    return out


def wall_per_item(samples: list[Sample], impl: str | None = None) -> list[float]:
    """Wall-clock µs per item the hook saw (see per_item)."""
    out = []
    for s in samples:
        assert s.probe is not None
        ns = s.probe["ns"] if impl is None else s.probe["impls_ns"][impl]
        out.append(ns / 1000 / max(1, s.probe["items_seen"]))
    return out


def cpu_per_item(samples: list[Sample]) -> list[float]:
    """µs of this process's CPU time per item, the whole hook: unlike the wall
    clock, not lengthened by other processes' load on the machine."""
    out = []
    for s in samples:
        assert s.probe is not None
        out.append(s.probe["cpu_ns"] / 1000 / max(1, s.probe["items_seen"]))
    return out


def probe_detail(samples: list[Sample]) -> dict[str, Any]:
    last = samples[-1].probe or {}
    return {
        "cpu_us_per_item": round(median(cpu_per_item(samples)), 4),
        "items_seen": last.get("items_seen"),
        "items_kept": last.get("items_kept"),
        "modifyitems_impls": last.get("impls"),
        "fates": last.get("fates"),
        "skip_marked": last.get("skip_marked"),
        "testmatrix_collection_hooks_elsewhere": last.get(
            "testmatrix_collection_hooks_elsewhere"
        ),
        "wall_us_per_item": round(median(wall_per_item(samples)), 4),
        "impl_cpu_us_per_item": {
            name: round(median(per_item(samples, name)), 4)
            for name in last.get("impls", [])
        },
        "impl_wall_us_per_item": {
            name: round(median(wall_per_item(samples, name)), 4)
            for name in last.get("impls", [])
        },
    }


def hook_rows(
    figure: str,
    names: tuple[str, str],
    sides: tuple[tuple[str, str], tuple[str, str]],
    samples: tuple[list[Sample], list[Sample]],
    target: Target,
    runs: int,
    size: int,
    detail: dict[str, Any],
) -> list[Row]:
    """A per-item figure's two rows: the whole hook as the wrapper timed it, and each
    side's decision implementation alone (`sides`: (label, plugin name) each)."""
    (cand, cand_impl), (base, base_impl) = sides
    c, b = samples
    whole = {"candidate": per_item(c), "baseline": per_item(b)}
    alone = {"candidate": per_item(c, cand_impl), "baseline": per_item(b, base_impl)}
    impl_labels = (cand, base)
    if cand_impl != base_impl:  # two plugins: name them
        impl_labels = (f"{cand_impl}'s modifyitems", f"{base_impl}'s modifyitems")
    rows = []
    for name, labels, got in (
        (names[0], (cand, base), whole),
        (names[1], impl_labels, alone),
    ):
        rows.append(
            Row(
                figure,
                name,
                *labels,
                "us/item",
                median(got["candidate"]),
                median(got["baseline"]),
                target,
                runs,
                size=size,
                detail=detail if got is whole else {},
                samples=got,
            )
        )
    return rows


def figure1(py: str, ws: Workspaces, size: int, runs: int, work: Path) -> list[Row]:
    """F1 at the reference entries, then with few and many listed models (the
    entries of figure 2's two workspaces: 30 and 3,000)."""
    n_many = 300 if ws.smoke else MANY
    rows = hook_figure1(py, ws, ws.get(size), runs, work, "")
    for entries in (FEW,) if ws.smoke else (FEW, n_many):
        root = ws.get(size, entries, tree_entries=n_many, budget=True)
        rows += hook_figure1(py, ws, root, runs, work, f" ({entries} entries)")
    return rows


def hook_figure1(
    py: str, ws: Workspaces, root: Path, runs: int, work: Path, which: str
) -> list[Row]:
    naive = work / "naive-models.json"
    models = naive_models(root)
    naive.write_text(json.dumps(models))
    ignores = [f for f in plain_flags(root) if f.startswith("--ignore=")]
    collect = pytest_cmd(py) + ["-p", "hooktiming"]
    cand = Command(
        "testmatrix",
        collect + [ROCM],
        root,
        child_env(bench_plugins=True, **{PROBE_ENV: str(work / "probe-c.json")}),
        probe=work / "probe-c.json",
    )
    base = Command(
        "naive hook",
        collect + PLAIN + ["-p", "naivehook", argsfile(root, "ignores.txt", ignores)],
        root,
        child_env(
            bench_plugins=True,
            **{PROBE_ENV: str(work / "probe-b.json"), NAIVE_ENV: str(naive)},
        ),
        probe=work / "probe-b.json",
    )
    got = measure([cand, base], runs)
    c, b = got[cand.label], got[base.label]
    detail = {
        "testmatrix": probe_detail(c),
        "naive hook": probe_detail(b),
        "naive_models": sum(len(v) for v in models.values()),
        "flags": "no -k, -m or --deselect in either run; the naive run gets the "
        "same --ignore flags, so both hooks see the same items",
        "commands": [cand.describe(), base.describe()],
    }
    n_models = sum(len(v) for v in models.values())
    rows = hook_rows(
        "F1",
        (
            f"per-item decision cost (whole modifyitems hook, in-process), "
            f"{n_models} listed models{which}",
            f"per-item decision cost (the decision implementation alone), "
            f"{n_models} listed models{which}",
        ),
        (
            ("testmatrix --testmatrix-platform=rocm", "testmatrix.plugin"),
            ("naive substring hook (vLLM PR 28156)", "naivehook"),
        ),
        (c, b),
        Target("ratio", 1.0),
        runs,
        ws.built[root.name]["items"],
        detail,
    )
    return [say(r) for r in rows]


def figure2(py: str, ws: Workspaces, size: int, runs: int, work: Path) -> list[Row]:
    n_many = 300 if ws.smoke else MANY  # the smoke run's tree stays tiny
    many = ws.get(size, n_many, tree_entries=n_many, budget=True)
    few = ws.get(size, FEW, tree_entries=n_many, budget=True)
    collect = pytest_cmd(py) + ["-p", "hooktiming", ROCM]
    cmds = [
        Command(
            f"{n} entries",
            collect,
            root,
            child_env(bench_plugins=True, **{PROBE_ENV: str(work / f"probe-{n}.json")}),
            probe=work / f"probe-{n}.json",
        )
        for n, root in ((n_many, many), (FEW, few))
    ]
    got = measure(cmds, runs)
    c, b = got[cmds[0].label], got[cmds[1].label]
    rows = hook_rows(
        "F2",
        (
            "flat in entries: per-item cost, whole hook",
            "flat in entries: testmatrix.plugin's implementation alone",
        ),
        (
            (f"{ws.built[many.name]['entries']} entries", "testmatrix.plugin"),
            (f"{ws.built[few.name]['entries']} entries", "testmatrix.plugin"),
        ),
        (c, b),
        Target("ratio", 1.1),
        runs,
        ws.built[many.name]["items"],
        {
            "many": {**probe_detail(c), "workspace": ws.built[many.name]},
            "few": {**probe_detail(b), "workspace": ws.built[few.name]},
            "note": "the same tests in both workspaces; only the skiplists differ",
        },
    )
    return [say(r) for r in rows]


def figure2_one_function(py: str, runs: int, work: Path, smoke: bool) -> list[Row]:
    """Flat in single-test deselects of one function: a 4,000-way parametrized
    function with 2,000 of its tests deselected one by one, against 20."""
    tests, many, few = (400, 200, 2) if smoke else (4000, 2000, 20)
    cmds = []
    for n in (many, few):
        root = work / f"one-function-{n}"
        build_one_function(root, tests, n)
        probe = work / f"probe-one-{n}.json"
        cmds.append(
            Command(
                f"{n} deselects",
                pytest_cmd(py) + ["-p", "hooktiming", ROCM],
                root,
                child_env(bench_plugins=True, **{PROBE_ENV: str(probe)}),
                probe=probe,
            )
        )
    got = measure(cmds, runs)
    c, b = got[cmds[0].label], got[cmds[1].label]
    rows = hook_rows(
        "F2",
        (
            f"flat in single-test deselects of one {tests}-way function, whole hook",
            f"flat in single-test deselects of one {tests}-way function, "
            "testmatrix.plugin's implementation alone",
        ),
        (
            (f"{many} deselects", "testmatrix.plugin"),
            (f"{few} deselects", "testmatrix.plugin"),
        ),
        (c, b),
        Target("ratio", 1.1),
        runs,
        tests,
        {"many": probe_detail(c), "few": probe_detail(b)},
    )
    return [say(r) for r in rows]


def floor_tree(root: Path, flags: list[str]) -> Path:
    """The fair floor's tree: a copy of the workspace without the files and folders
    the --ignore flags name (what plain pytest then never sees)."""
    floor = root.parent / f"{root.name}-floor"
    if floor.exists():
        return floor
    ignored = {
        (root / f.split("=", 1)[1]).resolve()
        for f in flags
        if f.startswith("--ignore=")
    }

    def skip(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if (Path(folder) / n).resolve() in ignored]

    shutil.copytree(root, floor, ignore=skip)
    return floor


def measured(command: Command, work: Path, name: str) -> Command:
    """The command with -p atexitprobe: its CPU time at atexit is recorded."""
    probe = work / f"atexit-{name}.txt"
    command.argv = [*command.argv, "-p", "atexitprobe"]
    command.env = {
        **command.env,
        "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE)]),
        ATEXIT_ENV: str(probe),
    }
    command.atexit = probe
    return command


def figure3(
    py: str, ws: Workspaces, sizes: list[int], ref: int, runs: int, work: Path
) -> list[Row]:
    rows = []
    for size in sizes:
        root = ws.get(size)
        every = plain_flags(root)
        floor = floor_tree(root, every)
        deselects = [f for f in every if f.startswith("--deselect=")]
        flags = argsfile(root, "rocm-flags.txt", every)
        # the floor deselects the same tests with no flags (-p setfloor): argparse
        # costs the square of the flags' count, and thousands of --deselect flags
        # would make the floor slower than the work it stands for
        ids = floor / "rocm-deselect-ids.txt"
        ids.write_text("".join(f.split("=", 1)[1] + "\n" for f in deselects))
        floor_env = child_env(bench_plugins=True, **{DESELECTS_ENV: str(ids)})
        rows.append(
            collection_row(
                f"whole collection, rocm skiplists, {label(size)} tests",
                measured(
                    Command("plugin", pytest_cmd(py) + [ROCM], root, child_env()),
                    work,
                    "plugin",
                ),
                "pytest --collect-only with the plugin (rocm)",
                measured(
                    Command(
                        "floor",
                        pytest_cmd(py) + PLAIN + ["-p", "setfloor"],
                        floor,
                        floor_env,
                    ),
                    work,
                    "floor",
                ),
                "the floor: plain pytest on a copy without the ignored files, the "
                "same tests deselected without flags (-p setfloor), no --ignore",
                runs,
                ws.built[root.name]["items"],
                plain=measured(
                    Command(
                        "plain", pytest_cmd(py) + PLAIN + [flags], root, child_env()
                    ),
                    work,
                    "plain",
                ),
            )
        )
    if ref != REFERENCE_SIZE and not ws.smoke:
        return rows  # the cuda row is measured at 120k only
    root = ws.get(ref)
    cuda = pytest_cmd(py) + ["--testmatrix-platform=cuda"]
    rows.append(
        collection_row(
            f"whole collection, nothing applies (cuda), {label(ref)} tests",
            measured(Command("plugin", cuda, root, child_env()), work, "plugin"),
            "pytest --collect-only with the plugin (cuda)",
            measured(
                Command("plain", pytest_cmd(py) + PLAIN, root, child_env()),
                work,
                "plain",
            ),
            "the floor: plain pytest --collect-only",
            runs,
            ws.built[root.name]["items"],
            {"case": "1a"},
        )
    )
    return rows


def _sides(got: dict[str, list[Sample]], cmds: list[Command]) -> dict[str, Any]:
    """Each side's medians: wall, CPU, CPU after atexit, peak memory."""
    out: dict[str, Any] = {}
    for cmd in cmds:
        ss = got[cmd.label]
        after = [s.after_atexit for s in ss if s.after_atexit is not None]
        out[cmd.label] = {
            "wall_s": round(median([s.wall for s in ss]), 4),
            "cpu_s": round(median([s.cpu for s in ss]), 4),
            "after_atexit_cpu_s": round(median(after), 4) if after else None,
            "maxrss_mb": round(median([s.maxrss_mb for s in ss]), 2),
            "cpu_samples": [round(s.cpu, 4) for s in ss],
            "maxrss_samples": [round(s.maxrss_mb, 2) for s in ss],
        }
    return out


def collection_row(
    name: str,
    cand: Command,
    cand_label: str,
    base: Command,
    base_label: str,
    runs: int,
    size: int,
    detail: dict[str, Any] | None = None,
    plain: Command | None = None,
) -> Row:
    """One F3 row: a whole collection with the plugin against the floor (and plain
    pytest with the same flags, where given), by wall clock and CPU time, with each
    side's peak memory and the CPU time it spends after atexit."""
    cmds = [cand, base] + ([plain] if plain is not None else [])
    got = measure(cmds, runs)
    c, b = walls(got[cand.label]), walls(got[base.label])
    sides = _sides(got, cmds)
    cs, bs = sides[cand.label], sides[base.label]
    extra: dict[str, Any] = {
        "cpu_ratio": round(cs["cpu_s"] / bs["cpu_s"], 3),
        "maxrss_above_floor_mb": round(cs["maxrss_mb"] - bs["maxrss_mb"], 2),
    }
    if cs["after_atexit_cpu_s"] is not None and bs["after_atexit_cpu_s"] is not None:
        excess = cs["cpu_s"] - bs["cpu_s"]
        after = cs["after_atexit_cpu_s"] - bs["after_atexit_cpu_s"]
        extra["after_atexit_excess_cpu_s"] = round(after, 4)
        extra["excess_cpu_s"] = round(excess, 4)
    if plain is not None:
        ps = sides[plain.label]
        extra["plain_flags"] = {
            "label": "plain pytest --collect-only, same --ignore/--deselect flags",
            "wall_ratio": round(median(c) / ps["wall_s"], 3),
            "cpu_ratio": round(cs["cpu_s"] / ps["cpu_s"], 3),
            "floor_wall_ratio": round(ps["wall_s"] / median(b), 3),
        }
    row = say(
        Row(
            "F3",
            name,
            cand_label,
            base_label,
            "s",
            median(c),
            median(b),
            Target("ratio", 1.02),
            runs,
            size=size,
            detail={
                "commands": [x.describe() for x in cmds],
                **extra,
                "sides": sides,
                **(detail or {}),
            },
            samples={"candidate": c, "baseline": b}
            | ({"plain": walls(got[plain.label])} if plain is not None else {}),
        )
    )
    print(f"    cpu time: {extra['cpu_ratio']}x; {json.dumps(extra)}", flush=True)
    return row


def baseline_tree(root: Path, src: Path) -> Path:
    """A copy of the one-test tree that imports testmatrix from `src` (another
    checkout's src/: the code before a change), for --baseline-src."""
    copy = root.with_name(root.name + "-baseline")
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__"))
    ini = copy / "pytest.ini"
    ini.write_text(
        ini.read_text().replace(f"pythonpath = {SRC}", f"pythonpath = {src}")
    )
    return copy


def installed_copy(
    root: Path, src: Path, name: str = "installed"
) -> tuple[Path, dict[str, str]]:
    """A copy of the one-test tree whose plugin loads as an installed one does: from
    the pytest11 entry point of a dist-info on PYTHONPATH (its RECORD naming the
    package's files, as a wheel's does: pytest marks them for rewriting), with no
    `pytest_plugins` line (which has pytest look the name up among every installed
    distribution's entry points first). The environment goes with it."""
    copy = root.with_name(f"{root.name}-{name}")
    site = root.with_name(f"{root.name}-{name}-site")
    for path in (copy, site):
        if path.exists():
            shutil.rmtree(path)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "conftest.py").write_text("")
    ini = copy / "pytest.ini"
    ini.write_text(ini.read_text().replace(f"pythonpath = {SRC}\n", ""))
    info = site / "pytest_testmatrix-0.dev0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pytest-testmatrix\nVersion: 0.dev0\n"
    )
    (info / "entry_points.txt").write_text(
        "[pytest11]\ntestmatrix.plugin = testmatrix.plugin\n"
    )
    files = sorted(p.relative_to(src) for p in (src / "testmatrix").rglob("*.py"))
    (info / "RECORD").write_text("".join(f"{p.as_posix()},,\n" for p in files))
    env = child_env()
    paths = env["PYTHONPATH"].replace(str(SRC), str(src))
    env["PYTHONPATH"] = os.pathsep.join([str(site), paths])
    return copy, env


def fixed_cost(
    py: str, runs: int, work: Path, baseline_src: Path | None = None
) -> list[Row]:
    """What loading the plugin costs a one-test suite: without skiplists/ (the
    plugin must do nothing), and with a one-entry skiplist, loaded from the conftest
    and as an installed plugin; and the import alone. With `baseline_src`, the same
    plugin run from that src/ is interleaved too."""
    rows = []
    for case in ("no skiplists/", "one-entry skiplist (rocm)", "installed"):
        with_skiplists = case != "no skiplists/"
        root = work / ("one-test-skiplists" if with_skiplists else "one-test")
        build_one_test(root, with_skiplists)
        base = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        flags = [ROCM] if with_skiplists else []
        tree, env = root, child_env()
        if case == "installed":
            tree, env = installed_copy(root, SRC)
        cmds = [
            Command("plugin", base + flags, tree, env),
            Command("no plugin", base + PLAIN, tree, env),
        ]
        if baseline_src is not None:
            if case == "installed":
                other, other_env = installed_copy(
                    root, baseline_src, "installed-baseline"
                )
            else:
                other, other_env = baseline_tree(root, baseline_src), child_env()
                other_env["PYTHONPATH"] = other_env["PYTHONPATH"].replace(
                    str(SRC), str(baseline_src)
                )
            cmds.append(Command("baseline src", base + flags, other, other_env))
        got = measure(cmds, runs)
        c, b = (
            [s.cpu * 1000 for s in got["plugin"]],
            [s.cpu * 1000 for s in got["no plugin"]],
        )
        what = case
        if case == "installed":
            what = "one-entry skiplist (rocm), installed: loaded from its entry point"
        rows.append(
            say(
                Row(
                    "fixed",
                    f"a one-test suite, {what}: CPU time of the whole run",
                    "pytest with the plugin loaded",
                    "pytest -p no:testmatrix.plugin",
                    "ms",
                    median(c),
                    median(b),
                    Target("added_ms", 10),
                    runs,
                    met_seconds=median(c) - median(b),
                    detail={
                        "wall_ms": {
                            "plugin": round(median(walls(got["plugin"])) * 1000, 1),
                            "no plugin": round(
                                median(walls(got["no plugin"])) * 1000, 1
                            ),
                        },
                        "maxrss_mb": {
                            k: round(median([s.maxrss_mb for s in got[k]]), 2)
                            for k in got
                        },
                    }
                    | _baseline_src(got, baseline_src),
                    samples={"candidate": c, "baseline": b},
                )
            )
        )
    rows[-1].detail["import_ms"] = import_time(py, runs)
    return rows


def _baseline_src(got: dict[str, list[Sample]], src: Path | None) -> dict[str, Any]:
    """The plugin's CPU time from --baseline-src, beside this tree's (interleaved)."""
    if src is None:
        return {}
    cpu = [s.cpu * 1000 for s in got["baseline src"]]
    mine = median([s.cpu * 1000 for s in got["plugin"]])
    plain = median([s.cpu * 1000 for s in got["no plugin"]])
    print(
        f"    baseline src {src}: {median(cpu):.1f} ms CPU (+{median(cpu) - plain:.1f}"
        f" over no plugin; this tree +{mine - plain:.1f})",
        flush=True,
    )
    return {
        "baseline_src": {
            "src": str(src),
            "cpu_ms": round(median(cpu), 1),
            "samples": [round(v, 1) for v in cpu],
        }
    }


def import_time(py: str, runs: int) -> dict[str, float]:
    """`python -X importtime -c 'import pytest; import testmatrix.plugin'`: the
    plugin's own cumulative import time (pytest's is apart), median of runs."""
    found: dict[str, list[float]] = {}
    for _ in range(max(runs, 2) + 1):
        proc = subprocess.run(
            [py, "-X", "importtime", "-c", "import pytest; import testmatrix.plugin"],
            env=child_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        for line in proc.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "testmatrix.plugin":
                found.setdefault("testmatrix.plugin", []).append(int(parts[1]) / 1000)
    return {k: round(median(v[1:]), 2) for k, v in found.items()}


def handwritten_noxfile(root: Path) -> str:
    """A noxfile declaring the generated sessions by hand: the same names, tags and
    docstrings, each body the session's full pytest command written out."""
    import inspect

    import nox

    from testmatrix.core.session import session_command, sessions
    from testmatrix.nox import sessions as noxsessions

    ws = load(root)
    parallel = "allow_parallel" in inspect.signature(nox.session).parameters
    lines = ["import nox", "", ""]
    used: set[str] = set()

    def define(name: str, args: str, doc: str | None, body: list[str]) -> None:
        func = re.sub(r"\W", "_", name)
        while func in used:
            func += "_"
        used.add(func)
        lines.extend(
            [
                f"@nox.session({args})",
                f"def {func}(session):",
                f"    {json.dumps(doc or '')}",
                *(f"    {line}" for line in body),
                "",
                "",
            ]
        )

    define(
        "pipeline",
        'name="pipeline", default=False, tags=["buildkite"]',
        noxsessions.export_session(ws).__doc__,
        [
            'session.install(".[buildkite]")',
            'session.run("python", "-m", "testmatrix", "export", *session.posargs)',
        ],
    )
    define(
        "lint",
        'name="lint", default=False, tags=["lint"]',
        noxsessions.lint_session(ws).__doc__,
        [
            'session.install(".")',
            'session.run("python", "-m", "testmatrix", "lint", *session.posargs)',
        ],
    )
    for name, key in sessions(ws).items():
        tags = [key.platform, key.suite]
        if key.variant is not None:
            tags.insert(1, f"{key.platform}-{key.variant}")
        command = session_command(ws, key.platform, key.suite, variant=key.variant)
        args = f"name={name!r}, tags={tags!r}" + (", allow_parallel=True" * parallel)
        argv = ", ".join(repr(a) for a in ["pytest", *command.argv])
        define(
            name,
            args,
            noxsessions.pytest_session(ws, key).__doc__,
            [
                'session.install(".")',
                f"session.run({argv}, env={dict(command.env)!r})",
            ],
        )
    return "\n".join(lines)


def figure4(py: str, ws: Workspaces, size: int, runs: int) -> list[Row]:
    root = ws.get(size)
    hand = root / "noxfile_handwritten.py"
    hand.write_text(handwritten_noxfile(root))
    rows = []
    for state in ("cold", "warm"):
        before = drop_caches(root) if state == "cold" else None
        cmds = [
            Command("generated", [py, "-m", "nox", "-l"], root, child_env(), before),
            Command(
                "hand-written",
                [py, "-m", "nox", "-l", "-f", str(hand)],
                root,
                child_env(),
                before,
            ),
            Command("floor", [py, "-c", "import nox"], root, child_env(), before),
        ]
        got = measure(cmds, runs)
        c, b, f = (
            [w * 1000 for w in walls(got[k])]
            for k in ("generated", "hand-written", "floor")
        )
        rows.append(
            say(
                Row(
                    "F4",
                    f"nox -l, {state} ("
                    + (
                        "testmatrix's caches deleted before every run"
                        if state == "cold"
                        else "cache present"
                    )
                    + ")",
                    "generated sessions (testmatrix.noxsessions.register)",
                    "hand-written noxfile, same sessions, tags, docstrings, commands",
                    "ms",
                    median(c),
                    median(b),
                    Target("ratio", 1.1),
                    runs,
                    floor=median(f),
                    floor_name="python -c 'import nox'",
                    size=ws.built[root.name]["items"],
                    detail={
                        "sessions": len(load_sessions(root)),
                        "caches": [str(p.relative_to(root)) for p in our_caches(root)],
                    },
                    samples={"candidate": c, "baseline": b, "floor": f},
                )
            )
        )
    return rows


def load_sessions(root: Path) -> list[str]:
    from testmatrix.core.session import sessions

    return list(sessions(load(root)))


def figure5(py: str, ws: Workspaces, size: int, runs: int) -> list[Row]:
    root = ws.get(size)
    tm = [py, "-m", "testmatrix"]
    cmds = [
        Command("explain", [*tm, "explain", "--summary"], root, child_env()),
        Command("lint", [*tm, "lint"], root, child_env(), ok=(0, 1)),
        Command("plain", pytest_cmd(py) + PLAIN, root, child_env()),
    ]
    got = measure(cmds, runs)
    base = walls(got["plain"])
    rows = []
    for label, target, what in (
        ("explain", 1.2, "explain --summary: every platform, variant and suite"),
        ("lint", 1.3, "lint: every entry and test, every target"),
    ):
        cand = walls(got[label])
        rows.append(
            say(
                Row(
                    "F5",
                    what,
                    f"python -m testmatrix {label}",
                    "one plain pytest --collect-only",
                    "s",
                    median(cand),
                    median(base),
                    Target("ratio", target),
                    runs,
                    size=ws.built[root.name]["items"],
                    detail={
                        "exit": sorted({s.returncode for s in got[label]}),
                        "said": got[label][-1].last_line,
                    },
                    samples={"candidate": cand, "baseline": base},
                )
            )
        )
    return rows


def figure6(py: str, runs: int, work: Path, reference: Path) -> list[Row]:
    areas = reference / f"test_areas.{SNAPSHOT}"
    amd = reference / f"test-amd.{SNAPSHOT}.yaml"
    listing = reference / f"test-files.{SNAPSHOT}.txt"
    if not (areas.is_dir() and amd.is_file() and listing.is_file()):
        print(f"  F6 skipped: no vLLM snapshot {SNAPSHOT} at {reference}", flush=True)
        return []
    checkout = work / "vllm-checkout"
    shutil.rmtree(checkout, ignore_errors=True)
    for line in [*listing.read_text().split(), LM_EVAL]:
        path = checkout / line
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def fresh() -> None:
        shutil.rmtree(checkout / "skiplists", ignore_errors=True)

    tm = [py, "-m", "testmatrix"]
    cmds = [
        Command(
            "import",
            [*tm, "import", str(areas), str(amd)],
            checkout,
            child_env(),
            fresh,
        ),
        Command("floor", [*tm, "--version"], checkout, child_env(), fresh),
    ]
    got = measure(cmds, runs)
    c, f = walls(got["import"]), walls(got["floor"])
    row = Row(
        "F6",
        f"import vLLM's CI ({SNAPSHOT}: test_areas/ and test-amd.yaml), whole process",
        "python -m testmatrix import (fresh skiplists/ each run)",
        "python -m testmatrix --version (the floor)",
        "s",
        median(c),
        median(f),
        Target("below", 1.0),
        runs,
        floor=median(f),
        floor_name="python -m testmatrix --version",
        met_seconds=median(c),
        detail={
            "files": len(listing.read_text().split()) + 1,
            "said": got["import"][-1].last_line,
        },
        samples={"candidate": c, "baseline": f},
    )
    return [say(row)]


def session_overhead(py: str, runs: int) -> list[Row]:
    """nox with a reused virtualenv versus the same pytest command run directly, on
    the bundled suite."""
    from testmatrix.core.session import session_argv

    with tempfile.TemporaryDirectory(prefix="testmatrix-envs-") as envs:
        env = child_env()
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
        argv = session_argv(load(REPO), "rocm", "pooling")
        direct = [str(Path(envs) / session / "bin" / "pytest"), *argv, *reports]
        nox_r = [py, "-m", "nox", "-R", "-s", session, "--envdir", envs, "--", *reports]
        cmds = [
            Command("nox -R", nox_r, REPO, env),
            Command("direct", direct, REPO, env),
        ]
        got = measure(cmds, runs)
    c, b = walls(got["nox -R"]), walls(got["direct"])
    row = Row(
        "session",
        "nox -R (reused env) on the bundled suite",
        f"nox -R -s {session}",
        "the same pytest command run directly",
        "s",
        median(c),
        median(b),
        Target("added", 0.5),
        runs,
        samples={"candidate": c, "baseline": b},
    )
    return [say(row)]


def ignores_saving(py: str, runs: int, work: Path) -> list[Row]:
    heavy = work / "import-heavy"
    build_import_heavy(heavy)
    plugin = [py, "-m", "pytest", "--collect-only", "-qq", ROCM]
    cmds = [
        Command("ignores", plugin, heavy, child_env()),
        Command(
            "no ignores", plugin + ["--testmatrix-no-skiplist"], heavy, child_env()
        ),
    ]
    got = measure(cmds, runs)
    c, b = walls(got["ignores"]), walls(got["no ignores"])
    row = Row(
        "saving",
        "collect with CI-level ignores (50 of 60 modules, 40 ms import each)",
        "plugin (rocm) with its ignores",
        "the same suite with --testmatrix-no-skiplist",
        "s",
        median(c),
        median(b),
        Target("saving"),
        runs,
        samples={"candidate": c, "baseline": b},
    )
    return [say(row)]


# -- output ------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "pytest": version("pytest"),
        "nox": version("nox"),
        "pluggy": version("pluggy"),
        "os": platform.platform(),
    }


def describe_machine(m: dict[str, Any]) -> str:
    return (
        f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, pytest "
        f"{m['pytest']}, nox {m['nox']}, {m['os']}"
    )


def _num(value: float, unit: str) -> str:
    if unit == "us/item":
        return f"{value:.3f} CPU µs/item"
    if unit == "ms":
        return f"{value:.0f} ms"
    return f"{value:.2f} s"


def _above(value: float, unit: str) -> str:
    """How far above its floor a side is: '+11 ms', or '-1 ms' (within the noise)."""
    return ("-" if value < 0 else "+") + _num(abs(value), unit)


def table(result: dict[str, Any]) -> str:
    lines = [
        f"machine: {describe_machine(result['machine'])}",
        f"bytecode caching: {result['bytecode_caching']}; warm-up run excluded; "
        f"median of {result['runs']} runs per figure, each interleaved with its "
        "baseline",
        "",
        "| figure | what | candidate | baseline | ratio | target | met "
        "| floor (candidate, baseline above it) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["figures"]:
        unit = r["unit"]
        floor = "-"
        if "floor" in r:
            floor = (
                f"{_num(r['floor'], unit)} ({r['floor_name']}; "
                f"{_above(r['candidate_above_floor'], unit)}, "
                f"{_above(r['baseline_above_floor'], unit)})"
            )
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        lines.append(
            f"| {r['figure']} | {r['name']} | {r['candidate']}: "
            f"{_num(r['candidate_value'], unit)} | {r['baseline']}: "
            f"{_num(r['baseline_value'], unit)} | {r['ratio']} | {r['target']} "
            f"| {met} | {floor} |"
        )
    by_size = [r for r in result["figures"] if r["figure"] == "F3"]
    if by_size:
        lines += [
            "",
            "F3 by size (baseline: the floor, plain pytest on a copy without the "
            "ignored files, the same tests deselected without flags by -p setfloor; "
            "for cuda, plain pytest):",
            "",
            "| tests | skiplist | plugin | floor | wall ratio | CPU ratio "
            "| met (wall, CPU) "
            "| vs plain + flags (wall, CPU) | peak memory above floor "
            "| excess CPU after atexit |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in by_size:
            d = r.get("detail", {})
            met = {True: "yes", False: "NO", None: "-"}[r["met"]]
            if "cpu_ratio" in d:
                met += ", " + ("yes" if d["cpu_ratio"] <= 1.02 else "NO")
            plain = d.get("plain_flags")
            vs = f"{plain['wall_ratio']}, {plain['cpu_ratio']}" if plain else "-"
            after = "-"
            if "after_atexit_excess_cpu_s" in d:
                after = (
                    f"{d['after_atexit_excess_cpu_s'] * 1000:+.0f} ms of "
                    f"{d['excess_cpu_s'] * 1000:+.0f} ms"
                )
            lines.append(
                f"| {r['items']:,} | {'cuda' if 'cuda' in r['name'] else 'rocm'} "
                f"| {r['candidate_value']:.2f} s | {r['baseline_value']:.2f} s "
                f"| {r['ratio']} | {d.get('cpu_ratio', '-')} | {met} | {vs} "
                f"| {d.get('maxrss_above_floor_mb', '-')} MB | {after} |"
            )
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        out.append(int(float(part[:-1]) * 1000) if part.endswith("k") else int(part))
    return out


def merge(paths: list[str], out: Path) -> int:
    """One results file from several runs' (each figure keeps its own runs)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    result = {**parts[0], "merged_from": [], "figures": [], "workspaces": {}}
    result["seconds_per_figure"] = {}
    for path, part in zip(paths, parts, strict=True):
        result["merged_from"].append(
            {"file": Path(path).name, "date": part["date"], "sizes": part["sizes"]}
        )
        result["figures"] += part["figures"]
        result["workspaces"].update(part["workspaces"])
        result["seconds_per_figure"].update(part["seconds_per_figure"])
    result["seconds"] = round(sum(p["seconds"] for p in parts), 1)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="measured runs (>= 5)")
    parser.add_argument(
        "--sizes",
        default=",".join(SIZES),
        help="test counts of figure 3 (10k,30k,120k,300k); figures 1, 2, 4 and 5 "
        "use 120k if listed, else the largest",
    )
    parser.add_argument(
        "--only", default=",".join(FIGURES), help=f"figures: {','.join(FIGURES)}"
    )
    parser.add_argument("--json", default=str(HERE / "results.json"))
    parser.add_argument(
        "--workdir", default=None, help="where to build (default: a temp dir, removed)"
    )
    parser.add_argument(
        "--reference",
        default=str(REFERENCE),
        help="vLLM's CI snapshot (figure 6; default: tests/selftest/data/vllm)",
    )
    parser.add_argument(
        "--baseline-src",
        default=None,
        help="another checkout's src/ (the code before a change): the fixed figure "
        "runs the plugin from it too, interleaved",
    )
    parser.add_argument(
        "--mix",
        choices=MIXES,
        default="wide",
        help="the synthetic suite's shapes: wide (tuple parameters, indirect "
        "fixtures, pytest_generate_tests, nested classes, thousands of single-test "
        "deselects) or classic (the suite of the runs before 2026-12-07)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny suites and one run: checks that every figure works, measures "
        "nothing",
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="combine the results files of separate runs (on one machine) into "
        "--json and print their table; measures nothing",
    )
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, Path(args.json))
    only = [f.strip().lower() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in only if f not in FIGURES]
    if unknown:
        parser.error(f"unknown figures {unknown}; known: {', '.join(FIGURES)}")
    if args.smoke:
        args.runs = 1
        sizes = [800, 1200]
    else:
        if args.runs < 5:
            parser.error("--runs must be at least 5 (the targets are medians of 5)")
        sizes = parse_sizes(args.sizes)
        if not sizes:
            parser.error("--sizes names no size")
    ref = REFERENCE_SIZE if REFERENCE_SIZE in sizes else max(sizes)
    py = sys.executable
    work = Path(args.workdir or tempfile.mkdtemp(prefix="testmatrix-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    global LOG_DIR
    LOG_DIR = work
    ws = Workspaces(work, args.smoke, args.mix)
    print(
        f"testmatrix benchmark: {', '.join(only)}; sizes {sizes} (figures 1, 2, 4, 5 "
        f"at {ref}); {args.runs} measured runs after a warm-up; bytecode caching "
        f"{BYTECODE}; work in {work}",
        flush=True,
    )
    rows: list[Row] = []
    started = time.perf_counter()
    timings: dict[str, float] = {}
    steps: list[tuple[str, Callable[[], list[Row]]]] = [
        ("f1", lambda: figure1(py, ws, ref, args.runs, work)),
        ("f2", lambda: figure2(py, ws, ref, args.runs, work)),
        ("f2one", lambda: figure2_one_function(py, args.runs, work, args.smoke)),
        ("f3", lambda: figure3(py, ws, sizes, ref, args.runs, work)),
        (
            "fixed",
            lambda: fixed_cost(
                py,
                args.runs if args.smoke else max(args.runs, 10),
                work,
                Path(args.baseline_src).resolve() if args.baseline_src else None,
            ),
        ),
        ("f4", lambda: figure4(py, ws, ref, args.runs)),
        ("f5", lambda: figure5(py, ws, ref, args.runs)),
        ("f6", lambda: figure6(py, args.runs, work, Path(args.reference))),
        ("session", lambda: session_overhead(py, args.runs)),
        ("saving", lambda: ignores_saving(py, args.runs, work)),
    ]
    try:
        for key, step in steps:
            if key not in only:
                continue
            print(f"{key}:", flush=True)
            t0 = time.perf_counter()
            rows += step()
            timings[key] = round(time.perf_counter() - t0, 1)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    result = {
        "machine": machine(),
        "bytecode_caching": BYTECODE,
        "warm_up": "every command once, unmeasured, before its measured runs",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "runs": args.runs,
        "smoke": args.smoke,
        "sizes": sizes,
        "mix": args.mix,
        "workspaces": ws.built,
        "seconds_per_figure": timings,
        "seconds": round(time.perf_counter() - started, 1),
        "figures": [r.as_dict() for r in rows],
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table(result))
    print(f"\n{result['seconds']} s in all; results in {args.json}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
