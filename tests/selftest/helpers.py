"""Helpers for testmatrix's own tests: real pytest and nox runs in copies of the
workspace."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COPIED = (
    "noxfile.py",
    "conftest.py",
    "pytest.ini",
    "pyproject.toml",
    "README.md",
    "skiplists",
    "src",
    "tests",
    ".buildkite",
    "toxfile.py",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell would have: no testmatrix state leaking from
    this run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TESTMATRIX_", "PYTEST_", "NOX_", "MINIVLLM_"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def counts(self) -> dict[str, int]:
        """pytest's closing line as numbers: {'passed': 3, 'skipped': 2, ...}."""
        lines = [
            line
            for line in self.stdout.splitlines()
            if re.search(r"\d+ (passed|failed|skipped|deselected|error)", line)
        ]
        assert lines, f"no pytest summary line in:\n{self.output[-3000:]}"
        return {
            kind: int(n)
            for n, kind in re.findall(
                r"(\d+) "
                r"(passed|failed|skipped|deselected|errors?|xfailed|xpassed|rerun)",
                lines[-1],
            )
        }


def run(
    args: list[str], cwd: Path, env: dict | None = None, timeout: int = 300
) -> Result:
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_pytest(cwd: Path, *args: str, env: dict | None = None) -> Result:
    return run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd, env
    )


def run_nox(cwd: Path, *args: str, env: dict | None = None) -> Result:
    return run([sys.executable, "-m", "nox", *args], cwd, env)


def collected_ids(result: Result) -> list[str]:
    """Node ids from `pytest --collect-only -q` output."""
    return sorted(
        line.strip()
        for line in result.stdout.splitlines()
        if "::" in line and not line.startswith(("ERROR", "FAILED"))
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


MINIMAL_INI = """
    [pytest]
    pythonpath = {src}
    addopts = --strict-markers --import-mode=importlib -p no:cacheprovider
    markers =
        encoder_decoder: uses encoder models
"""


def run_import(cwd: Path, *args: object) -> Result:
    """`testmatrix import ...` in this process, from `cwd`."""
    from testmatrix.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["import", *(str(a) for a in args)])
    finally:
        os.chdir(here)
    return Result(code, out.getvalue(), err.getvalue())
