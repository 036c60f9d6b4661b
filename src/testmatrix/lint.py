"""Lint: every skiplist entry must still match something, and every test must be decidable.

Each finding is one line that starts with the skiplist file:line it concerns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .model import Entry, IgnoreEntry, SkipEntry, Workspace
from .plan import Fate, FateKind, Rules, TestCase


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    where: str  # skiplist file:line
    message: str
    dead: bool = False  # the entry matches nothing

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}"


def config_findings(error: ConfigError) -> list[Finding]:
    return [
        Finding("error", f"{p.file}:{p.line}" if p.line else p.file, p.message)
        for p in error.problems
    ]


def entry_findings(workspace: Workspace, today: dt.date | None = None) -> list[Finding]:
    """What can be said from the skiplists and file names alone (no test is imported)."""
    today = today or dt.date.today()
    out = []
    for platform in workspace.platforms.values():
        for entry in platform.entries:
            if entry.expires and entry.expires < today:
                out.append(
                    Finding(
                        "error",
                        str(entry.location),
                        f"{entry.kind} entry expired on {entry.expires}: {entry.reason}",
                    )
                )
            if not entry.issue:
                out.append(
                    Finding(
                        "warning",
                        str(entry.location),
                        f"{entry.kind} entry has no issue link",
                    )
                )
        for entry in platform.ignores:
            target = workspace.root / entry.target
            files = (
                [target]
                if target.is_file()
                else sorted(target.rglob("test_*.py"))
                + sorted(target.rglob("*_test.py"))
            )
            if not any(_defines_tests(f) for f in files):
                out.append(
                    Finding(
                        "error",
                        str(entry.location),
                        f"ignore of '{entry.target}' matches no file that defines tests (dead entry)",
                        dead=True,
                    )
                )
    return out


def _defines_tests(path: Path) -> bool:
    """Whether a file defines a test function or class, read without importing it."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError):
        return True  # cannot tell: collection will say
    return any(
        (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name.startswith("test")
        )
        or (isinstance(node, ast.ClassDef) and node.name.startswith("Test"))
        for node in ast.walk(tree)
    )


def collected_findings(workspace: Workspace, cases: list[TestCase]) -> list[Finding]:
    """What needs the collected tests: dead entries, wasteful ignores, unmarked or
    undecidable tests."""
    out: list[Finding] = []
    for platform in workspace.platforms.values():
        rules = {s: Rules(workspace, platform, suite=s) for s in workspace.suites}
        used: set[Entry] = set()
        by_file: dict[str, list[Fate]] = {}
        for case in cases:
            for suite in workspace.suites_holding(case.path):
                fate = rules[suite].fate(case)
                used.update(
                    e for e in (fate.entry, fate.rerun and fate.rerun.entry) if e
                )
                by_file.setdefault(case.path, []).append(fate)
                if fate.kind is FateKind.ERROR:
                    marker = (
                        fate.entry.marker if isinstance(fate.entry, SkipEntry) else ""
                    )
                    out.append(
                        Finding(
                            "error",
                            str(fate.entry.location if fate.entry else ""),
                            f"{case.nodeid} is marked '{marker}' but names no model; "
                            f'name it: @pytest.mark.{marker}(model="...")',
                        )
                    )
                elif fate.kind is FateKind.RUN:
                    out += _unmarked(rules[suite], case)
        for entry in platform.entries:
            if entry not in used:
                out.append(
                    Finding(
                        "error",
                        str(entry.location),
                        f"{entry.kind} entry {entry.subject} matches no collected test "
                        f"on {platform.name} (dead entry)",
                        dead=True,
                    )
                )
        for ignore in platform.ignores:
            thrown = _runnable_inside(ignore, cases, rules[ignore.suite])
            if thrown:
                models = sorted({m for _, ms in thrown for m in ms})
                out.append(
                    Finding(
                        "warning",
                        str(ignore.location),
                        f"ignore of '{ignore.target}' throws away {len(thrown)} tests "
                        f"that would run on {platform.name} (models not on its "
                        f"skiplist: {', '.join(models)}); mark the encoder tests instead",
                    )
                )
        for path, fates in sorted(by_file.items()):
            if {fate.kind for fate in fates} == {FateKind.SKIPPED}:
                out.append(
                    Finding(
                        "warning",
                        str(fates[0].entry.location if fates[0].entry else ""),
                        f"all {len(fates)} tests of {path} are skipped on "
                        f"{platform.name} by model entries; a file-level [[ignore]] "
                        "would skip collecting it",
                    )
                )
    return out


def _unmarked(rules: Rules, case: TestCase) -> list[Finding]:
    markers = {use.name for use in case.markers}
    return [
        Finding(
            "error",
            str(entry.location),
            f"{case.nodeid} uses {model} but lacks @pytest.mark.{entry.marker}: "
            f"it would fail on {entry.platform}",
        )
        for entry, model in rules.listed(case.params)
        if entry.marker not in markers
    ]


def _runnable_inside(
    entry: IgnoreEntry, cases: list[TestCase], rules: Rules
) -> list[tuple[TestCase, tuple[str, ...]]]:
    """Tests in an ignored path whose models are all determinable and none is listed
    for the platform."""
    out = []
    for case in cases:
        if rules.ignore_for(case.path) is not entry:
            continue
        models = rules.models_in(case)
        if models and not rules.listed(models):
            out.append((case, models))
    return out


def lint(
    workspace_root: Path, *, paths_only: bool = False
) -> tuple[list[Finding], int]:
    """(findings, number of tests looked at); tests are collected unless paths_only."""
    from .config import load_workspace

    try:
        workspace = load_workspace(workspace_root)
        missing: list[Finding] = []
    except ConfigError as exc:
        try:  # if only paths are missing, say so and lint everything else too
            workspace = load_workspace(workspace_root, check_paths=False)
        except ConfigError:
            return config_findings(exc), 0
        missing = config_findings(exc)
    findings = entry_findings(workspace)
    tests = 0
    if not paths_only:
        from .collect import collect

        suites = sorted(
            {
                s.path
                for s in workspace.suites.values()
                if (workspace.root / s.path).is_dir()
            }
        )
        if suites:
            collected = collect(workspace, suites)
            findings += [Finding("error", "collection", e) for e in collected.errors]
            findings += collected_findings(workspace, collected.cases)
            tests = len(collected.cases)
    # an entry whose path is missing matches nothing either: one finding for it is enough
    gone = {f.where for f in missing}
    return missing + [f for f in findings if not (f.dead and f.where in gone)], tests
