"""The inventory's word in explain and in the plugin's summary: a test that runs
by the skiplists but skips itself in code on a target."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from testmatrix.core.fate import Fate, FateKind
from testmatrix.core.model import Target, Workspace
from testmatrix.errors import TestmatrixError
from testmatrix.inventory import evaluate as ev
from testmatrix.inventory.coverage import Index
from testmatrix.inventory.found import InCodeSkip
from testmatrix.inventory.predicates import Config, load
from testmatrix.inventory.scan import read_quickly, verdict


def with_conftests(root: Path, paths: Iterable[str]) -> list[str]:
    """Test files and every conftest.py above them (their fixtures may skip)."""
    out: dict[str, None] = {}
    for path in paths:
        out[path] = None
        parent = posixpath.dirname(path)
        while True:
            conftest = (
                posixpath.join(parent, "conftest.py") if parent else "conftest.py"
            )
            if (root / conftest).is_file():
                out[conftest] = None
            if not parent:
                break
            parent = posixpath.dirname(parent)
    return list(out)


def index_for(workspace: Workspace, paths: Iterable[str], cfg: Config) -> Index:
    files = with_conftests(workspace.root, sorted(set(paths)))
    return Index(read_quickly(workspace.root, files, cfg))


def describe(skip: InCodeSkip) -> str:
    what = "expected to fail" if skip.xfail else "skipped"
    reason = f": {skip.reason}" if skip.reason else ""
    return f"{what} in code ({skip.kind}) at {skip.where}{reason}"


def in_code(
    workspace: Workspace, rows: Sequence[Any], cfg: Config | None = None
) -> list:
    """explain's rows, where a test that runs by the skiplists skips itself in code:
    the fate 'skipped-in-code' with the skip's file:line where it fires, a note where
    it may (it depends on something the skiplists do not say)."""
    cfg = cfg or load(workspace.skiplist_dir)
    index = index_for(workspace, (row.test.path for row in rows), cfg)
    targets = {t.name: t for t in workspace.targets()}
    out = []
    for row in rows:
        fate = row.fate
        covers = index.of(row.test.nodeid) if fate.kind is FateKind.RUN else []
        if covers:
            suite = workspace.suites.get(row.suite)
            gpus = suite.gpus if suite is not None else None
            fate = decide(
                fate, [c.skip for c in covers], cfg, targets[row.target], gpus
            )
        out.append(row if fate is row.fate else row._replace(fate=fate))
    return out


def decide(
    fate: Fate, skips: list[InCodeSkip], cfg: Config, target: Target, gpus: int | None
) -> Fate:
    """A running test's fate after its in-code skips on one target and suite."""
    notes = []
    if target.platform.hardware == "none":
        gpus = 0  # a platform without GPUs
    for skip in skips:
        found = verdict(skip, cfg, target, [gpus])
        if found.value == ev.FIRES and skip.skips:
            return Fate(FateKind.SKIPPED_IN_CODE, fate.platform, message=describe(skip))
        if found.value == ev.FIRES:
            notes.append(describe(skip))
        elif found.value == ev.DEPENDS:
            on = ", ".join(found.depends_on)
            notes.append(f"may be {describe(skip)} (depends on {on})")
    if not notes:
        return fate
    message = "; ".join(filter(None, [fate.message, *notes]))
    return replace(fate, message=message)


class SkipSorter:
    """Tells, at report time, whether a test's skip is an in-code platform skip of
    the inventory: its file's inventory has a skip covering the test (or one at
    the skip's own line) that fires or may fire on the run's target."""

    def __init__(self, workspace: Workspace, target: Target | None):
        self.workspace, self.target = workspace, target
        self.cfg: Config | None = None
        self.indexes: dict[str, Index] = {}

    def in_code(self, nodeid: str, location: tuple[str, int] | None) -> bool:
        path = nodeid.split("::", 1)[0]
        if self.cfg is None:
            self.cfg = load(self.workspace.skiplist_dir)
        index = self.indexes.get(path)
        if index is None:
            index = self.indexes[path] = index_for(self.workspace, [path], self.cfg)
        skips = [c.skip for c in index.of(nodeid)]
        if location is not None:
            file, line = location
            for inventory in index.files.values():
                if inventory.path == file or file.endswith("/" + inventory.path):
                    skips += [
                        s for s in inventory.skips if s.line <= line <= s.end_line
                    ]
        return any(self._may_fire(s) for s in skips if s.skips)

    def _may_fire(self, skip: InCodeSkip) -> bool:
        if self.target is None or self.cfg is None:
            return True
        found = verdict(skip, self.cfg, self.target, [None])
        return found.value != ev.QUIET


def skipped_in_code(state: Any, nodeid: str, longrepr: object) -> bool:
    """The plugin's question, on its State: is this skip an in-code platform skip?"""
    rules = state.rules
    if rules.platform is None:
        return False
    if state.sorter is None:
        variant = rules.platform.variants.get(rules.variant) if rules.variant else None
        state.sorter = SkipSorter(state.workspace, Target(rules.platform, variant))
    location = None
    if isinstance(longrepr, (tuple, list)) and len(longrepr) == 3:  # xdist: a list
        location = (str(longrepr[0]).replace("\\", "/"), int(longrepr[1]))
    try:
        return bool(state.sorter.in_code(nodeid, location))
    except TestmatrixError:
        return False  # a broken [workspace.inventory]: inventory and lint say so
