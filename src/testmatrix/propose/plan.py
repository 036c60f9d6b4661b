"""The proposal: where the evidence comes from (a history, one build's reports, or
both), and the file edits it supports."""

from __future__ import annotations

import fnmatch
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from testmatrix.core.names import NAME_PATTERN
from testmatrix.errors import TestmatrixError
from testmatrix.history.store import Store, is_postgres, open_store
from testmatrix.jsonio import read_json

from .cluster import failure_groups, flaky_groups, split_target
from .edits import FileEdit, entry_header, entry_text, new_platform_text
from .evidence import Evidence, Stale, Thresholds, gather, shown_builds

REPORTS_BUILD = "reports"  # the given reports' build, where its folder has no name


@contextmanager
def evidence_store(
    db: str | None, reports: Path | None, workspace: Any = None
) -> Iterator[Store]:
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
    from testmatrix.history.artifacts import agent_pools, read_artifacts
    from testmatrix.history.ingest import BuildInfo, ingest

    # plain JUnit files' targets from the agent pools their paths name, as ingest
    pools = agent_pools(workspace) if workspace is not None else {}
    found = read_artifacts(reports, None, pools)
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
            # named by its folder (a build's artifacts folder is named by its id); a
            # build the history has already is not counted twice
            name = reports.resolve().name[:100] or REPORTS_BUILD
            ingest(store, BuildInfo(name, date="9999-12-31"), found.jobs)
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
    notes: list[str] = field(default_factory=list)  # what was left out, and why

    @property
    def empty(self) -> bool:
        return not any(e.add or e.remove for e in self.edits)


def propose(
    store: Store,
    workspace: Any,
    limits: Thresholds,
    simulated: set[str] | None,
    issue: str,
) -> Proposal:
    """The edits the evidence supports, one FileEdit per skiplist file touched."""
    found = gather(store, workspace, limits, simulated)
    files: dict[Path, FileEdit] = {}
    skiplists = Path(workspace.skiplist_dir).resolve()

    def edit_of(path: Path) -> FileEdit:
        if path not in files:
            rel = path.relative_to(skiplists.parent).as_posix()
            old = path.read_text(encoding="utf-8") if path.exists() else None
            files[path] = FileEdit(path, rel, old)
        return files[path]

    notes = _named_targets(found)
    found.failing = [f for f in found.failing if _undecided(workspace, f)]
    for group in failure_groups(found.failing, found.known):
        edit = edit_of(skiplists / "platforms" / f"{group.platform}.toml")
        edit.add.append(entry_text(group, limits.reruns, issue))
    found.flaky = [f for f in found.flaky if not _reran_already(workspace, f)]
    for group in flaky_groups(found.flaky, found.known):
        edit = edit_of(skiplists / "platforms" / f"{group.platform}.toml")
        edit.add.append(entry_text(group, limits.reruns, issue))
    for stale, path, header in _stale_tables(workspace, found.stale):
        edit = edit_of(path)
        edit.remove.append((header, stale))
        proof = "; ".join(stale.proof)
        edit.notes.append(f"remove {stale.location} [[{stale.kind}]]: {_why(stale)}")
        edit.notes.append(f"  evidence: {proof}")
    for edit in files.values():
        if edit.add:
            edit.notes.insert(0, f"add {len(edit.add)} entries to {edit.rel}")
        if edit.old is None:
            edit.add.insert(0, new_platform_text(edit.path.stem))
    return Proposal(sorted(files.values(), key=lambda e: e.rel), found, notes)


def _named_targets(found: Evidence) -> list[str]:
    """Drop what a report says of a target that is no platform name (a file name is
    made of it: `../x` must never become a path), and say so."""
    targets = {f.target for f in found.failing} | {f.target for f in found.flaky}
    bad = sorted(
        t for t in targets if not all(NAME_PATTERN.match(p) for p in t.split(":", 1))
    )
    found.failing = [f for f in found.failing if f.target not in bad]
    found.flaky = [f for f in found.flaky if f.target not in bad]
    return [f"target {t!r} is not a platform[:variant] name: left out" for t in bad]


