"""Hooks testmatrix adds to pytest, so other code hands it things explicitly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from testmatrix.core.model import Workspace


@pytest.hookspec(firstresult=True)
def pytest_testmatrix_workspace(config: pytest.Config) -> Workspace | None:
    """The validated workspace to use instead of loading skiplists/ again (explain,
    lint and audit collect in-process with the one they already loaded)."""
