"""A skiplist's own model patterns are data: a pattern that makes Python's `re`
backtrack for hours must not hang a pytest run (the plugin runs them linearly)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from selftest.helpers import run_pytest, write

# each is hours for `re` on the names and values below (2**60 ways to split them)
PARAMS = "(a+)+$"
PATTERN = "(x+x+)+y"
NAME = "a" * 60 + "b"  # a parameter name `(a+)+$` cannot end on
VALUE = "x" * 60  # a value `(x+x+)+y` cannot find a y in


@pytest.mark.slow
def test_a_backtracking_model_pattern_does_not_hang_the_run(tmp_path: Path) -> None:
    assert not re.fullmatch(PARAMS, "a" * 6 + "b")  # what a name like NAME gives re
    write(
        tmp_path,
        {
            "conftest.py": 'pytest_plugins = ["testmatrix.plugin"]\n',
            "pytest.ini": "[pytest]\nmarkers =\n    encoder_decoder\n",
            "skiplists/suites.toml": f"""
                [workspace]
                model_params = "{PARAMS}"
                model_pattern = "{PATTERN}"

                [suites.all]
                path = "tests"
            """,
            "skiplists/platforms/rocm.toml": """
                [platform]
                hardware = "rocm"

                [[skip]]
                marker = "encoder_decoder"
                models = ["org/enc"]
                reason = "no encoder attention"
            """,
            "tests/test_models.py": f"""
                import pytest

                @pytest.mark.encoder_decoder
                @pytest.mark.parametrize("{NAME}", ["{VALUE}", "{VALUE}y", "org/enc"])
                def test_model({NAME}):
                    pass

                MODEL_{NAME.upper()} = "{VALUE}"

                @pytest.mark.encoder_decoder
                def test_constant():
                    assert MODEL_{NAME.upper()}
            """,
        },
    )
    # a hang here is the failure (the helper's timeout): with `re` it took hours
    result = run_pytest(tmp_path, "--platform=rocm", "-rs")
    assert result.returncode == 0, result.stdout + result.stderr
    # the listed model is skipped; the others run (no pattern took them as models)
    assert "3 passed, 1 skipped" in result.stdout, result.stdout
    assert "SKIPPED [1] tests/test_models.py" in result.stdout
