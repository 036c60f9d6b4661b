"""`testmatrix migrate FILE:LINE`: an in-code platform skip becomes a skiplist entry
(reason kept, platform and variants from its condition) and leaves the test code;
both files' diffs are shown first, `--write` applies them."""

from __future__ import annotations

import difflib
import os
import posixpath
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from testmatrix.config.loader import load_workspace
from testmatrix.core.model import Platform, Target, Workspace
from testmatrix.core.session import runs_on
from testmatrix.errors import TestmatrixError
from testmatrix.inventory import evaluate as ev
from testmatrix.inventory.coverage import Index
from testmatrix.inventory.fates import with_conftests
from testmatrix.inventory.found import (
    FIXTURE,
    GPU_NEED,
    HELPER,
    MODULE,
    PARAM,
    UNKNOWN_ID,
    InCodeSkip,
)
from testmatrix.inventory.predicates import Config, load
from testmatrix.inventory.scan import read_file, test_files, verdict


@dataclass
class Migration:
    """What migrate shows (and, with --write, wrote)."""

    skip: InCodeSkip
    diff: str
    entries: dict[str, str]  # platform file (workspace-relative) -> appended text
    dropped_imports: list[str]
    written: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "skip": self.skip.as_dict(),
            "entries": self.entries,
            "dropped_imports": self.dropped_imports,
            "diff": self.diff,
            "written": self.written,
        }