def _undecided(workspace: Any, failing: Any) -> bool:
    """Whether the skiplists as they are now still let this failure run as a plain
    test (an entry added since the history's builds accounts for it otherwise),
    decided by the function the plugin and explain use."""
    from testmatrix.core.fate import FateKind, TestCase
    from testmatrix.core.rules import Rules

    platform_name, variant = split_target(failing.target)
    platform = workspace.platforms.get(platform_name)
    if platform is None:
        return True  # a platform bring-up: no file yet
    if variant is not None and variant not in platform.variants:
        return True
    suite = failing.suite if failing.suite in workspace.suites else None
    rules = Rules(workspace, platform, variant=variant, suite=suite)
    path = failing.test.split("::", 1)[0]
    return rules.fate(TestCase(failing.test, path)).kind is FateKind.RUN


def _stale_tables(
    workspace: Any, stale: list[Stale]
) -> Iterator[tuple[Stale, Path, int]]:
    """Each `[[...]]` table to remove, once: a table naming several tests is one
    entry per test in the model, and goes only when every one of them is stale."""
    root = Path(workspace.skiplist_dir).resolve().parent
    members: dict[tuple[Path, int], set[str]] = {}
    texts: dict[Path, str] = {}
    present: set[str] = set()  # entries whose file is still in the checkout
    reasons: dict[str, str] = {}
    for platform in workspace.platforms.values():
        for entry in platform.entries:
            # the loader names files from the working directory, CI's reports from
            # the workspace root (where its sessions run): compare the latter
            path = (Path.cwd() / entry.location.file).resolve()
            location = f"{path.relative_to(root).as_posix()}:{entry.location.line}"
            if path not in texts:
                texts[path] = path.read_text(encoding="utf-8")
            header = entry_header(texts[path], location, entry.location.line)
            members.setdefault((path, header), set()).add(location)
            if _names_existing(root, entry):
                present.add(location)
            reasons[location] = entry.reason
    # the history cites entries by file:line: one whose reason differs there now was
    # moved or edited since those builds, and is not the entry the evidence is about
    by_location = {}
    for found_stale in stale:
        location = _root_location(root, found_stale.location)
        reason = reasons.get(location)
        if reason is None or _same_reason(found_stale.reason, reason):
            by_location[location] = replace(found_stale, location=location)
    for (path, header), locations in sorted(members.items()):
        found = [by_location[loc] for loc in sorted(locations) if loc in by_location]
        if len(found) != len(locations) or not found:
            continue
        # never in a report, and its file is here: it may be deselected on every
        # target (a crash) rather than gone; a person decides, not the evidence
        if any(
            s.evidence == "no_tests" and not s.reported and s.location in present
            for s in found
        ):
            continue
        yield found[0], path, header


def _root_location(root: Path, location: str) -> str:
    """A history's file:line relative to the workspace root: as CI cites it (from
    the root), or as the loader does (from the working directory)."""
    name, _, line = location.rpartition(":")
    if (root / name).is_file():
        return location
    path = (Path.cwd() / name).resolve()
    if path.is_relative_to(root):
        return f"{path.relative_to(root).as_posix()}:{line}"
    return location


def _same_reason(cited: str, reason: str) -> bool:
    """Whether a report's reason is this entry's: reports of flaky reruns cite it
    with its issue link after it."""
    return cited == reason or cited.startswith(f"{reason} (")


def _names_existing(root: Path, entry: Any) -> bool:
    """Whether the file an ignore or deselect entry names exists in the checkout."""
    named = getattr(entry, "target", None) or getattr(entry, "nodeid", None)
    if not isinstance(named, str) or not named:
        return True  # a skip by marker or a flaky glob: not judged by files
    return (root / named.split("::", 1)[0].split("[", 1)[0]).exists()


def _why(stale: Any) -> str:
    return {
        "passed": "its tests passed in each of the last builds",
        "quiet_flaky": "no flake in the last builds",
        "no_tests": "none of its tests was reported in the last builds",
    }.get(stale.evidence, stale.evidence)


def _reran_already(workspace: Any, flake: Any) -> bool:
    """Whether the platform already reruns this test (a flaky entry names it)."""
    test = flake.test
    platform = workspace.platforms.get(split_target(flake.target)[0])
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
