"""testmatrix's modules load through Python's own loader, not pytest's assertion-
rewriting one: only the module pytest registers (`testmatrix.plugin`, a list of names)
goes through pytest's."""

from __future__ import annotations

import os
import sys
from importlib.machinery import SourceFileLoader

import pytest

import testmatrix
from selftest.helpers import MINIMAL_INI, REPO, run_pytest, write
from testmatrix.plugin import OwnModules, install


def test_testmatrix_modules_are_found_first_and_only_they(monkeypatch):
    others = [f for f in sys.meta_path if not isinstance(f, OwnModules)]
    monkeypatch.setattr(sys, "meta_path", [*others, OwnModules()])
    install()  # moved ahead of the others (an in-process run's hook came first)
    install()
    assert isinstance(sys.meta_path[0], OwnModules)
    assert sys.meta_path[1:] == others
    spec = OwnModules.find_spec("testmatrix.errors", testmatrix.__path__)
    assert spec is not None and spec.origin is not None
    assert spec.origin.endswith(os.sep + "errors.py")
    assert isinstance(spec.loader, SourceFileLoader)  # Python's own, not pytest's
    assert OwnModules.find_spec("selftest.helpers") is None  # pytest's to rewrite
    assert OwnModules.find_spec("testmatrixx.other") is None


CHECK = """
    import sys

    from _pytest.assertion.rewrite import AssertionRewritingHook


    def test_which_loader_loaded_what():
        by_pytest = sorted(
            name
            for name, module in sys.modules.items()
            if name.startswith("testmatrix")
            and isinstance(getattr(module, "__loader__", None), AssertionRewritingHook)
        )
        print("rewritten:", ",".join(by_pytest))
        assert "testmatrix.plugin.decide" in sys.modules
"""


@pytest.mark.slow
def test_a_run_with_a_skiplist_rewrites_only_the_registered_module(tmp_path):
    write(
        tmp_path,
        {
            "pytest.ini": MINIMAL_INI.format(src=REPO / "src"),
            "conftest.py": 'pytest_plugins = ["testmatrix.plugin"]\n',
            "tests/test_check.py": CHECK,
            "skiplists/suites.toml": '[suites.unit]\npath = "tests"\n',
            "skiplists/platforms/rocm.toml": """
                [platform]
                hardware = "rocm"

                [[deselect]]
                tests = ["tests/test_check.py::test_other"]
                reason = "one entry"
                issue = "https://github.com/o/r/issues/1"
            """,
        },
    )
    result = run_pytest(tmp_path, "-s", "-q", "--testmatrix-platform=rocm")
    assert result.returncode == 0, result.output
    # pytest marks testmatrix.plugin's package for rewriting (an installed plugin's
    # whole distribution, as in CI): only what loads before the finder went through
    # its loader; the hooks and everything they import came through Python's
    [line] = [x for x in result.stdout.splitlines() if x.startswith("rewritten:")]
    names = line.removeprefix("rewritten:").strip()
    rewritten = set(names.split(",")) if names else set()
    assert rewritten <= {"testmatrix", "testmatrix.plugin"}
