"""The history database: where it lives, its schema, migrations and the two
dialects (SQLite from the standard library, PostgreSQL through psycopg 3).

Every statement is written once, with `?` parameters; PostgreSQL gets them as `%s`.
Dimension tables (builds, targets, suites, tests, entries, messages, jobs) hold the
text once; `results`, the fact table, holds integers and a duration per test and job.
`state` is the rollup the queries read: per target and test, the current streak and
the recent outcomes, kept up to date by each ingest.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TestmatrixError

ENV_DB = "TESTMATRIX_HISTORY_DB"
DEFAULT_DB = ".testmatrix/history.sqlite"  # under the workspace root
SCHEMA_VERSION = 3
# The outcomes a `state` row remembers, per target and test: windows longer than
# this read `results` instead
RECENT_DEPTH = 100

_NOW = "(SELECT n FROM target_now t WHERE t.target_id = state.target_id)"

# Version N's statements take a database at version N-1 to N.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE builds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " commit_sha TEXT NOT NULL, branch TEXT NOT NULL, started TEXT NOT NULL,"
        " ingested TEXT NOT NULL, first_result INTEGER, last_result INTEGER)",
        "CREATE INDEX builds_order ON builds (started, id)",
        "CREATE TABLE targets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        "CREATE TABLE suites (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        "CREATE TABLE tests (id INTEGER PRIMARY KEY, nodeid TEXT NOT NULL UNIQUE)",
        "CREATE TABLE entries (id INTEGER PRIMARY KEY, location TEXT NOT NULL,"
        " kind TEXT NOT NULL, reason TEXT NOT NULL, issue TEXT NOT NULL,"
        " UNIQUE (location, kind, reason, issue))",
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, error_type TEXT NOT NULL,"
        " text TEXT NOT NULL, UNIQUE (error_type, text))",
        "CREATE TABLE outcomes (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        # one job of a build: a session's shard, or one plain JUnit file's job
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY,"
        " build_id INTEGER NOT NULL REFERENCES builds (id),"
        " target_id INTEGER NOT NULL REFERENCES targets (id),"
        " suite_id INTEGER NOT NULL REFERENCES suites (id),"
        " shard INTEGER NOT NULL, source TEXT NOT NULL)",
        "CREATE INDEX jobs_build ON jobs (build_id, target_id)",
        "CREATE INDEX jobs_target ON jobs (target_id, build_id)",
        # the fact table: one narrow row per test and job, numbered in ingest order:
        # a build's results are the range builds.first_result..last_result (no
        # index to keep up on 50,000 inserts a build)
        "CREATE TABLE results (id INTEGER PRIMARY KEY,"
        " job_id INTEGER NOT NULL REFERENCES jobs (id),"
        " test_id INTEGER NOT NULL REFERENCES tests (id),"
        " outcome INTEGER NOT NULL REFERENCES outcomes (code),"
        " entry_id INTEGER REFERENCES entries (id),"
        " message_id INTEGER REFERENCES messages (id), duration REAL)",
        # per target and test: the streak, and one letter per build of the target
        # (`recent`, '.' where the test was not reported) ending at target build
        # number `seen_at`
        "CREATE TABLE state (target_id INTEGER NOT NULL REFERENCES targets (id),"
        " test_id INTEGER NOT NULL REFERENCES tests (id),"
        " suite_id INTEGER NOT NULL REFERENCES suites (id),"
        " outcome INTEGER NOT NULL, entry_id INTEGER, message_id INTEGER,"
        " streak_start INTEGER NOT NULL, streak_len INTEGER NOT NULL,"
        " last_pass INTEGER, last_run INTEGER, first_seen INTEGER NOT NULL,"
        " last_seen INTEGER NOT NULL, seen_at INTEGER NOT NULL,"
        " recent TEXT NOT NULL, PRIMARY KEY (target_id, test_id)){without_rowid}",
    ),
    # whether a job ran on simulated hardware (its summary's `simulated`): what it
    # says of the hardware is nothing, and `testmatrix propose` leaves it out
    2: ("ALTER TABLE jobs ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0",),
    # a state row is written only when its test's result changes or it goes
    # missing, and stands unwritten for the builds after (rollup.py): rows of tests
    # a target's newest builds lacked get their '.'s now, as a new row would
    3: (
        "CREATE TABLE target_now (target_id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
        "INSERT INTO target_now (target_id, n) SELECT target_id,"
        " count(DISTINCT build_id) - 1 FROM jobs GROUP BY target_id",
        f"UPDATE state SET recent = CASE WHEN {_NOW} - seen_at >= {RECENT_DEPTH}"
        f" THEN '{'.' * RECENT_DEPTH}' ELSE recent ||"
        f" substr('{'.' * RECENT_DEPTH}', 1, {_NOW} - seen_at) END,"
        f" seen_at = {_NOW} WHERE seen_at < {_NOW}",
        "DROP TABLE target_now",
    ),
}


def default_path(root: Path | None) -> str:
    """--db's default: $TESTMATRIX_HISTORY_DB, else .testmatrix/history.sqlite under
    the workspace root (the current directory outside a workspace)."""
    env = os.environ.get(ENV_DB)
    if env:
        return env
    return str((root or Path.cwd()) / DEFAULT_DB)


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _shown(url: str) -> str:
    """A database as messages name it: a URL without its password."""
    if is_postgres(url) and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url


@dataclass
class Store:
    """An open history database: one connection and its dialect."""

    conn: Any  # sqlite3.Connection or psycopg.Connection
    postgres: bool
    name: str

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.conn.cursor()
        cursor.execute(self.sql(statement), params)
        return cursor

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self.execute(statement, params).fetchall())

    def value(self, statement: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(statement, params).fetchone()
        return None if row is None else row[0]

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.cursor().executemany(self.sql(statement), rows)

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Bulk insert: COPY on PostgreSQL (many times faster than single inserts),
        executemany on SQLite (one prepared statement, in C)."""
        names = ", ".join(columns)
        if self.postgres:
            with self.conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" * len(columns))
        self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction that holds the writer's lock from its start: a killed or
        failed ingest leaves nothing, and two ingests take turns."""
        if self.postgres:
            with self.conn.transaction():
                # one writer at a time, from the first statement (tables may not
                # exist yet: a lock on a name, not on a table)
                self.execute("SELECT pg_advisory_xact_lock(4242)")
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def open_store(url: str, *, create: bool) -> Store:
    """Open (and with `create`, create or migrate) the database at a path or a
    postgresql:// URL. A database of a newer schema is refused."""
    if is_postgres(url):
        store = _open_postgres(url)
    else:
        path = Path(url)
        if not create and not path.is_file():
            raise TestmatrixError(
                f"{url}: no history database here: `testmatrix history ingest` "
                "creates it"
            )
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # autocommit off by hand (isolation_level None): transactions are ours
            conn = sqlite3.connect(str(path), isolation_level=None)
            if create:
                # WAL: a commit appends to the log with no fsync (NORMAL), a killed
                # writer's unfinished transaction is ignored when the file is next
                # opened, and the last connection to close folds the log back in
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # the schema declares its foreign keys (PostgreSQL checks them); SQLite
            # would look each of them up again for every row of an ingest, whose ids
            # it assigns itself in one transaction: a third of the ingest's writes
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB of pages
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise TestmatrixError(f"{url}: not a history database: {exc}") from None
        store = Store(conn, False, url)
    try:
        _migrate(store, create)
    except BaseException:
        store.close()
        raise
    return store


