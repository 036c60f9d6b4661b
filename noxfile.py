"""nox sessions: `<platform>-<suite>` ones come from skiplists/ (`nox -l` lists all)."""

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent / "src"))  # nox need not install us
from testmatrix.nox.sessions import register

WORKSPACE = register(Path(__file__).parent)  # lint, pipeline, <platform>-<suite>
STYLED = [
    "src",
    "tests/selftest",
    "benchmarks",
    "docs/hooks",
    "noxfile.py",
    "conftest.py",
]
TOOLS = ["ruff==0.17.6", "mypy==2.4.1", "import-linter==2.17"]  # pinned: output varies
# CI has two cores: both tiers run in two pytest-xdist workers (`-- -n 0` for one
# process). Tests that must share one costly thing (a browser, a built environment)
# carry the same xdist_group mark, and loadgroup sends each group to one worker; on
# pytest 9.2 with xdist 3.8 it distributes them as `load` does (pytest-xdist#1386),
# which costs time, not correctness: every test is safe in either worker.
XDIST = ("-n", "2", "--dist", "loadgroup")


@nox.session(default=False, tags=["dev"])
def tests(session: nox.Session) -> None:
    """testmatrix's own tests, both tiers: real nox, pytest and testmatrix runs too."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/selftest", *XDIST, *session.posargs)


@nox.session(name="tests-fast", default=False, tags=["dev"])
def tests_fast(session: nox.Session) -> None:
    """The fast tier of testmatrix's tests: unit and in-process plugin tests."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/selftest", "-m", "not slow", *XDIST, *session.posargs)


# vLLM's pinned test stacks, at both ends of the pytest range pyproject allows: its
# PR-era requirements (the oldest pytest the package declares, with the plugins vLLM
# installs beside it: pytest-shard owns --shard-id and --num-shards) and today's pins.
PINNED_STACKS = {
    "oldest": (
        "3.10",
        (
            "pytest==8.3.5",
            "pytest-asyncio==0.24.0",
            "pytest-shard==0.1.2",
            "pytest-forked==1.6.0",
            "pytest-rerunfailures==14.0",
            "pytest-timeout==2.3.1",
            # and the oldest nox pyproject allows (filelock's and tomli's floors
            # cannot be installed here: virtualenv and tox need newer ones)
            "nox==2025.2.9",
        ),
    ),
    "latest": (
        "3.13",
        (
            "pytest==9.1.0",
            "pytest-asyncio==1.5.0",
            "pytest-shard==0.1.2",
            "pytest-forked==1.7.5",
            "pytest-rerunfailures==16.7",
            "pytest-timeout==2.4.0",
        ),
    ),
}
PINNED_TEST = "tests/selftest/plugin/test_pinned_stack.py"


def _pinned(session: nox.Session, stack: str) -> None:
    _, pins = PINNED_STACKS[stack]
    session.install("-e", ".[test]", *pins)  # one resolve: the pins hold
    # the fast tier and the in-process pytest runs with vLLM's plugins loaded, then
    # the real startup and collection
    tier = "not slow or inprocess"
    session.run("pytest", "tests/selftest", "-m", tier, *XDIST, *session.posargs)
    session.run("pytest", PINNED_TEST, *session.posargs)


@nox.session(
    name="tests-pinned-oldest",
    python=PINNED_STACKS["oldest"][0],
    default=False,
    tags=["dev", "pinned"],
)
def tests_pinned_oldest(session: nox.Session) -> None:
    """The fast tier on the oldest supported pytest with vLLM's PR-era plugins."""
    _pinned(session, "oldest")


@nox.session(
    name="tests-pinned-latest",
    python=PINNED_STACKS["latest"][0],
    default=False,
    tags=["dev", "pinned"],
)
def tests_pinned_latest(session: nox.Session) -> None:
    """The fast tier on today's pins: pytest 9.1 and current versions of the plugins."""
    _pinned(session, "latest")


@nox.session(default=False, tags=["dev"])
def check(session: nox.Session) -> None:
    """Style, types and layers: ruff format --check, ruff check, mypy and lint-imports
    (the import contract in pyproject.toml)."""
    session.install("-e", ".[test]", *TOOLS)  # mypy reads the dependencies' types
    failed = []
    checks = (
        ["ruff", "format", "--check"],
        ["ruff", "check"],
        ["mypy"],
        ["lint-imports", "--no-cache"],
    )
    for command in checks:
        try:  # all three run, so one CI run reports every kind of problem
            session.run(*command, *(STYLED if command[0] == "ruff" else []))
        except nox.command.CommandFailed:
            failed.append(" ".join(command))
    if failed:
        session.error(f"failed: {', '.join(failed)}")


@nox.session(default=False, tags=["dev"])
def docs(session: nox.Session) -> None:
    """The documentation site: mkdocs build --strict into site/ (-- for mkdocs)."""
    session.install("-e", ".[docs]")  # the reference pages import the package
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs)


@nox.session(default=False, tags=["dev"])
def bench(session: nox.Session) -> None:
    """Benchmarks: what testmatrix costs and saves at vLLM scale (-- --runs N)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/run.py", *session.posargs)
