"""Collect a workspace's tests once, with no skiplist applied and no test run."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field

import pytest

from .errors import TestmatrixError
from .model import Workspace
from .plan import TestCase


@dataclass
class Collected:
    cases: list[TestCase]
    errors: list[str] = field(default_factory=list)


class _Recorder:
    def __init__(self, workspace: Workspace):
        self.testmatrix_workspace = (
            workspace  # the plugin uses it instead of loading the skiplists again
        )
        self.root = workspace.root
        self.cases: list[TestCase] = []
        self.errors: list[str] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        from .plugin import case_of

        self.cases = [case_of(item, self.root) for item in items]

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(
                f"{report.nodeid}: collection failed: {str(report.longrepr).strip().splitlines()[-1]}"
            )


def collect(
    workspace: Workspace, paths: list[str] | None = None, keyword: str | None = None
) -> Collected:
    """Every test under the suites (or `paths`), as planning sees it; `keyword` is pytest's -k."""
    targets = paths or sorted({s.path for s in workspace.suites.values()})
    args = [
        *targets,
        "--collect-only",
        "-q",
        "--platform=none",
        "-p",
        "no:cacheprovider",
    ]
    if keyword:
        args += ["-k", keyword]
    recorder = _Recorder(workspace)
    cwd = os.getcwd()
    out = io.StringIO()
    try:
        os.chdir(workspace.root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = pytest.main(args, plugins=[recorder])
    finally:
        os.chdir(cwd)
    if (
        code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
        and not recorder.errors
    ):
        tail = [l for l in out.getvalue().splitlines() if l.strip()][-1:] or [
            "(no output)"
        ]
        raise TestmatrixError(f"collection failed (pytest exit {int(code)}): {tail[0]}")
    return Collected(recorder.cases, recorder.errors)
