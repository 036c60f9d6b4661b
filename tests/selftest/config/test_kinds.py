"""Values the kinds accept that a stricter rule might wrongly refuse."""

from __future__ import annotations

import pytest

from testmatrix.config.loader import load_workspace
from testmatrix.errors import ConfigError


def flaky(tiny, *tests: str):  # type: ignore[no-untyped-def]
    listed = ", ".join(f'"{t}"' for t in tests)
    root = tiny(
        {
            "tests/unit/test_a.py": "def test_x(): pass\n",
            "skiplists/platforms/cuda.toml": (
                f'[[flaky]]\ntests = [{listed}]\nreason = "r"\n'
            ),
        }
    )
    return load_workspace(root).platforms["cuda"].flaky


def test_flaky_ids_keep_their_parameters_brackets(tiny):
    """Without * or ?, a flaky test is an id or prefix: brackets are parameters."""
    ids = ("tests/unit/test_a.py::test_x[cuda-1]", "tests/unit/test_a.py::test_x[cu")
    assert [e.pattern for e in flaky(tiny, *ids)] == list(ids)


@pytest.mark.parametrize(
    "glob, why",
    [
        ("tests/unit/*[a", "'[' at column 13 opens a class that is never closed"),
        ("tests/*[z-a]", "the range 'z-a' in the class at column 8 is empty"),
    ],
)
def test_a_glob_whose_class_matches_nothing_is_refused(tiny, glob, why):
    with pytest.raises(
        ConfigError, match=f"is not a valid test glob: {why}".replace("[", r"\[")
    ):
        flaky(tiny, glob)
