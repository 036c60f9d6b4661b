"""Helpers for the plain pipeline and workflow import's tests: in-process runs of
`testmatrix import`, and checkouts made from the files CI commands name."""

from __future__ import annotations

import json
import posixpath
import textwrap
from pathlib import Path
from typing import Any

from selftest.helpers import run_import
from testmatrix.pipelines import buildkite_plain, github
from testmatrix.pipelines.command import kind_of
from testmatrix.pipelines.common import Reading
from testmatrix.pipelines.runners import Runners


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def run_json(cwd: Path, *args: object) -> tuple[int, dict[str, Any]]:
    result = run_import(cwd, *args, "--json")
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def read(
    *files: Path,
    runner: tuple[str, ...] = (),
    wrapper: tuple[str, ...] = (),
    root: str | None = None,
) -> Reading:
    """The jobs of CI files, each read by the reader its keys call for."""
    reading = Reading()
    runners = Runners(runner)
    for file in files:
        is_github = kind_of(file) == "github"
        reader = github.read if is_github else buildkite_plain.read
        reader(file, str(file), reading, runners, wrapper, root)
    return reading


def checkout_from(reading: Reading, root: Path, checkout_root: str) -> list[str]:
    """Make `root` a checkout holding every path the pytest commands name: their test
    paths (a directory gets a test file of its own) and their --ignore targets."""
    made: list[str] = []
    for job in reading.jobs:
        for command in job.pytest:
            assert command.call is not None and command.cwd is not None
            named = [*command.call.paths, *command.call.ignores]
            named += [d.split("::")[0] for d in command.call.deselects]
            for word in named:
                full = posixpath.normpath(posixpath.join(command.cwd, word))
                rel = posixpath.relpath(full, checkout_root)
                assert not rel.startswith(".."), (word, command.text)
                path = root / rel
                if path.suffix == ".py":
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
                else:
                    path.mkdir(parents=True, exist_ok=True)
                    (path / "test_placeholder.py").touch()
                made.append(rel)
    return made
