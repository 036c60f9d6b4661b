"""testmatrix's modules load through Python's own loader, not pytest's assertion-
rewriting one: only the module pytest registers (`testmatrix.plugin`, a list of names)
goes through pytest's."""

from __future__ import annotations

import sys

import pytest

from selftest.helpers import MINIMAL_INI, REPO, run_pytest, write
from testmatrix.plugin.unrewritten import unrewritten


def _rewriters() -> list[object]:
    return [
        f for f in sys.meta_path if type(f).__module__ == "_pytest.assertion.rewrite"
    ]


def test_pytests_hook_is_set_aside_inside_and_back_in_its_place_after():
    before, hooks = list(sys.meta_path), _rewriters()
    assert hooks  # this run's own (pytest installs it unless --assert=plain)
    with unrewritten():
        assert sys.meta_path == [f for f in before if f not in hooks]
    assert sys.meta_path == before


def test_the_hook_is_back_when_an_import_inside_fails():
    before = list(sys.meta_path)
    with pytest.raises(ModuleNotFoundError), unrewritten():
        import testmatrix.no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert sys.meta_path == before


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
    # pytest marks testmatrix.plugin's package for rewriting; what the hooks import
    # (and the hooks themselves) came through Python's loader
    assert "rewritten: testmatrix.plugin,testmatrix.plugin.unrewritten\n" in (
        result.stdout
    )
