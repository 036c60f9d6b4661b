"""Run a generated workflow's `run:` steps as a GitHub runner does: its expressions
evaluated (only those the workflow may hold), the job's env and matrix values set,
each script run by `bash --noprofile --norc -eo pipefail {0}`; `pytest` and `python`
are stand-ins that record their arguments and environment."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

# GitHub's expression syntax: `${{` up to the first `}}` after it
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
RECORDER = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["REPLAY_LOG"], "a") as log:
    log.write(json.dumps({"argv": [os.path.basename(sys.argv[0]), *sys.argv[1:]],
                          "env": dict(os.environ)}) + "\\n")
if "-o" in sys.argv:  # a report's output file, empty
    open(sys.argv[sys.argv.index("-o") + 1], "w").close()
"""


class UnexpectedExpression(AssertionError):
    """An expression the workflow must not hold: a skiplist string reached GitHub."""


def evaluate(text: str, matrix: dict[str, Any]) -> str:
    """The text after GitHub's expression evaluation, for the expressions testmatrix
    writes: matrix values, and the literal '${{'."""

    def one(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        if expression == "'${{'":
            return "${{"
        name = re.fullmatch(r"matrix\.([A-Za-z_][A-Za-z0-9_-]*)", expression)
        if name is not None:
            return str(matrix[name.group(1)])
        raise UnexpectedExpression(f"expression ${{{{{match.group(1)}}}}} in {text!r}")

    return EXPRESSION.sub(one, text)


def combinations(job: dict) -> list[dict[str, Any]]:
    """Every matrix combination of a job ({} without a matrix)."""
    matrix = job.get("strategy", {}).get("matrix", {})
    names = list(matrix)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*matrix.values())
    ]


def replay_job(job: dict, matrix: dict[str, Any], workdir: Path) -> list[dict]:
    """Run the job's `run:` steps for one matrix combination: what each stand-in
    recorded (argv and environment), in order."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("pytest", "python"):
        (bin_dir / tool).write_text(RECORDER)
        (bin_dir / tool).chmod(0o755)
    log = workdir / "replay.jsonl"
    log.unlink(missing_ok=True)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(workdir),
        "GITHUB_STEP_SUMMARY": str(workdir / "step-summary.md"),
        "REPLAY_LOG": str(log),
    }
    env.update({k: evaluate(str(v), matrix) for k, v in job.get("env", {}).items()})
    for index, step in enumerate(job["steps"]):
        if "run" not in step:
            continue  # an action: checkout, upload
        script = workdir / f"step-{index}.sh"
        script.write_text(evaluate(step["run"], matrix))
        # the runner's own command line for `shell: bash`
        subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workdir,
            env=env,
            check=True,
            timeout=60,
        )
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
