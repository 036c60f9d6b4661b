"""Fixtures for testmatrix's own tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from selftest.helpers import COPIED, MINIMAL_INI, REPO, Result, write
from selftest.tiers import listed

# What a user's shell would not have (helpers.clean_env drops them for subprocesses);
# PYTEST_CURRENT_TEST and pytester's own PYTEST_DEBUG_TEMPROOT belong to this run.
LEAKED_ENV = ("TESTMATRIX_", "NOX_", "MINIVLLM_")
PYTEST_ENV = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
# Module names an in-process run gives the files under its rootdir (importlib mode
# names them by their path from the rootdir), and the bundled suite's mini engine.
BUNDLED_MODULES = ("conftest", "tests", "minivllm")


# the test functions measured too slow for the fast tier (tiers.py says how)
MEASURED_SLOW = frozenset(
    listed((Path(__file__).with_name("tiers.txt")).read_text(encoding="utf-8"))
)
IN_PROCESS = ("inprocess", "pytester")  # fixtures that run pytest in this process


@pytest.hookimpl(tryfirst=True)  # before -m reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tiers: a test that runs pytest in-process is `inprocess` and `slow` (the
    pinned stacks run these beside the fast tier); one tiers.txt lists is `slow`."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if any(name in names for name in IN_PROCESS):
            item.add_marker(pytest.mark.inprocess)
            item.add_marker(pytest.mark.slow)
        elif item.nodeid.split("[", 1)[0] in MEASURED_SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of this repository's workspace (skiplists, bundled suite, noxfile) to
    change freely."""
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
    """A factory for small, unseen workspaces:
    tiny({'skiplists/...': text, 'tests/...': text})."""

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


@pytest.fixture(autouse=True)
def _fast_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch):
    """The fast tier (-m "not slow") stays fast: a test starting a process is slow."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def refuse(self, args, *rest, **kwargs):
        raise AssertionError(
            f"{request.node.nodeid} starts a process ({args!r}): run it in-process, "
            "or mark it @pytest.mark.slow"
        )

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)


def _bundled(name: str) -> bool:
    return name.split(".", 1)[0] in BUNDLED_MODULES


@pytest.fixture
def inprocess(pytester: pytest.Pytester):
    """pytest run in this process, as helpers.run_pytest runs it in a new one.

    inprocess(cwd, *args) -> Result. It runs from `cwd` (whose pytest.ini and
    conftest.py apply), without the testmatrix, nox and minivllm variables of this run's
    environment, and without this run's modules of the same names: importlib mode names
    a module by its path from the rootdir, so another workspace's `tests.conftest` would
    otherwise be this run's. pytester drops the modules each run imports; the directory,
    the environment and this run's modules are back as they were when the call returns.
    """

    def run(cwd: Path, *args: str) -> Result:
        with pytest.MonkeyPatch.context() as mp:
            for name in list(os.environ):
                if name.startswith(LEAKED_ENV) or name in PYTEST_ENV:
                    mp.delenv(name)
                elif name == "PYTEST_CURRENT_TEST":  # the inner run pops it: keep ours
                    mp.setenv(name, os.environ[name])
            for name in [n for n in sys.modules if _bundled(n)]:
                mp.delitem(sys.modules, name)
            mp.setattr(sys, "dont_write_bytecode", True)  # as PYTHONDONTWRITEBYTECODE=1
            mp.chdir(cwd)
            result = pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)
        return Result(
            int(result.ret),
            "".join(f"{line}\n" for line in result.outlines),
            "".join(f"{line}\n" for line in result.errlines),
        )

    return run
