"""nox sessions: `<platform>-<suite>` ones are generated from skiplists/; `nox -l` lists them."""

import sys
from pathlib import Path

import nox

sys.path.insert(
    0, str(Path(__file__).parent / "src")
)  # nox's own interpreter need not install us

from testmatrix.noxsessions import register

WORKSPACE = register(Path(__file__).parent)


@nox.session(default=False, tags=["dev"])
def tests(session: nox.Session) -> None:
    """Run testmatrix's own tests (real nox and pytest runs on the bundled suite)."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/selftest", *session.posargs)


@nox.session(default=False, tags=["dev"])
def bench(session: nox.Session) -> None:
    """Benchmarks: what testmatrix costs and saves at vLLM scale, as ratios (-- --runs N)."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/run.py", *session.posargs)
