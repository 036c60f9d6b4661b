"""tox runs for the tests: `tox config` in this process (fast), `tox` in a new one."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from selftest.helpers import Result, run

KEYS = ("commands", "set_env", "labels", "description", "change_dir")


def tox_main(root: Path, *args: str) -> tuple[int, str]:
    """tox's own main, run in this process from `root`: (exit status, output)."""
    from tox.run import main

    out = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = main(list(args))
            except SystemExit as exc:  # tox exits on bad command lines
                code = int(exc.code or 0)
    finally:
        os.chdir(cwd)
    return code, out.getvalue()


def tox_config(
    root: Path, names: Iterable[str], posargs: Iterable[str] = ()
) -> dict[str, dict]:
    """What `tox config --format json` says of the environments' KEYS (a key that
    fails to load holds its error: tox then exits non-zero)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "config.json"
        _, output = tox_main(
            root,
            "config",
            "-e",
            ",".join(names),
            "-k",
            *KEYS,
            "--format",
            "json",
            "-o",
            str(target),
            *(["--", *posargs] if posargs else []),
        )
        assert target.is_file(), output
        return json.loads(target.read_text())["env"]


def run_tox(cwd: Path, *args: str, env: dict | None = None) -> Result:
    """tox in a new process, from the interpreter running these tests."""
    return run([sys.executable, "-m", "tox", *args], cwd, env, timeout=300)


TOXFILE = """
from testmatrix.tox.plugin import (  # noqa: F401
    tox_add_core_config,
    tox_add_env_config,
    tox_after_run_commands,
    tox_before_run_commands,
    tox_extend_envs,
)
"""
