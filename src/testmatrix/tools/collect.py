"""Collect a workspace's tests once, with no skiplist applied and no test run."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field

import pytest

from testmatrix.core import options as opt
from testmatrix.core.expression import Expression
from testmatrix.core.fate import TestCase
from testmatrix.core.model import Workspace
from testmatrix.core.models import ModelFinder
from testmatrix.errors import TestmatrixError
from testmatrix.plugin.items import CaseReader


@dataclass
class Collected:
    cases: list[TestCase]
    errors: list[str] = field(default_factory=list)


class _Recorder:
    """Hands the plugin our workspace and records what pytest collects."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self.cases: list[TestCase] = []
        self.errors: list[str] = []

    @pytest.hookimpl(optionalhook=True)
    def pytest_testmatrix_workspace(self, config: pytest.Config) -> Workspace:
        return self.workspace

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        root = self.workspace.root
        # -k's names cost a walk up each item's parents: only where a suite uses -k
        suites = self.workspace.suites.values()
        selection = any(s.markexpr for s in suites)  # only -m reads every name
        keywords = any(s.keyword for s in suites)
        arguments = any(
            Expression.compile(s.markexpr).calls for s in suites if s.markexpr
        )
        models = ModelFinder(self.workspace)  # constants only where needed
        read = CaseReader(
            root,
            selection=selection,
            keywords=keywords,
            arguments=arguments,
            models=models,
        ).read
        self.cases = [read(item) for item in items]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            last = str(report.longrepr).strip().splitlines()[-1]
            self.errors.append(f"{report.nodeid}: collection failed: {last}")


def outermost(paths: list[str]) -> list[str]:
    """The paths that no other given path holds: pytest before 8.4, given a directory
    and one inside it, collects only the inner one."""
    unique = sorted(set(paths))
    return [
        p for p in unique if not any(p.startswith(q + "/") for q in unique if q != p)
    ]


def collect(
    workspace: Workspace, paths: list[str] | None = None, keyword: str | None = None
) -> Collected:
    """Every test under the suites (or `paths`), as planning sees it; `keyword` is
    pytest's -k."""
    targets = outermost(
        paths or [p for s in workspace.suites.values() for p in s.paths]
    )
    args = [
        *targets,
        "--collect-only",
        "-qq",  # a line per file, not per test: nobody reads it
        # pytest 8.4+ runs 5 full garbage collections at exit to find unraisable
        # exceptions: seconds with 100k collected tests held, and nothing runs here
        "-p",
        "no:unraisableexception",
        "-p",
        "no:threadexception",
        opt.PLATFORM.flag("none"),
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
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        tail = lines[-1] if lines else "(no output)"
        raise TestmatrixError(f"collection failed (pytest exit {int(code)}): {tail}")
    return Collected(recorder.cases, recorder.errors)
