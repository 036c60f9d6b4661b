"""Lint's coverage and overlap checks on small workspaces: on each platform and variant
every test is selected by exactly one suite, with excludes, -m and -k taken into
account; --paths-only says the same at file level without importing a test."""

from __future__ import annotations

import pytest

from testmatrix.tools.lint import lint

TESTS = {
    "tests/unit/test_engine.py": """
        import pytest

        def test_fast(): pass

        @pytest.mark.multi_gpu
        def test_tensor_parallel(): pass
    """,
    "tests/unit/test_generate.py": "def test_generate(): pass\n",
    "tests/unit/aiter/test_aiter_ops.py": "def test_rms(): pass\n",
}
INI = """
    [pytest]
    pythonpath = {src}
    addopts = --strict-markers --import-mode=importlib -p no:cacheprovider
    markers =
        encoder_decoder: uses encoder models
        multi_gpu: two GPUs
"""
ROCM = """
    [platform]
    hardware = "rocm"

    [variants.mi300]
    match = ["gfx942"]

    [variants.mi355]
    match = ["gfx950"]
"""


def _workspace(tiny, suites: str, rocm: str = ROCM):
    from selftest.helpers import REPO

    return tiny(
        {
            **TESTS,
            "pytest.ini": INI.format(src=REPO / "src"),
            "skiplists/suites.toml": suites,
            "skiplists/platforms/rocm.toml": rocm,
        }
    )


def _messages(root, paths_only: bool = False) -> list[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # locations are relative to the working directory
        findings, _ = lint(root, paths_only=paths_only)
    return [str(f) for f in findings if f.severity == "error"]


def _line(root, suite: str) -> str:
    """Where a suite is declared, as findings name it."""
    lines = [line.strip() for line in (root / "skiplists/suites.toml").open()]
    return f"skiplists/suites.toml:{lines.index(f'[suites.{suite}]') + 1}"


COMPLETE = """
    [suites.unit]
    path = "tests/unit"
    exclude = ["test_generate.py", "aiter"]
    markexpr = "not multi_gpu"

    [suites.unit-multi-gpu]
    path = "tests/unit"
    exclude = ["test_generate.py", "aiter"]
    markexpr = "multi_gpu"
    gpus = 2

    [suites.generate]
    path = "tests/unit/test_generate.py"

    [suites.aiter]
    path = "tests/unit/aiter"
    platforms = ["rocm"]
    platforms_reason = "AITER is ROCm's"
"""


@pytest.mark.parametrize("paths_only", [False, True])
def test_a_complete_split_lints_clean(tiny, paths_only):
    root = _workspace(tiny, COMPLETE)
    assert _messages(root, paths_only) == []


def test_a_forgotten_piece_of_a_split_is_reported_on_every_target(tiny):
    # the generate suite is gone: its file is excluded and nothing else runs it
    root = _workspace(tiny, COMPLETE.split("[suites.generate]")[0] + AITER)
    where = _line(root, "unit")
    assert _messages(root) == [
        f"{where}: error: 1 tests of tests/unit/test_generate.py are "
        f"selected by no suite on {target}: left out by unit, unit-multi-gpu "
        "(excludes, -m or -k), and no other suite runs them"
        for target in ("cuda", "rocm", "rocm:mi300", "rocm:mi355")
    ]
    assert _messages(root, paths_only=True) == [
        f"{where}: error: tests/unit/test_generate.py is selected by no suite on "
        f"{target}: excluded by unit, unit-multi-gpu, and no other suite runs it"
        for target in ("cuda", "rocm", "rocm:mi300", "rocm:mi355")
    ]


AITER = """
    [suites.aiter]
    path = "tests/unit/aiter"
    platforms = ["rocm"]
    platforms_reason = "AITER is ROCm's"
"""


def test_a_forgotten_marker_expression_loses_the_marked_tests(tiny):
    # -m "not multi_gpu" without its twin: the multi-GPU test runs nowhere
    suites = COMPLETE.replace(
        """
    [suites.unit-multi-gpu]
    path = "tests/unit"
    exclude = ["test_generate.py", "aiter"]
    markexpr = "multi_gpu"
    gpus = 2
""",
        "",
    )
    errors = _messages(_workspace(tiny, suites))
    assert any(
        "1 tests of tests/unit/test_engine.py are selected by no suite on rocm:mi355"
        in e
        for e in errors
    ), errors
    # at file level the file is covered (a -m suite takes part of it): no finding
    assert _messages(_workspace(tiny, suites), paths_only=True) == []


def test_two_suites_selecting_one_test_run_it_twice(tiny):
    suites = COMPLETE.replace('markexpr = "not multi_gpu"\n', "")
    root = _workspace(tiny, suites)
    errors = _messages(root)
    assert (
        f"{_line(root, 'unit')}: error: 1 tests of tests/unit/test_engine.py are "
        "selected by suites unit and unit-multi-gpu on rocm: they run twice"
    ) in errors


def test_overlapping_whole_files_are_found_without_importing_tests(tiny):
    # a second whole-directory suite that forgot to exclude the generate file
    suites = COMPLETE + (
        '\n[suites.again]\npath = "tests/unit"\nexclude = ["test_engine.py", "aiter"]\n'
    )
    root = _workspace(tiny, suites)
    errors = _messages(root, paths_only=True)
    assert (
        f"{_line(root, 'generate')}: error: tests/unit/test_generate.py is selected "
        "by suites generate and again on cuda: its tests run twice"
    ) in errors
    # a -k suite takes part of a file: not counted as a whole-file overlap
    keyword = suites.replace('exclude = ["test_engine.py", "aiter"]', 'keyword = "x"')
    assert not any(
        "again" in e for e in _messages(_workspace(tiny, keyword), paths_only=True)
    )


def test_a_variant_entry_is_dead_only_if_no_variant_session_uses_it(tiny):
    rocm = (
        ROCM
        + """
        [[deselect]]
        test = "tests/unit/test_engine.py::test_fast"
        variants = ["mi355"]
        reason = "hangs on gfx950"
        issue = "https://example.org/1"
    """
    )
    assert _messages(_workspace(tiny, COMPLETE, rocm)) == []
    dead = rocm.replace("test_fast", "test_gone")
    errors = _messages(_workspace(tiny, COMPLETE, dead))
    assert any(
        "deselect entry 'tests/unit/test_engine.py::test_gone' matches no collected "
        "test on rocm (mi355) (dead entry)" in e
        for e in errors
    ), errors
