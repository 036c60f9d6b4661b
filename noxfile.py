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


@nox.session(default=False, tags=["dev"])
def tests(session: nox.Session) -> None:
    """testmatrix's own tests, both tiers: real nox, pytest and testmatrix runs too."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/selftest", *session.posargs)


@nox.session(name="tests-fast", default=False, tags=["dev"])
def tests_fast(session: nox.Session) -> None:
    """The fast tier of testmatrix's tests: unit and in-process plugin tests."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/selftest", "-m", "not slow", *session.posargs)


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
