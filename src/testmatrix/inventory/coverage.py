"""Which tests a finding covers, as node id prefixes, and the findings of a test."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from testmatrix.inventory.found import (
    FIXTURE,
    HELPER,
    MODULE,
    UNKNOWN_ID,
    FileInventory,
    InCodeSkip,
)


@dataclass(frozen=True)
class Cover:
    """A finding and one node id prefix it applies to (`param`: one parameter set)."""

    skip: InCodeSkip
    prefix: str
    param: str | None = None

    def matches(self, nodeid: str) -> bool:
        prefix = self.prefix
        if nodeid != prefix and not nodeid.startswith((prefix + "::", prefix + "[")):
            return False
        if self.param is None:
            return True
        if self.param == UNKNOWN_ID:
            return False  # one parameter set of the test, which one is unknown
        ids = nodeid[nodeid.find("[") + 1 : -1] if nodeid.endswith("]") else ""
        param = self.param
        return (
            ids == param
            or ids.startswith(param + "-")
            or ids.endswith("-" + param)
            or f"-{param}-" in ids
        )


def covers(skip: InCodeSkip, files: dict[str, FileInventory]) -> list[Cover]:
    """The node id prefixes a finding applies to: its test, class or module; for a
    fixture, the tests of its file (or, in a conftest.py, of its directory) that
    ask for it, or every one where it is autouse; for a helper, those calling it."""
    if skip.scope == MODULE:
        return [Cover(skip, skip.path)]
    if skip.scope not in (FIXTURE, HELPER):
        return [Cover(skip, f"{skip.path}::{skip.covers}", skip.param)]
    if skip.scope == FIXTURE and posixpath.basename(skip.path) == "conftest.py":
        base = posixpath.dirname(skip.path)
        where = [p for p in files if base == "" or p.startswith(base + "/")]
    else:
        where = [skip.path]
    out = []
    for path in where:
        for qual, args in files[path].tests if path in files else ():
            if skip.autouse or skip.covers in args:
                out.append(Cover(skip, f"{path}::{qual}"))
    return out


class Index:
    """Every cover of a set of files, by file: the findings of one test, fast."""

    def __init__(self, files: Iterable[FileInventory]):
        self.files = {f.path: f for f in files}
        self.by_path: dict[str, list[Cover]] = {}
        for inventory in self.files.values():
            for skip in inventory.skips:
                for cover in covers(skip, self.files):
                    path = cover.prefix.split("::", 1)[0]
                    self.by_path.setdefault(path, []).append(cover)

    def of(self, nodeid: str) -> list[Cover]:
        """The covers that apply to a test."""
        path = nodeid.split("::", 1)[0]
        return [c for c in self.by_path.get(path, ()) if c.matches(nodeid)]

    def tests_of(self, skip: InCodeSkip) -> list[str]:
        """What `inventory` lists as the tests a finding covers."""
        return [
            c.prefix
            + (f"[{c.param}]" if c.param not in (None, UNKNOWN_ID) else "")
            + ("[?]" if c.param == UNKNOWN_ID else "")
            for c in covers(skip, self.files)
        ]
