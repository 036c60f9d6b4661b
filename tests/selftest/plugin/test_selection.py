"""A suite's -m and -k select, through testmatrix's own expression evaluator, the
tests pytest's -m and -k select (keyword arguments in -m included)."""

from __future__ import annotations

import pytest

from selftest.helpers import MINIMAL_INI, REPO

INI = MINIMAL_INI.format(src=REPO / "src") + "        gpus: needs GPUs\n"
TESTS = """
    import pytest

    @pytest.mark.gpus(count=2)
    def test_two():
        pass

    @pytest.mark.gpus(count=1, kind="mi300")
    def test_one_MI300():
        pass

    @pytest.mark.gpus
    def test_any():
        pass

    class TestEngine:
        @pytest.mark.gpus(count=2, kind="mi300")
        def test_tp(self):
            pass

        def test_plain(self):
            pass
"""


def _ids(result) -> set[str]:
    return {line for line in result.stdout.splitlines() if "::" in line}


@pytest.mark.parametrize(
    "key, expression",
    [
        ("markexpr", "gpus(kind='mi300') and not gpus(count=1)"),
        ("markexpr", "not gpus or gpus(count=1)"),
        ("keyword", "mi300 or Engine and not tp"),  # any case, substrings
    ],
)
def test_a_suite_selects_what_pytest_selects(inprocess, tiny, key, expression):
    root = tiny(
        {
            "pytest.ini": INI,
            "skiplists/suites.toml": f"""
                [suites.unit]
                path = "tests/unit"
                {key} = "{expression}"
            """,
            "tests/unit/test_sel.py": TESTS,
        }
    )
    flag = "-m" if key == "markexpr" else "-k"
    theirs = inprocess(
        root, "tests/unit", "--platform=none", flag, expression, "--co", "-q"
    )
    ours = inprocess(
        root, "tests/unit", "--platform=cuda", "--suite=unit", "--co", "-q"
    )
    assert theirs.returncode == ours.returncode == 0, ours.output
    assert _ids(ours) == _ids(theirs) and _ids(ours)
