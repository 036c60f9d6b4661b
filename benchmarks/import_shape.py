"""The shape of `testmatrix import` on the vendored vLLM snapshots: CI steps against
the suites they became, twin suites (an AMD-only and an NVIDIA-only suite of the
same paths), pytest commands not mapped, how many prove exact, and the lines of the
written skiplists against the lines of the YAML they replace (issue 23: at most a
third). Each snapshot is imported into an empty checkout of its test-files listing.

Usage: PYTHONPATH=src python benchmarks/import_shape.py [--json]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from testmatrix.cli import main  # noqa: E402

DATA = REPO / "tests" / "selftest" / "data" / "vllm"
LM_EVAL = ".buildkite/lm-eval-harness/test_lm_eval_correctness.py"
SNAPSHOTS = {
    "2026-05 (7075df79b)": (
        "test-files.7075df79b.txt",
        ["test_areas.7075df79b", "test-amd.7075df79b.yaml"],
    ),
    "PR-era (802748bdd + ffc3b430a)": (
        "test-files.802748bdd.txt",
        ["test-pipeline.802748bdd.yaml", "test-amd.ffc3b430a.yaml"],
    ),
    "PR base (802748bdd)": (
        "test-files.802748bdd.txt",
        ["test-pipeline.802748bdd.yaml", "test-amd.802748bdd.yaml"],
    ),
}


def lines_of(path: Path) -> int:
    """Lines of a file, or of every YAML file of a directory."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files)


def measure(listing: str, inputs: list[str]) -> dict:
    """Import one snapshot into an empty checkout; its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for line in [*(DATA / listing).read_text().split(), LM_EVAL]:
            (root / line).parent.mkdir(parents=True, exist_ok=True)
            (root / line).touch()
        out = io.StringIO()
        here = os.getcwd()
        os.chdir(root)
        try:
            with contextlib.redirect_stdout(out):
                code = main(["import", "--json", *(str(DATA / i) for i in inputs)])
        finally:
            os.chdir(here)
        report = json.loads(out.getvalue())
        written = [root / p for p in report["written"]]
        toml = sum(len(p.read_text().splitlines()) for p in written)
    yaml = sum(lines_of(DATA / i) for i in inputs)
    totals = report["totals"]
    return {
        "exit": code,
        "steps": totals["steps"],
        "suites": totals["suites"],
        "twin_suites": totals["twin_suites"],
        "pytest_commands": totals["pytest_commands"],
        "exact": totals["exact"],
        "different": totals["different"],
        "not_mapped": totals["not_mapped"],
        "yaml_lines": yaml,
        "skiplist_lines": toml,
        "ratio": round(toml / yaml, 3),
    }


def main_() -> int:
    figures = {name: measure(*spec) for name, spec in SNAPSHOTS.items()}
    if "--json" in sys.argv[1:]:
        print(json.dumps(figures, indent=2))
        return 0
    for name, f in figures.items():
        print(
            f"{name}: {f['suites']} suites for {f['steps']} steps, "
            f"{f['twin_suites']} twin suites; {f['pytest_commands']} pytest commands: "
            f"{f['exact']} exact, {f['different']} different, {f['not_mapped']} not "
            f"mapped; {f['skiplist_lines']} skiplist lines for {f['yaml_lines']} YAML "
            f"lines ({f['ratio']:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main_())
