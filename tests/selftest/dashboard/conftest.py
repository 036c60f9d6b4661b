"""Builds for the dashboard's tests, from real pytest runs of a small workspace."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from selftest.dashboard.builds import probe

SIM = """
    [[deselect]]
    tests = ["tests/unit/test_probe.py::test_known_bug"]
    reason = '<b>known</b> | "bug" </td><script>alert(1)</script>'
    issue = "https://example.org/issues/1"
    fails = { error = "AssertionError", match = "known bug" }
"""


@pytest.fixture(scope="session")
def _built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Where the probe builds were made, once per test session."""
    return {"root": tmp_path_factory.mktemp("dashboard-builds")}


@pytest.fixture
def tiny_builds(tiny, inprocess, tmp_path, _built) -> Callable[[int], list[Path]]:
    """builds(n) -> copies of the first n of three build folders, oldest first: the
    probe tests of builds 1..3, each run in process on targets sim and cuda (suite
    unit), the reports of each build in <100+n>/<target>-unit/. The runs happen
    once per test session; each test gets its own copies to change."""
    made = _built["root"]
    if not (made / "done").exists():
        root = tiny({"skiplists/platforms/sim.toml": SIM})
        for build in range(1, 4):
            (root / "tests/unit/test_probe.py").write_text(
                textwrap.dedent(probe(build))
            )
            for target in ("sim", "cuda"):
                reports = made / str(100 + build) / f"{target}-unit"
                result = inprocess(
                    root,
                    "tests/unit",
                    f"--platform={target}",
                    "--suite=unit",
                    f"--summary-json={reports}/summary.json",
                    f"--junitxml={reports}/junit.xml",
                )
                assert result.returncode in (0, 1), result.output[-2000:]
        (made / "done").write_text("")

    def copies(count: int) -> list[Path]:
        out = []
        for build in range(1, count + 1):
            out.append(tmp_path / "builds" / str(100 + build))
            shutil.copytree(made / str(100 + build), out[-1])
        return out

    return copies