def toml_string(text: str) -> str:
    """A TOML basic string (the writer's rules: escapes, no raw control characters)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\t", "\\t")
    out = "".join(
        c if ord(c) >= 0x20 and c != "\x7f" else f"\\u{ord(c):04x}" for c in out
    )
    return f'"{out}"'


def _comment(text: str) -> str:
    """Text a TOML comment may hold: no control characters but tab."""
    return "".join(
        c if c == "\t" or (ord(c) >= 0x20 and c != "\x7f") else "?" for c in text
    )


def find(workspace: Workspace, where: str, cfg: Config) -> InCodeSkip:
    """The in-code skip at FILE:LINE (a line anywhere in it)."""
    file, sep, line_text = where.rpartition(":")
    if not sep or not line_text.isdigit():
        raise TestmatrixError(f"'{where}': expected FILE:LINE, e.g. tests/test_x.py:12")
    line = int(line_text)
    path = Path(file)
    root = workspace.root.resolve()
    full = (root / file).resolve()  # as inventory prints it: from the root
    if not full.is_file():
        full = path.resolve()
    if not full.is_file():
        raise TestmatrixError(f"{file}: no such file")
    try:
        rel = full.relative_to(root).as_posix()
    except ValueError:
        raise TestmatrixError(f"{file}: outside the workspace {root}") from None
    inventory = read_file(workspace.root, rel, cfg)
    if inventory.error:
        raise TestmatrixError(f"{rel}: cannot read: {inventory.error}")
    here = [s for s in inventory.skips if s.line <= line <= s.end_line]
    exact = [s for s in here if s.line == line] or here
    if not exact:
        raise TestmatrixError(
            f"{rel}:{line}: no in-code platform skip there (testmatrix inventory "
            f"{rel} lists them)"
        )
    if len(exact) > 1:
        kinds = ", ".join(f"{s.kind} at column {s.col + 1}" for s in exact)
        raise TestmatrixError(
            f"{rel}:{line}: {len(exact)} skips start on this line ({kinds}): put "
            "each on a line of its own first"
        )
    return exact[0]


def places(workspace: Workspace, skip: InCodeSkip, cfg: Config) -> dict[str, list[str]]:
    """Where the skip fires: platform -> [] (the whole platform) or its variants.
    Refuses a condition that depends on something the workspace does not say."""
    out: dict[str, list[str]] = {}
    for platform in workspace.platforms.values():
        whole = verdict(skip, cfg, Target(platform), [None])
        if whole.value == ev.FIRES:
            out[platform.name] = []
            continue
        variants = [Target(platform, v) for v in platform.variants.values()]
        if whole.value == ev.DEPENDS and not variants:
            _depends(whole)
        for target in variants:
            found = verdict(skip, cfg, target, [None])
            if found.value == ev.DEPENDS:
                _depends(found)
            if found.value == ev.FIRES:
                out.setdefault(platform.name, []).append(target.variant_name or "")
    if not out:
        raise TestmatrixError(
            f"{skip.where}: the skip fires on no target: nothing to move"
        )
    return out


def _depends(found: object) -> None:
    on = ", ".join(getattr(found, "depends_on", ()))
    target = getattr(found, "target", "")
    raise TestmatrixError(
        f"the condition depends on {on} on {target}: declare where it holds in "
        "[workspace.inventory] predicates to migrate it"
    )


def entry_text(
    workspace: Workspace,
    skip: InCodeSkip,
    platform: Platform,
    variants: list[str],
    tests: list[str],
    issue: str | None,
) -> str:
    """The entry (or entries: one [[ignore]] per suite of a module skip) to append."""
    reason = skip.reason or f"skipped in code at {skip.where} (no reason given)"
    tail = [f"reason = {toml_string(reason)}"]
    if variants:
        tail.insert(
            0, "variants = [" + ", ".join(toml_string(v) for v in variants) + "]"
        )
    if issue:
        tail.append(f"issue = {toml_string(issue)}")
    head = [
        "",
        f"# moved from the test code by testmatrix migrate ({_comment(skip.where)}):",
        f"#   {_comment(skip.written)}",
    ]
    if skip.scope != MODULE:
        key = (
            f"test = {toml_string(tests[0])}"
            if len(tests) == 1
            else (
                "tests = [\n" + "".join(f"    {toml_string(t)},\n" for t in tests) + "]"
            )
        )
        return "\n".join([*head, "[[deselect]]", key, *tail]) + "\n"
    targets = [Target(platform)]
    if variants:
        targets = [Target(platform, platform.variants[v]) for v in variants]
    blocks = []
    for suite in workspace.suites.values():
        if not suite.holds(skip.path) or suite.exclude_for(skip.path):
            continue
        if not any(runs_on(suite, target) for target in targets):
            continue
        rel = posixpath.relpath(skip.path, suite.base) if suite.base else skip.path
        blocks += ["[[ignore]]", f"suite = {toml_string(suite.name)}"]
        blocks += [f"path = {toml_string(rel)}", *tail, ""]
    if not blocks:
        raise TestmatrixError(
            f"{skip.where}: no suite on {platform.name} runs {skip.path}"
        )
    return "\n".join([*head, *blocks]).rstrip("\n") + "\n"


def covered_tests(workspace: Workspace, skip: InCodeSkip, cfg: Config) -> list[str]:
    """The test ids a [[deselect]] entry names for a skip."""
    if skip.scope == PARAM and skip.param == UNKNOWN_ID:
        raise TestmatrixError(
            f'{skip.where}: the pytest.param\'s id is computed: give it id="..." first'
        )
    if skip.scope not in (FIXTURE, HELPER):
        return Index([]).tests_of(skip)
    files = with_conftests(workspace.root, [skip.path])
    if posixpath.basename(skip.path) == "conftest.py":  # the tests below it
        files += test_files(workspace.root, [posixpath.dirname(skip.path) or "."])
    index = Index(read_file(workspace.root, f, cfg) for f in files)
    tests = index.tests_of(skip)
    if not tests:
        raise TestmatrixError(
            f"{skip.where}: no test of its file uses {skip.scope} {skip.covers}"
        )
    return tests


def migrate(
    workspace: Workspace, where: str, *, issue: str | None = None, write: bool = False
) -> Migration:
    """The migration of the skip at FILE:LINE: diffs always, files with `write`."""
    if issue is not None and not re.fullmatch(r"https?://\S+", issue):
        raise TestmatrixError(
            f"--issue must be a link (http:// or https://), got '{issue}'"
        )
    cfg = load(workspace.skiplist_dir)
    skip = find(workspace, where, cfg)
    if skip.xfail:
        raise TestmatrixError(
            f"{skip.where}: an xfail runs the test and expects it to fail; migrate "
            "moves skips only"
        )
    if skip.kind == GPU_NEED:
        raise TestmatrixError(
            f"{skip.where}: a GPU need is no platform skip: give the suites that run "
            f"it gpus = {skip.gpus or 'N'} instead"
        )
    fires = places(workspace, skip, cfg)
    tests = [] if skip.scope == MODULE else covered_tests(workspace, skip, cfg)
    test_path = workspace.root / skip.path
    before = test_path.read_text(encoding="utf-8")
    from testmatrix.inventory.cstedit import (
        remove,  # libcst: imported where a file is rewritten
    )

    after, dropped = remove(before, skip.line, skip.col)
    entries = {}
    for name, variants in fires.items():
        platform = workspace.platforms[name]
        rel = f"{workspace.skiplist_dir.name}/platforms/{name}.toml"
        entries[rel] = entry_text(workspace, skip, platform, variants, tests, issue)
    _check(workspace, entries)
    diff = _diff(skip.path, before, after)
    for rel, text in entries.items():
        old = (workspace.root / rel).read_text(encoding="utf-8")
        diff += _diff(rel, old, _appended(old, text))
    migration = Migration(skip, diff, entries, dropped)
    if write:
        migration.written = _write(workspace, skip.path, before, after, entries)
    return migration


def _appended(old: str, text: str) -> str:
    return old + ("" if old.endswith("\n") or not old else "\n") + text


def _diff(rel: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"a/{rel}",
        f"b/{rel}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _check(workspace: Workspace, entries: dict[str, str]) -> None:
    """Loads the skiplists with the entries appended, in a copy: nothing invalid is
    ever written."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / workspace.skiplist_dir.name
        shutil.copytree(workspace.skiplist_dir, copy)
        for rel, text in entries.items():
            target = copy / Path(rel).relative_to(workspace.skiplist_dir.name)
            old = target.read_text(encoding="utf-8")
            target.write_text(_appended(old, text), encoding="utf-8")
        try:
            load_workspace(workspace.root, copy, check_paths=False)
        except TestmatrixError as exc:
            # name the real file, not the copy's
            text = str(exc).replace(
                os.path.relpath(copy), os.path.relpath(workspace.skiplist_dir)
            )
            raise TestmatrixError(f"the new entry would not load: {text}") from None


def _write(
    workspace: Workspace,
    test_rel: str,
    before: str,
    after: str,
    entries: dict[str, str],
) -> list[str]:
    """Writes the test file (unchanged since read) and appends the entries, leaving
    every existing byte of the platform files as it was."""
    test_path = workspace.root / test_rel
    if test_path.read_text(encoding="utf-8") != before:
        raise TestmatrixError(f"{test_rel} changed while migrate ran: run it again")
    with open(test_path, "w", encoding="utf-8", newline="") as out:
        out.write(after)
    written = [test_rel]
    for rel, text in entries.items():
        path = workspace.root / rel
        old = path.read_bytes()
        with open(path, "ab") as out:
            if old and not old.endswith(b"\n"):
                out.write(b"\n")
            out.write(text.encode("utf-8"))
        written.append(rel)
    return written
