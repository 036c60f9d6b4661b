"""The inventory of a workspace: every test file read once (by content hash), each
finding evaluated on every target with the GPUs of the suites that run it there."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from testmatrix.core.model import Target, Workspace
from testmatrix.core.session import runs_on
from testmatrix.inventory import evaluate as ev
from testmatrix.inventory.found import FileInventory, InCodeSkip
from testmatrix.inventory.predicates import Config
from testmatrix.inventory.reader import read

TEST_FILES = ("test_*.py", "*_test.py", "conftest.py")
MAX_BYTES = 4 * 1024 * 1024  # a larger "test file" is data, not a test module
_CACHE: dict[tuple[str, str, int], FileInventory] = {}  # (path, sha1, config id)


def test_files(root: Path, paths: Iterable[str]) -> list[str]:
    """The test files (and conftest.py files) at or under workspace-relative paths."""
    found: set[str] = set()
    for rel in paths:
        target = root / rel
        if target.is_file():
            found.add(Path(rel).as_posix())
            continue
        for pattern in TEST_FILES:
            for file in target.rglob(pattern):
                found.add(file.relative_to(root).as_posix())
    return sorted(found)


def read_file(
    root: Path, rel: str, cfg: Config, triggers: tuple[bytes, ...] = ()
) -> FileInventory:
    """One file's inventory; unchanged content is read once per process. With
    `triggers`, a file holding none of them is not parsed: it can have no finding
    (and its tests use no fixture or helper that skips)."""
    try:
        data = (root / rel).read_bytes()
    except OSError as exc:
        return FileInventory(rel, error=f"cannot read: {exc.strerror}")
    if len(data) > MAX_BYTES:
        return FileInventory(rel, error=f"larger than {MAX_BYTES} bytes: not read")
    if triggers and not any(word in data for word in triggers):
        return FileInventory(rel)
    key = (rel, hashlib.sha1(data).hexdigest(), id(cfg))
    cached = _CACHE.get(key)
    if cached is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return FileInventory(rel, error=f"not UTF-8 (byte {exc.start})")
        cached = _CACHE[key] = read(rel, text, cfg)
    return cached


def scan(root: Path, paths: Iterable[str], cfg: Config) -> list[FileInventory]:
    """Every test file under the paths, each parsed (a broken one is reported)."""
    return [read_file(root, rel, cfg) for rel in test_files(root, paths)]


def read_quickly(root: Path, rels: Iterable[str], cfg: Config) -> list[FileInventory]:
    """The files' inventories, parsing only those that can matter: conftest.py
    files, and test files naming a skip, an xfail, a GPU mark, a named skip or a
    fixture or helper of a conftest.py that skips (explain, the plugin and lint
    ask for every collected file; most have no platform skip)."""
    rels = list(rels)
    conftests = [read_file(root, r, cfg) for r in rels if r.endswith("conftest.py")]
    words = {b"skip", b"xfail", b"pytestmark"}
    words |= {name.encode() for name in (*cfg.gpu_marks, *cfg.skips)}
    words |= {s.covers.encode() for f in conftests for s in f.skips if s.covers}
    triggers = tuple(words)
    rest = [
        read_file(root, r, cfg, triggers) for r in rels if not r.endswith("conftest.py")
    ]
    return conftests + rest


def default_paths(workspace: Workspace, cfg: Config) -> list[str]:
    """The configured paths, else every suite's."""
    if cfg.paths is not None:
        return list(cfg.paths)
    return sorted({p for s in workspace.suites.values() for p in s.paths})


@dataclass(frozen=True)
class Verdict:
    """A finding on one target: fires, does-not-fire or depends (and on what)."""

    target: str
    value: str
    depends_on: tuple[str, ...] = ()


def session_gpus(workspace: Workspace, path: str, target: Target) -> set[int]:
    """The GPUs leased by the sessions that can run a file on a target."""
    gpus = set()
    for name in workspace.suites_holding(path):
        suite = workspace.suites[name]
        if runs_on(suite, target) and suite.exclude_for(path) is None:
            gpus.add(suite.gpus if target.platform.hardware != "none" else 0)
    return gpus


def verdict(
    skip: InCodeSkip, cfg: Config, target: Target, gpus: Iterable[int | None]
) -> Verdict:
    """The finding on a target, over every GPU count a session there leases: the
    same answer for each, or depends."""
    values: set[ev.Tri] = set()
    why: dict[str, None] = {}
    for count in gpus:
        where = ev.Where(target.platform.name, target.variant_name, count)
        value, depends = ev.decide(skip.condition, cfg, where)
        values.add(value)
        why.update(dict.fromkeys(depends))
    if len(values) == 1:
        (value,) = values
        return Verdict(target.name, ev.word(value), tuple(why) if value is None else ())
    why.setdefault("which suite runs it (their GPU counts differ)", None)
    return Verdict(target.name, ev.DEPENDS, tuple(why))


def verdicts(
    workspace: Workspace, skip: InCodeSkip, cfg: Config, gpu_path: str | None = None
) -> list[Verdict]:
    """The finding on every target of the workspace; a GPU condition reads the
    GPUs of the suites that run `gpu_path` (default: the finding's file) there."""
    out = []
    for target in workspace.targets():
        gpus: set[int | None] = set(
            session_gpus(workspace, gpu_path or skip.path, target)
        )
        out.append(verdict(skip, cfg, target, gpus or {None}))
    return out
