"""A generated workspace and history for the propose tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from selftest.history import histgen as gen
from selftest.propose import propgen
from testmatrix.history import ingest, open_store
from testmatrix.history.artifacts import read_artifacts
from testmatrix.history.ingest import BuildInfo


@pytest.fixture
def history_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """propgen's workspace, its six builds ingested into the default history."""
    monkeypatch.delenv("TESTMATRIX_HISTORY_DB", raising=False)
    monkeypatch.setenv("TESTMATRIX_NO_CACHE", "1")
    root = propgen.workspace(tmp_path / "ws")
    monkeypatch.setattr(gen, "ENTRIES", {**gen.ENTRIES, **propgen.ENTRY_ROWS})
    store = open_store(str(root / ".testmatrix" / "history.sqlite"), create=True)
    try:
        for build in propgen.history():
            folder = gen.write_build(build, tmp_path / "artifacts" / build.name)
            jobs = read_artifacts(folder, None, {}).jobs
            ingest(store, BuildInfo(build.name, build.commit, build.date), jobs)
    finally:
        store.close()
    return root


# the history tests' PostgreSQL server, for the same proposal from a server
from selftest.history.conftest import postgres_server as postgres_server  # noqa: E402
