"""Memory of results: CI's reports, build after build, per test and target, in a
SQLite file or PostgreSQL, and the questions asked of them (status, diff, flaky,
entries, skips). See docs/history.md."""

from .evidence import EntryEvidence, SkipGroup, entries, skips
from .ingest import BuildInfo, Ingested, ingest
from .queries import Change, Diff, FlakyTest, TestStatus, diff, flaky, status
from .store import Store, default_path, open_store

__all__ = [
    "BuildInfo",
    "Change",
    "Diff",
    "EntryEvidence",
    "FlakyTest",
    "Ingested",
    "SkipGroup",
    "Store",
    "TestStatus",
    "default_path",
    "diff",
    "entries",
    "flaky",
    "ingest",
    "open_store",
    "skips",
    "status",
]
