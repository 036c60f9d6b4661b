"""Fixtures of the history tests: a database per test, SQLite or a real PostgreSQL
server that this session starts from the system's packages."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testmatrix.history import status


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(argv: list[str]) -> list[str]:
    """Root may not run PostgreSQL: its commands run as the unprivileged `postgres`
    user where this process is root."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server on a Unix socket in a temporary folder, for this session;
    the base URL of its `postgres` database."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server installed (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]')")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    base = Path(tempfile.mkdtemp(prefix="testmatrix-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    run = lambda argv: subprocess.run(  # noqa: E731
        _as_server_user(argv), check=True, capture_output=True, text=True
    )
    try:
        run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        )
        options = f"-k {base} -c listen_addresses='' -c fsync=off"
        log = str(base / "log")
        run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                log,
                "-w",
                "start",
            ]
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"cannot start PostgreSQL: {exc.stderr.strip()[:300]}")
    try:
        yield f"postgresql://{user}@/postgres?host={base}"
    finally:
        subprocess.run(
            _as_server_user(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty history database: a SQLite file, or a database of its own on the
    session's PostgreSQL server."""
    return new_database(request, request.param, tmp_path)


def new_database(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return str(tmp_path / "history.sqlite")
    import psycopg

    server = request.getfixturevalue("postgres_server")
    name = f"h_{uuid.uuid4().hex[:16]}"  # conftest may be imported twice
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.replace("/postgres?", f"/{name}?")


def status_facts(store, window: int = 30) -> dict[tuple[str, str], tuple]:
    """What `status` says of each target and test, as truth_status gives it."""
    return {
        (s.target, s.test): (
            s.outcome,
            s.since_build,
            s.streak,
            s.last_pass_build,
            s.last_seen_build,
            s.changes,
            s.entry,
        )
        for s in status(store, window=window)
    }
