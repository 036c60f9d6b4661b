"""A pytest plugin the audit loads into its own run (`-p testmatrix.auditrec`): each
test's outcome by node id, with its error's class names and message, written as JSON
to $TESTMATRIX_AUDIT_RECORD. Node ids need no mapping back from JUnit names (which
breaks for ids holding '::' or folders with dots)."""

from __future__ import annotations

import json
import os
from collections.abc import Generator

import pytest

from testmatrix.plugin.expect import class_names

ENV = "TESTMATRIX_AUDIT_RECORD"
_RECORD: dict[str, dict[str, object]] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "teardown" and not report.failed:
        return report
    if report.when == "call" or report.failed or report.skipped:
        row: dict[str, object] = {"outcome": report.outcome, "when": report.when}
        if call.excinfo is not None and report.failed:
            error = call.excinfo.value
            row["types"] = sorted(class_names(type(error)))
            row["message"] = str(error)
            row["error"] = f"{type(error).__name__}: {str(error).strip()}".strip(": ")
        if item.nodeid not in _RECORD or report.failed:
            _RECORD[item.nodeid] = row
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(ENV)
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_RECORD, handle)
