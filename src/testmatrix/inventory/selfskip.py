"""Self-skips found before CI runs (for `testmatrix lint`): tests whose GPU need
exceeds every suite that selects them on a target, and tests one platform runs
that another never schedules with nothing saying why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from testmatrix.core.fate import Fate, FateKind, TestCase
from testmatrix.core.model import Target, Workspace
from testmatrix.core.rules import Rules
from testmatrix.core.session import runs_on
from testmatrix.inventory import evaluate as ev
from testmatrix.inventory.coverage import Index
from testmatrix.inventory.fates import index_for
from testmatrix.inventory.found import InCodeSkip
from testmatrix.inventory.predicates import Config, load
from testmatrix.inventory.scan import default_paths, scan, verdict

# a suite selects a test where its fate is one of these (it is scheduled there)
SCHEDULED = frozenset(
    {FateKind.RUN, FateKind.SKIPPED, FateKind.EXPECTED_FAIL, FateKind.ERROR}
)
LOTS = 1 << 20  # GPUs enough for any test: does a skip fire without its GPU part?


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning", as lint's findings
    where: str  # file:line
    message: str


def _fates(
    workspace: Workspace, cases: list[TestCase], target: Target
) -> dict[str, dict[str, Fate]]:
    """Each test's fate in every suite of the target that holds its file."""
    rules = {
        s.name: Rules(
            workspace, target.platform, variant=target.variant_name, suite=s.name
        )
        for s in workspace.suites.values()
        if runs_on(s, target)
    }
    out: dict[str, dict[str, Fate]] = {}
    for case in cases:
        held = [s for s in workspace.suites_holding(case.path) if s in rules]
        out[case.nodeid] = {s: rules[s].fate(case) for s in held}
    return out


def findings(
    workspace: Workspace, cases: list[TestCase], cfg: Config | None = None
) -> list[Problem]:
    cfg = cfg or load(workspace.skiplist_dir)
    fates = {t: _fates(workspace, cases, t) for t in workspace.targets()}
    return gpu_findings(workspace, cases, cfg, fates) + unscheduled_findings(
        workspace, cases, fates
    )


def gpu_findings(
    workspace: Workspace,
    cases: list[TestCase],
    cfg: Config,
    fates: dict[Target, dict[str, dict[str, Fate]]],
) -> list[Problem]:
    """Tests whose GPU need no suite that selects them on a target meets."""
    index = index_for(workspace, (c.path for c in cases), cfg)
    groups: Groups = {}
    for case in cases:
        needs = [c.skip for c in index.of(case.nodeid) if c.skip.gpus and c.skip.skips]
        for skip in needs:
            for target, by_test in fates.items():
                selecting = [
                    s for s, f in by_test[case.nodeid].items() if f.kind in SCHEDULED
                ]
                leases = _short(workspace, skip, cfg, target, selecting)
                if leases:
                    _note(
                        groups,
                        (skip, target.platform.name, leases),
                        target,
                        case.nodeid,
                    )
    return _gpu_problems(groups)


def path_gpu_findings(workspace: Workspace, cfg: Config | None = None) -> list[Problem]:
    """The same without importing a test (lint --paths-only): a suite that holds
    the file on a target selects its tests (its -m or -k may leave some out, so a
    need is reported only where every suite holding the file falls short)."""
    cfg = cfg or load(workspace.skiplist_dir)
    files = scan(workspace.root, default_paths(workspace, cfg), cfg)
    index = Index(files)
    groups: Groups = {}
    for skip in (s for f in files for s in f.skips if s.gpus and s.skips):
        for test in index.tests_of(skip):
            path = test.split("::", 1)[0].split("[", 1)[0]
            for target in workspace.targets():
                selecting = [
                    s.name
                    for s in workspace.suites.values()
                    if s.holds(path) and runs_on(s, target) and not s.exclude_for(path)
                ]
                leases = _short(workspace, skip, cfg, target, selecting)
                if leases:
                    _note(groups, (skip, target.platform.name, leases), target, test)
    return _gpu_problems(groups)


Groups = dict[tuple[InCodeSkip, str, tuple], dict[str, list[str]]]


def _note(groups: Groups, key: tuple, target: Target, test: str) -> None:
    group = groups.setdefault(key, {"targets": [], "tests": []})
    if target.name not in group["targets"]:
        group["targets"].append(target.name)
    if test not in group["tests"]:
        group["tests"].append(test)