def _open_postgres(url: str) -> Store:
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise TestmatrixError(f"{_shown(url)}: cannot connect: {first}") from None
    return Store(conn, True, _shown(url))


def schema_version(store: Store) -> int | None:
    """The database's schema version; None for an empty database."""
    if store.postgres:
        found = store.value("SELECT to_regclass('schema_version') IS NOT NULL")
    else:
        found = store.value(
            "SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'"
        )
    if not found:
        return None
    version = store.value("SELECT max(version) FROM schema_version")
    return int(version) if version is not None else None


def _migrate(store: Store, create: bool) -> None:
    from .. import __version__
    from .outcomes import CODE

    version = schema_version(store)
    if version is not None and version > SCHEMA_VERSION:
        raise TestmatrixError(
            f"{store.name}: written by a newer testmatrix (history schema "
            f"{version}; this one reads up to {SCHEMA_VERSION}): upgrade testmatrix"
        )
    if version == SCHEMA_VERSION:
        return
    if version is None and not create:
        raise TestmatrixError(
            f"{store.name}: no history here yet: `testmatrix history ingest` creates it"
        )
    with store.transaction():
        if schema_version(store) is None:  # another writer may have been first
            store.execute(
                "CREATE TABLE schema_version (version INTEGER NOT NULL,"
                " written_by TEXT NOT NULL)"
            )
            version = 0
        else:
            version = schema_version(store) or 0
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number]:
                # the one difference in DDL: SQLite stores these tables in their
                # primary key's b-tree (PostgreSQL's heap needs no such word)
                rowid = "" if store.postgres else " WITHOUT ROWID"
                store.execute(statement.replace("{without_rowid}", rowid))
            if number == 1:
                store.insert_many(
                    "outcomes",
                    ("code", "name"),
                    [(c, o.value) for o, c in CODE.items()],
                )
            store.execute(
                "INSERT INTO schema_version (version, written_by) VALUES (?, ?)",
                (number, f"testmatrix {__version__}"),
            )
