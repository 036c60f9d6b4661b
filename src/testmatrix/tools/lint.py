"""Lint: every entry still matches something, every test is decidable, and on every
target each test is selected by exactly one suite.

Each finding is one line that starts with the skiplist file:line it concerns.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from testmatrix.core.fate import Fate, FateKind, TestCase
from testmatrix.core.jobrules import AnyRunRules, entry_rules, suite_rules
from testmatrix.core.model import IgnoreEntry, SkipEntry, Suite, Target, Workspace
from testmatrix.core.rules import Rules
from testmatrix.core.session import runs_on
from testmatrix.errors import ConfigError

TEST_FILES = ("test_*.py", "*_test.py")


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


def _test_files(root: Path, path: str) -> list[str]:
    """The test files at or under a workspace-relative path, workspace-relative."""
    target = root / path
    if target.is_file():
        return [path]
    found = {f for pattern in TEST_FILES for f in target.rglob(pattern)}
    return sorted(f.relative_to(root).as_posix() for f in found)


def entry_findings(workspace: Workspace, today: dt.date | None = None) -> list[Finding]:
    """What the skiplists and file names alone say (no test is imported)."""
    today = today or dt.date.today()
    out = []
    for platform in workspace.platforms.values():
        for entry in platform.entries:
            where = str(entry.location)
            if entry.expires and entry.expires < today:
                message = (
                    f"{entry.kind} entry expired on {entry.expires}: {entry.reason}"
                )
                out.append(Finding("error", where, message))
            if not entry.issue:
                out.append(
                    Finding("warning", where, f"{entry.kind} entry has no issue link")
                )
        for ignore in platform.ignores:
            files = _test_files(workspace.root, ignore.target)
            if not any(_defines_tests(workspace.root / f) for f in files):
                message = (
                    f"ignore of '{ignore.target}' matches no file that defines tests "
                    "(dead entry)"
                )
                out.append(Finding("error", str(ignore.location), message, dead=True))
    return out


def _defines_tests(path: Path) -> bool:
    """Whether a file defines a test function or class, read without importing it."""
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


def _suite_rules(
    workspace: Workspace, target: Target
) -> dict[str, Rules | AnyRunRules]:
    """Each suite that has a session on the target, with its rules there (a suite of
    several runs selects a test when any run does)."""
    return {
        suite.name: suite_rules(
            workspace, target.platform, target.variant_name, suite.name
        )
        for suite in workspace.suites.values()
        if runs_on(suite, target)
    }


def collected_findings(workspace: Workspace, cases: list[TestCase]) -> list[Finding]:
    """What needs the collected tests: dead entries, wasteful ignores, unmarked or
    undecidable tests, and tests that no suite or two suites select."""
    out: dict[str, Finding] = {}  # by text: variants repeat the platform's findings

    def add(finding: Finding) -> None:
        out.setdefault(str(finding), finding)

    used: set[int] = set()  # ids of the entries some fate names (entries live on)
    by_path: dict[str, list[TestCase]] = {}  # the tests of each file, in order
    for case in cases:
        by_path.setdefault(case.path, []).append(case)
    for target in workspace.targets():
        rules = _suite_rules(workspace, target)
        by_file: dict[str, list[Fate]] = {}
        lost: dict[str, list[TestCase]] = {}
        twice: dict[tuple[str, tuple[str, ...]], int] = {}
        for path, tests in by_path.items():
            held = [s for s in workspace.suites_holding(path) if s in rules]
            if not held:
                continue  # no suite of this target reaches the file
            elsewhere = None  # whether a suite of another target takes the file
            for case in tests:
                selected = _decide(case, held, rules, used, by_file, add)
                if not selected:
                    if elsewhere is None:
                        elsewhere = _elsewhere(workspace, path, rules)
                    if not elsewhere:
                        lost.setdefault(path, []).append(case)
                elif len(selected) > 1:
                    key = (path, tuple(selected))
                    twice[key] = twice.get(key, 0) + 1
        for finding in _coverage(workspace, target, lost, twice):
            add(finding)
        for path, fates in sorted(by_file.items()):
            if {fate.kind for fate in fates} == {FateKind.SKIPPED} and fates[0].entry:
                add(
                    Finding(
                        "warning",
                        str(fates[0].entry.location),
                        f"all {len(fates)} tests of {path} are skipped on "
                        f"{target.name} by model entries; a file-level [[ignore]] "
                        "would skip collecting it",
                    )
                )
    carried = {use.name for case in cases for use in case.markers}
    for platform in workspace.platforms.values():
        for entry in platform.entries:
            if isinstance(entry, SkipEntry) and entry.marker not in carried:
                # the plugin registers the marker, so runs go on; the entry is
                # still dead (a typo, or a marker the project dropped)
                add(
                    Finding(
                        "error",
                        str(entry.location),
                        f"skip entry names marker '{entry.marker}', which no "
                        "collected test carries (misspelt, or no longer used?)",
                        dead=True,
                    )
                )
                continue
            if id(entry) not in used:
                on = platform.name
                if entry.variants:
                    on += f" ({', '.join(entry.variants)})"
                add(
                    Finding(
                        "error",
                        str(entry.location),
                        f"{entry.kind} entry {entry.subject} matches no collected test "
                        f"on {on} (dead entry)",
                        dead=True,
                    )
                )
        for ignore in platform.ignores:
            for finding in _wasteful(workspace, ignore, by_path):
                add(finding)
    return list(out.values())


def _decide(
    case: TestCase,
    held: list[str],
    rules: dict[str, Rules | AnyRunRules],
    used: set[int],
    by_file: dict[str, list[Fate]],
    add: Callable[[Finding], None],
) -> list[str]:
    """One test's fate in each suite holding it on a target: notes the entries
    used and what is wrong with the test; returns the suites that select it."""
    selected = []
    for suite in held:
        fate = rules[suite].fate(case)
        if fate.entry is not None:
            used.add(id(fate.entry))
        if fate.rerun is not None and fate.rerun.entry is not None:
            used.add(id(fate.rerun.entry))
        if fate.kind is FateKind.NOT_IN_SUITE:
            continue
        selected.append(suite)
        by_file.setdefault(case.path, []).append(fate)
        overlap = entry_rules(rules[suite]).overlap(case)
        if overlap is not None:
            keeps, expects = overlap
            used.add(id(expects))  # matched, and overridden: not a dead entry
            add(
                Finding(
                    "warning",
                    str(expects.location),
                    f"{case.nodeid}: this {expects.kind} expects it to fail, but the "
                    f"{keeps.kind} at {keeps.location} keeps it from running, which "
                    "wins: the expectation is never checked; remove one of them",
                )
            )
        if isinstance(fate.no_model, SkipEntry):
            used.add(id(fate.no_model))
            marker = fate.no_model.marker
            add(
                Finding(
                    "error",
                    str(fate.no_model.location),
                    f"{case.nodeid} is marked '{marker}' but names no model; "
                    f'name it: @pytest.mark.{marker}(model="...")',
                )
            )
        elif fate.kind is FateKind.RUN and case.params:
            for finding in _unmarked(entry_rules(rules[suite]), case):
                add(finding)
    return selected


def _coverage(
    workspace: Workspace,
    target: Target,
    lost: dict[str, list[TestCase]],
    twice: dict[tuple[str, tuple[str, ...]], int],
) -> Iterable[Finding]:
    """A file at a time: tests no suite selects (a split directory whose piece was
    forgotten), and tests two suites select (run twice)."""
    for path, tests in sorted(lost.items()):
        holders = [workspace.suites[s] for s in workspace.suites_holding(path)]
        names = ", ".join(s.name for s in holders)
        yield Finding(
            "error",
            str(holders[0].location),
            f"{len(tests)} tests of {path} are selected by no suite on {target.name}: "
            f"left out by {names} (excludes, -m or -k), and no other suite runs them",
        )
    for (path, suites), count in sorted(twice.items()):
        first = workspace.suites[suites[0]]
        yield Finding(
            "error",
            str(first.location),
            f"{count} tests of {path} are selected by suites {' and '.join(suites)} "
            f"on {target.name}: they run twice",
        )


def _elsewhere(workspace: Workspace, path: str, here: Iterable[str]) -> bool:
    """Whether a suite with no session on this target takes the file: its tests are
    accounted for by a platform-specific suite, whose absence says why."""
    return any(
        suite.holds(path) and suite.exclude_for(path) is None
        for suite in workspace.suites.values()
        if suite.name not in here
    )


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


def _wasteful(
    workspace: Workspace, ignore: IgnoreEntry, by_path: dict[str, list[TestCase]]
) -> list[Finding]:
    """An ignore that throws away tests whose models are all known and none listed."""
    platform = workspace.platforms[ignore.platform]
    variant = ignore.variants[0] if ignore.variants else None
    rules = Rules(workspace, platform, variant=variant, suite=ignore.suite)
    thrown = []
    under = ignore.target + "/"
    for path, tests in by_path.items():
        if path != ignore.target and not path.startswith(under):
            continue  # not under the ignored path: the only ones it can throw away
        if rules.ignore_for(path) is not ignore:
            continue
        for case in tests:
            models = tuple(model for model, _ in rules.models_in(case))
            if models and not rules.listed(models):
                thrown.append(models)
    if not thrown:
        return []
    names = sorted({m for ms in thrown for m in ms})
    return [
        Finding(
            "warning",
            str(ignore.location),
            f"ignore of '{ignore.target}' throws away {len(thrown)} tests that would "
            f"run on {platform.name} (models not on its skiplist: "
            f"{', '.join(names)}); mark the encoder tests instead",
        )
    ]


def path_findings(workspace: Workspace) -> list[Finding]:
    """Coverage and overlap at file level, without importing any test: each test file
    under a target's suites must be selected by one suite. A suite with -m or -k
    selects part of a file: it covers the file but is not counted as an overlap."""
    out: dict[str, Finding] = {}
    files: dict[str, list[Suite]] = {}
    for suite in workspace.suites.values():
        for path in suite.paths:
            for file in _test_files(workspace.root, path):
                files.setdefault(file, []).append(suite)
    for target in workspace.targets():
        for file, holders in sorted(files.items()):
            here = [s for s in holders if runs_on(s, target)]
            if not here:
                continue
            taking = [s for s in here if s.exclude_for(file) is None]
            if not taking and not _elsewhere(workspace, file, {s.name for s in here}):
                names = ", ".join(s.name for s in here)
                finding = Finding(
                    "error",
                    str(here[0].location),
                    f"{file} is selected by no suite on {target.name}: excluded by "
                    f"{names}, and no other suite runs it",
                )
                out.setdefault(str(finding), finding)
            whole = [s for s in taking if not (s.markexpr or s.keyword)]
            if len(whole) > 1:
                names = " and ".join(s.name for s in whole)
                finding = Finding(
                    "error",
                    str(whole[0].location),
                    f"{file} is selected by suites {names} on {target.name}: "
                    "its tests run twice",
                )
                out.setdefault(str(finding), finding)
    return list(out.values())


def _self_skips(workspace: Workspace, cases: list[TestCase] | None) -> list[Finding]:
    """GPU needs no suite meets, and tests a platform leaves out unexplained (with
    no collected tests: the GPU needs, file by file)."""
    from testmatrix.inventory import selfskip

    try:
        if cases is None:
            found = selfskip.path_gpu_findings(workspace)
        else:
            found = selfskip.findings(workspace, cases)
    except ConfigError as exc:
        return config_findings(exc)
    return [Finding(p.severity, p.where, p.message) for p in found]


def lint(
    workspace_root: Path, *, paths_only: bool = False
) -> tuple[list[Finding], int]:
    """(findings, number of tests looked at); tests are collected unless paths_only."""
    from testmatrix.config.loader import load_workspace

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
    if paths_only:
        findings += path_findings(workspace)
        findings += _self_skips(workspace, None)
    else:
        from testmatrix.tools.collect import collect

        root = workspace.root
        paths = {p for s in workspace.suites.values() for p in s.paths}
        present = [p for p in paths if (root / p).exists()]
        if present:
            collected = collect(workspace, present)
            findings += [Finding("error", "collection", e) for e in collected.errors]
            findings += collected_findings(workspace, collected.cases)
            findings += _self_skips(workspace, collected.cases)
            tests = len(collected.cases)
    # an entry whose path is missing matches nothing either: one finding is enough
    gone = {f.where for f in missing}
    return missing + [f for f in findings if not (f.dead and f.where in gone)], tests
