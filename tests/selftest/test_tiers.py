"""The fast tier's list of measured-slow functions names only functions that exist
(a renamed test would otherwise quietly come back into the fast tier), and the
script that extends it reads pytest's --durations report."""

from __future__ import annotations

import ast
from pathlib import Path

from selftest.helpers import REPO
from selftest.tiers import LIST, listed, over_the_line


def _functions(path: Path) -> set[str]:
    """'test_x' and 'TestC::test_x' for each test function a module defines."""
    found: set[str] = set()

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.add(prefix + node.name)

    walk(ast.parse(path.read_text(encoding="utf-8")).body, "")
    return found


def test_every_listed_function_exists():
    entries = listed(LIST.read_text(encoding="utf-8"))
    assert len(entries) == len(set(entries)), "a function is listed twice"
    missing, defined = [], {}
    for entry in entries:
        path, _, function = entry.partition("::")
        if path not in defined:  # one parse per module, however many it lists
            source = REPO / path
            defined[path] = _functions(source) if source.is_file() else set()
        if function not in defined[path]:
            missing.append(entry)
    assert missing == []


def test_a_function_crosses_by_its_slowest_case_or_by_all_of_them():
    report = """
============================= slowest durations =============================
0.12s call     tests/a.py::test_one_slow_case[x]
0.01s call     tests/a.py::test_one_slow_case[y]
0.09s call     tests/a.py::test_many_cases[1]
0.09s call     tests/a.py::test_many_cases[2]
0.09s setup    tests/a.py::test_many_cases[3]
0.09s call     tests/a.py::test_quick_cases[1]
0.05s call     tests/a.py::test_quick_cases[2]
0.06s setup    tests/a.py::test_setup_and_call
0.05s call     tests/a.py::test_setup_and_call
(12 durations < 0.005s hidden.)
"""
    assert over_the_line(report) == {
        "tests/a.py::test_one_slow_case",
        "tests/a.py::test_many_cases",
        "tests/a.py::test_setup_and_call",
    }