def _gpu_problems(groups: Groups) -> list[Problem]:
    out = []
    for (skip, _, leases), group in groups.items():
        tests = group["tests"]
        who = tests[0] if len(tests) == 1 else f"{len(tests)} tests of {skip.path}"
        suites = ", ".join(f"suite {s} leases {g}" for s, g in leases)
        on = ", ".join(group["targets"])
        verb = "it skips" if len(tests) == 1 else "they skip"
        message = f"{who} needs {skip.gpus} GPUs, {suites} on {on}: {verb} every run"
        out.append(Problem("error", skip.where, message))
    return out


def _short(
    workspace: Workspace,
    skip: InCodeSkip,
    cfg: Config,
    target: Target,
    selecting: list[str],
) -> tuple[tuple[str, int], ...]:
    """The (suite, GPUs) pairs that select a test on a target, when the need fires
    in every one of them (else ()). A skip that fires whatever the GPUs is a
    platform skip there, not a need."""
    if not selecting or verdict(skip, cfg, target, [LOTS]).value == ev.FIRES:
        return ()
    pairs = []
    for name in selecting:
        gpus = workspace.suites[name].gpus
        if target.platform.hardware == "none":
            gpus = 0
        if verdict(skip, cfg, target, [gpus]).value != ev.FIRES:
            return ()
        pairs.append((name, gpus))
    return tuple(pairs)


def unscheduled_findings(
    workspace: Workspace,
    cases: list[TestCase],
    fates: dict[Target, dict[str, dict[str, Fate]]],
) -> list[Problem]:
    """Tests one platform schedules and another leaves out by a suite's own -m, -k
    or excludes while the suite that runs them elsewhere has no session there:
    the twin-suite pattern, where only an entry would say why."""
    groups: dict[tuple[str, str, str], dict[str, list]] = {}
    for case in cases:
        ran = _scheduled_by(case, fates)
        if not ran:
            continue
        for target, by_test in fates.items():
            here = by_test[case.nodeid]
            if not here or any(f.kind in SCHEDULED for f in here.values()):
                continue  # no suite of the target holds it, or one schedules it
            if any(f.entry is not None for f in here.values()):
                continue  # an entry says why
            away = [s for s, _ in ran if not runs_on(workspace.suites[s], target)]
            if not away:
                continue  # the suites that run it elsewhere leave it out here too
            # an exclude is partitioning with its reason; -m and -k say nothing
            selecting = [
                s for s in here if workspace.suites[s].exclude_for(case.path) is None
            ]
            if not selecting:
                continue
            left_by = ", ".join(sorted(selecting))
            key = (case.path, target.platform.name, left_by)
            group = groups.setdefault(key, {"targets": [], "tests": [], "runs": []})
            for name, where in (("targets", target.name), ("tests", case.nodeid)):
                if where not in group[name]:
                    group[name].append(where)
            for place in ran:
                if place not in group["runs"]:
                    group["runs"].append(place)
    return [_unscheduled(workspace, key, group) for key, group in groups.items()]


def _scheduled_by(
    case: TestCase, fates: dict[Target, dict[str, dict[str, Fate]]]
) -> list[tuple[str, str]]:
    """(suite, target) pairs that schedule a test."""
    return [
        (suite, target.name)
        for target, by_test in fates.items()
        for suite, fate in by_test[case.nodeid].items()
        if fate.kind in SCHEDULED
    ]


def _unscheduled(
    workspace: Workspace, key: tuple[str, str, str], group: dict[str, list]
) -> Problem:
    path, platform, left_by = key
    tests = group["tests"]
    who = tests[0] if len(tests) == 1 else f"{len(tests)} tests of {path}"
    runs = sorted({f"{target} (suite {suite})" for suite, target in group["runs"]})
    first = workspace.suites[left_by.split(", ")[0]]
    selection = _selection(workspace, left_by.split(", "))
    one = len(tests) == 1
    them = "it" if one else "them"
    leaves = "leaves" if "," not in left_by else "leave"
    message = (
        f"{who} run{'s' if one else ''} on {', '.join(runs[:3])}"
        f"{' ...' if len(runs) > 3 else ''} but no suite schedules {them} on "
        f"{', '.join(group['targets'])}: {left_by} {leaves}"
        f" {them} out ({selection}) and no entry or platform setting says why; a "
        f"[[deselect]] or [[ignore]] entry in {platform}'s file would, with the reason"
    )
    return Problem("warning", str(first.location), message)


def _selection(workspace: Workspace, names: Iterable[str]) -> str:
    parts = []
    for name in names:
        suite = workspace.suites[name]
        bits = [f"-m '{suite.markexpr}'"] if suite.markexpr else []
        bits += [f"-k '{suite.keyword}'"] if suite.keyword else []
        bits += ["excludes"] if suite.excludes else []
        parts.append(f"{name}: {' '.join(bits) or 'its paths'}")
    return "; ".join(parts)
