"""What the inventory of in-code skips costs, as ratios against a baseline measured in
the same run: reading and `ast.parse`-ing the same files, the least a static reader
pays. Everything runs in this process (bytecode caching of testmatrix itself is
whatever the interpreter does; no test module is imported); the baseline and each
candidate take turns, each figure is the median of --runs measured runs.

Figures:
  cold     the reader on every file, its per-process cache emptied (target <= 2x)
  warm     the same files again: the content-hash cache answers (target <= 0.5x)
  listing  `testmatrix inventory`'s whole work: read, cover and evaluate on every
           target of a 2-platform, 4-target workspace (target <= 3x)

Usage: python benchmarks/inventory_bench.py [--files 1500] [--runs 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests"))

from selftest.inventory import forms  # noqa: E402
from testmatrix.config import load_workspace  # noqa: E402
from testmatrix.inventory import listing, predicates, scan  # noqa: E402

SOURCES = (forms.VLLM_KERNEL, forms.VLLM_MODULE, forms.VLLM_PYTESTMARK, forms.PYTORCH)
FILLER = '''

def test_plain_{i}(dtype):
    """A test with no platform skip, as most are."""
    x = [n * 2 for n in range(10)]
    assert sum(x) == 90
'''


def build(root: Path, files: int) -> None:
    """A vLLM-sized tree: plain tests, and one file in six with the forms."""
    (root / "skiplists/platforms").mkdir(parents=True)
    (root / "skiplists/suites.toml").write_text(
        '[suites.kernels]\npath = "tests/kernels"\n\n'
        '[suites.distributed]\npath = "tests/distributed"\ngpus = 2\n'
    )
    (root / "skiplists/platforms/cuda.toml").write_text(
        '[platform]\nhardware = "cuda"\n'
    )
    (root / "skiplists/platforms/rocm.toml").write_text(
        '[platform]\nhardware = "rocm"\n\n[variants.mi300]\nmatch = ["gfx942"]\n\n'
        '[variants.mi355]\nmatch = ["gfx950"]\n'
    )
    for n in range(files):
        where = "kernels" if n % 3 else "distributed"
        path = root / "tests" / where / f"sub{n % 40}" / f"test_f{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        # vLLM's tree: about 270 skips in 150 of its 1,000 test files
        body = SOURCES[n // 6 % len(SOURCES)] if n % 6 == 0 else "import pytest\n"
        path.write_text(body + "".join(FILLER.format(i=i) for i in range(12)))


def median_pair(
    runs: int, baseline: Callable[[], object], candidate: Callable[[], object]
) -> tuple[float, float]:
    base, cand = [], []
    baseline()
    candidate()  # warm-up: OS cache, imports
    for _ in range(runs):
        start = time.perf_counter()
        baseline()
        base.append(time.perf_counter() - start)
        start = time.perf_counter()
        candidate()
        cand.append(time.perf_counter() - start)
    return statistics.median(base), statistics.median(cand)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1500, help="test files to build")
    parser.add_argument("--runs", type=int, default=5, help="measured runs per figure")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.files)
        workspace = load_workspace(root)
        cfg = predicates.load(workspace.skiplist_dir)
        files = scan.test_files(root, ["tests"])

        def parse_all() -> None:
            for rel in files:
                ast.parse((root / rel).read_bytes())

        def cold() -> None:
            scan._CACHE.clear()
            cfg.memo.clear()
            scan.scan(root, ["tests"], cfg)

        def warm() -> None:
            scan.scan(root, ["tests"], cfg)

        def whole() -> None:
            scan._CACHE.clear()
            cfg.memo.clear()
            listing.inventory(workspace, ["tests"], cfg)

        figures = {}
        for name, candidate, target in (
            ("cold", cold, 2.0),
            ("warm", warm, 0.5),
            ("listing", whole, 3.0),
        ):
            base, cand = median_pair(args.runs, parse_all, candidate)
            figures[name] = {
                "baseline_s": round(base, 4),
                "candidate_s": round(cand, 4),
                "ratio": round(cand / base, 3),
                "target": target,
                "met": cand / base <= target,
            }
        found = sum(len(f.skips) for f in scan.scan(root, ["tests"], cfg))
    machine = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(
        f"inventory benchmark: {len(files)} files, {found} findings; "
        f"python {platform.python_version()} on {machine}; in-process; "
        f"baseline: read + ast.parse of the same files"
    )
    for name, row in figures.items():
        mark = "ok" if row["met"] else "MISSED"
        print(
            f"  {name:<8} {row['candidate_s']:.3f}s vs {row['baseline_s']:.3f}s: "
            f"{row['ratio']:.2f}x (target <= {row['target']}x) {mark}"
        )
    if args.json:
        args.json.write_text(json.dumps({"files": len(files), "figures": figures}))
    return 0 if all(row["met"] for row in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
