"""Fixtures for testmatrix's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from selftest.helpers import COPIED, MINIMAL_INI, REPO, write


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of this repository's workspace (skiplists, bundled suite, noxfile) to change freely."""
    root = tmp_path / "ws"
    root.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "selftest", "*.egg-info")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=skip)
        elif source.exists():
            shutil.copy2(source, root / name)
    return root


@pytest.fixture
def tiny(tmp_path: Path):
    """A factory for small, unseen workspaces: tiny({'skiplists/...': text, 'tests/...': text})."""

    def make(files: dict[str, str], *, conftest: bool = True) -> Path:
        root = tmp_path / "tiny"
        base = {
            "pytest.ini": MINIMAL_INI.format(src=REPO / "src"),
            "skiplists/suites.toml": """
                [suites.unit]
                path = "tests/unit"
            """,
            "skiplists/platforms/cuda.toml": """
                [platform]
                hardware = "cuda"
            """,
        }
        if conftest:
            base["conftest.py"] = 'pytest_plugins = ["testmatrix.plugin"]\n'
        base.update(files)
        (root / "tests" / "unit").mkdir(parents=True, exist_ok=True)
        write(root, base)
        return root

    return make
