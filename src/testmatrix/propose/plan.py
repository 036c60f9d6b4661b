"""The proposal: where the evidence comes from (a history, one build's reports, or
both), and the file edits it supports."""

from __future__ import annotations

import fnmatch
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testmatrix.errors import TestmatrixError
from testmatrix.history.store import Store, is_postgres, open_store
from testmatrix.jsonio import read_json

from .cluster import Group, failure_groups, flaky_groups
from .edits import FileEdit, entry_text, new_platform_text, shown_builds
from .evidence import Evidence, Thresholds, gather

REPORTS_BUILD = "reports"  # the name the given reports' build has in the proposal


@contextmanager
def evidence_store(db: str | None, reports: Path | None) -> Iterator[Store]:
    """The store to read: the history as it is, or a scratch copy of it (or an
    empty one) with the reports recorded as its newest build. The history itself
    is never written."""
    if reports is None:
        assert db is not None
        store = open_store(db, create=False)
        try:
            yield store
        finally:
            store.close()
        return
    from testmatrix.history.artifacts import read_artifacts
    from testmatrix.history.ingest import BuildInfo, ingest

    found = read_artifacts(reports, None, {})
    scratch = Path(tempfile.mkdtemp(prefix="testmatrix-propose-"))
    try:
        path = str(scratch / "history.sqlite")
        if db is not None:
            if is_postgres(db):
                raise TestmatrixError(
                    f"{db}: --reports with a PostgreSQL history: ingest the build "
                    "with `testmatrix history ingest` and propose from the history"
                )
            source = open_store(db, create=False)
            try:
                target = sqlite3.connect(path)
                source.conn.backup(target)
                target.close()
            finally:
                source.close()
        store = open_store(path, create=True)
        try:
            ingest(store, BuildInfo(REPORTS_BUILD, date="9999-12-31"), found.jobs)
            yield store
        finally:
            store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def simulated_targets(reports: Path | None) -> set[str]:
    """Targets whose summaries in the reports say they ran on simulated hardware."""
    out: set[str] = set()
    if reports is None:
        return out
    for path in sorted(reports.rglob("summary*.json")):
        data = read_json(path, "testmatrix summary")
        if isinstance(data, dict) and data.get("simulated") is True:
            target = data.get("target") or data.get("platform")
            if isinstance(target, str):
                out.add(target)
    return out


@dataclass
class Proposal:
    edits: list[FileEdit]
    evidence: Evidence

    @property
    def empty(self) -> bool:
        return not any(e.add or e.remove for e in self.edits)


def propose(
    store: Store,
    workspace: Any,
    limits: Thresholds,
    simulated: set[str],
    issue: str,
) -> Proposal:
    """The edits the evidence supports, one FileEdit per skiplist file touched."""
    found = gather(store, workspace, limits, simulated)
    files: dict[Path, FileEdit] = {}
    skiplists = Path(workspace.skiplist_dir)

    def edit_of(path: Path) -> FileEdit:
        if path not in files:
            rel = path.relative_to(skiplists.parent).as_posix()
            old = path.read_text(encoding="utf-8") if path.exists() else None
            files[path] = FileEdit(path, rel, old)
        return files[path]

    for group in failure_groups(found.failing, found.known):
        edit = edit_of(skiplists / "platforms" / f"{group.platform}.toml")
        edit.add.append(entry_text(group, limits.reruns, issue))
    for group in flaky_groups(found.flaky):
        if _has_flaky_entry(workspace, group):
            continue
        edit = edit_of(skiplists / "platforms" / f"{group.platform}.toml")
        edit.add.append(entry_text(group, limits.reruns, issue))
    for stale in found.stale:
        rel, _, line = stale.location.rpartition(":")
        path = skiplists.parent / rel
        if not path.is_file() or not line.isdigit():
            continue  # an entry of another checkout: nothing here to edit
        edit = edit_of(path)
        edit.remove.append((int(line), stale))
        proof = "; ".join(stale.proof)
        edit.notes.append(f"remove {stale.location} [[{stale.kind}]]: {_why(stale)}")
        edit.notes.append(f"  evidence: {proof}")
    for edit in files.values():
        if edit.add:
            edit.notes.insert(0, f"add {len(edit.add)} entries to {edit.rel}")
        if edit.old is None:
            edit.add.insert(0, new_platform_text(edit.path.stem))
    return Proposal(sorted(files.values(), key=lambda e: e.rel), found)


def _why(stale: Any) -> str:
    return {
        "passed": "its tests passed in each of the last builds",
        "quiet_flaky": "no flake in the last builds",
        "no_tests": "none of its tests was reported in the last builds",
    }.get(stale.evidence, stale.evidence)


def _has_flaky_entry(workspace: Any, group: Group) -> bool:
    """Whether the platform already reruns this test (a flaky entry names it)."""
    test = group.items[0]
    platform = workspace.platforms.get(group.platform)
    if platform is None:
        return False
    for entry in platform.entries:
        pattern = getattr(entry, "pattern", None)
        if (
            entry.kind == "flaky"
            and pattern is not None
            and (test.startswith(pattern) or fnmatch.fnmatchcase(test, pattern))
        ):
            return True
    return False


__all__ = ["Proposal", "evidence_store", "propose", "shown_builds"]
