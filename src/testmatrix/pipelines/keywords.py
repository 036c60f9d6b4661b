"""A platform's extra `-k "not NAME"` as the tests it leaves out, where that is sure.

When a command on one platform adds `-k "not A and not B"` to a twin on another
platform (the same paths, no -k), the difference is a platform's, not a suite's: the
import turns it into --deselect ids, which become that platform's [[deselect]]
entries. pytest's -k matches NAME, without case, inside the names of an item and its
parents, its marks and its parametrize ids; the import reads the selected files (with
`ast`, never importing them) and converts only where it can be sure those are the same
tests: NAME is in no selected path, appears in each file only on the `def`/`class` lines
of tests it names, and in no conftest.py above them. Otherwise the command keeps its -k
(an override of the suite on that platform, `on.rocm`) and a note says why.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import replace
from pathlib import Path

from testmatrix.ci.shell import read_pytest
from testmatrix.pipelines.common import Reading
from testmatrix.vllm.jobs import Command, FlagSite
from testmatrix.vllm.proof import Files

TERM = re.compile(r"^not\s+([A-Za-z_][A-Za-z0-9_]*)$")
MAX_FILE = 2 * 1024 * 1024  # a test file larger than this is not read


class Unsure(Exception):
    """Why a -k cannot be turned into deselects."""


def convert(reading: Reading, checkout: Path, root: str) -> None:
    """Turn each sure extra `-k "not NAME"` of a command into --deselect ids."""
    files = Files(checkout)
    commands = [(j, c) for j in reading.jobs for c in j.pytest if c.call]
    for index, job in enumerate(reading.jobs):
        changed = False
        out: list[Command] = []
        notes = list(job.notes)
        for command in job.commands:
            new = command
            if command.kind == "pytest" and command.call and command.call.keyword:
                twins = [
                    c
                    for j, c in commands
                    if j.platform != job.platform
                    and c.call
                    and c.call.keyword is None
                    and _paths(c, root) == _paths(command, root)
                ]  # its --ignore flags may differ: the planner decides those
                if twins:
                    try:
                        new, note = _deselects(command, checkout, root, files)
                    except Unsure as exc:
                        note = (
                            f"-k '{command.call.keyword}' (line {command.line}) stays "
                            f"a -k, the platform's override of the suite: {exc}"
                        )
                    notes.append(note)
                    changed = True
            out.append(new)
        if changed:
            reading.jobs[index] = replace(job, commands=tuple(out), notes=tuple(notes))


def _paths(command: Command, root: str) -> tuple[str, ...] | None:
    if command.cwd is None or command.call is None:
        return None
    return tuple(
        sorted(
            _relative(posixpath.join(command.cwd, p), root) for p in command.call.paths
        )
    )


def _relative(path: str, root: str) -> str:
    return posixpath.relpath(posixpath.normpath(path), root)


def _deselects(
    command: Command, checkout: Path, root: str, files: Files
) -> tuple[Command, str]:
    """The command with its -k as deselects, and the note that says so."""
    assert command.call is not None and command.cwd is not None
    keyword = command.call.keyword or ""
    names = [TERM.match(t.strip()) for t in re.split(r"\s+and\s+", keyword)]
    if not all(names):
        raise Unsure("only 'not NAME' terms joined by 'and' are read")
    paths = tuple(
        _relative(posixpath.join(command.cwd, p), root) for p in command.call.paths
    )
    if any(p.startswith("..") or "::" in p for p in paths):
        raise Unsure("its paths are outside the checkout or name tests")
    ignores = tuple(
        _relative(posixpath.join(command.cwd, p), root) for p in command.call.ignores
    )
    selected = sorted(f for f in files.selected(paths, ignores) if f.endswith(".py"))
    ids: list[str] = []
    for found in names:
        assert found is not None
        ids += _tests_named(found.group(1), selected, checkout)
    written = [_written(i, command.cwd, root) for i in ids]
    argv = [*_without_k(command.argv), *(a for w in written for a in ("--deselect", w))]
    sites = tuple(FlagSite(w, command.line, command.comment) for w in written)
    new = replace(
        command,
        argv=tuple(argv),
        call=read_pytest(argv),
        flags=(*command.flags, *sites),
    )
    shown = ", ".join(ids) if ids else "none"
    note = (
        f"-k '{keyword}' (line {command.line}) became --deselect of the tests it "
        f"names in the {len(selected)} files it selects: {shown}"
    )
    return new, note


def _tests_named(name: str, selected: list[str], checkout: Path) -> list[str]:
    """The node ids of the tests whose names hold `name` (pytest's -k, without case);
    Unsure where something else could hold it."""
    wanted = name.lower()
    for rel in selected:
        parts = [*rel.split("/"), checkout.resolve().name]
        if any(wanted in p.lower() for p in parts):
            raise Unsure(f"'{name}' is in the path {rel}: -k matches it there too")
    ids: list[str] = []
    checked: set[Path] = set()
    for rel in selected:
        path = checkout / rel
        text = _text(path, rel)
        if wanted not in text.lower():
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            raise Unsure(f"{rel}:{exc.lineno}: not Python") from None
        found, lines = _defs(tree, wanted, rel)
        for number, line in enumerate(text.splitlines(), 1):
            if wanted in line.lower() and number not in lines:
                raise Unsure(
                    f"'{name}' appears at {rel}:{number} beyond a test's name: a mark, "
                    "a parametrize id or a call may carry it"
                )
        ids += found
    for rel in selected:
        for parent in (checkout / rel).parents:
            conftest = parent / "conftest.py"
            if conftest in checked or not str(parent).startswith(str(checkout)):
                continue
            checked.add(conftest)
            if conftest.is_file() and wanted in _text(conftest, rel).lower():
                raise Unsure(f"'{name}' appears in {conftest.relative_to(checkout)}")
    return ids


def _defs(tree: ast.Module, wanted: str, rel: str) -> tuple[list[str], set[int]]:
    """(node ids, lines) of the tests and test classes whose names hold `wanted`."""
    ids: list[str] = []
    lines: set[int] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name.startswith("test") and wanted in node.name.lower():
                ids.append(f"{rel}::{node.name}")
                lines.add(node.lineno)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            if wanted in node.name.lower():
                ids.append(f"{rel}::{node.name}")
                lines.add(node.lineno)
                lines.update(
                    m.lineno
                    for m in node.body
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                )
                continue
            for method in node.body:
                if (
                    isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and wanted in method.name.lower()
                    and method.name.startswith("test")
                ):
                    ids.append(f"{rel}::{node.name}::{method.name}")
                    lines.add(method.lineno)
    return ids, lines


def _text(path: Path, rel: str) -> str:
    try:
        if path.stat().st_size > MAX_FILE:
            raise Unsure(f"{rel}: larger than {MAX_FILE} bytes")
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise Unsure(f"{rel}: cannot read: {exc.strerror}") from None


def _written(nodeid: str, cwd: str, root: str) -> str:
    """A checkout-relative node id as the command would write it, from its cwd."""
    file, sep, rest = nodeid.partition("::")
    return posixpath.relpath(posixpath.join(root, file), cwd) + sep + rest


def _without_k(argv: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "-k":
            skip = True
        elif not arg.startswith("-k"):
            out.append(arg)
    return out
