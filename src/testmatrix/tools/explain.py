"""Explain: every collected test's fate on every platform, and the entry deciding it."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from testmatrix.core.fate import Fate, FateKind, TestCase
from testmatrix.core.jobrules import suite_rules
from testmatrix.core.model import Target, Workspace
from testmatrix.core.session import no_session_fate, runs_on
from testmatrix.core.targets import platform_named, variant_named
from testmatrix.errors import UsageError

KINDS = (
    FateKind.RUN,
    FateKind.SKIPPED,
    FateKind.SKIPPED_IN_CODE,
    FateKind.EXPECTED_FAIL,
    FateKind.IGNORED,
    FateKind.DESELECTED,
    FateKind.ERROR,
    FateKind.NOT_IN_SUITE,
    FateKind.NO_SESSION,
)


class Row(NamedTuple):
    """One test's fate on one target in one suite (a named tuple: explain makes
    one per test, target and suite)."""

    target: str  # "rocm" or "rocm:mi300"
    suite: str
    test: TestCase
    fate: Fate

    def as_dict(self) -> dict:
        entry = self.fate.entry
        rerun = self.fate.rerun
        platform, _, variant = self.target.partition(":")
        return {
            "target": self.target,
            "platform": platform,
            "variant": variant or None,
            "suite": self.suite,
            "test": self.test.nodeid,
            "fate": self.fate.kind.value,
            "model": self.fate.model,
            "model_from": self.fate.model_from,
            "entry": str(entry.location) if entry else None,
            "reason": entry.reason if entry else None,
            "issue": entry.issue if entry else None,
            "message": self.fate.message or None,
            "reruns": rerun.reruns if rerun else None,
            "flaky": rerun.cite() if rerun else None,
        }


def targets_named(workspace: Workspace, name: str | None) -> list[Target]:
    """`rocm`: the platform and each of its variants; `rocm:mi300`: that variant;
    None: every target."""
    if name is None:
        return list(workspace.targets())
    platform_name, _, variant = name.partition(":")
    platform = platform_named(workspace, platform_name)
    if platform is None:
        raise UsageError("explain needs a declared platform, not 'none'")
    if variant:
        return [Target(platform, variant_named(platform, variant))]
    return [t for t in workspace.targets() if t.platform is platform]


def explain(
    workspace: Workspace, cases: list[TestCase], targets: list[Target] | None = None
) -> list[Row]:
    """One row per test x target x suite holding it, decided by Rules.fate as the
    plugin decides it; a suite with no session on a target says why."""
    rows = []
    for target in targets or workspace.targets():
        rules = {  # a suite of several runs: a test any run selects is in it
            s.name: suite_rules(workspace, target.platform, target.variant_name, s.name)
            for s in workspace.suites.values()
            if runs_on(s, target)
        }
        # a suite with no session here gives each of its tests the same fate
        absent = {
            s.name: no_session_fate(s, target)
            for s in workspace.suites.values()
            if s.name not in rules
        }
        holding: dict[str, tuple[str, ...]] = {}  # by file: its tests share it
        name_of = target.name
        # a left-out fate with where else its test runs, made once per fate and place
        elsewhere: dict[tuple[int, tuple[str, ...]], tuple[Fate, Fate]] = {}
        for case in cases:
            suites = holding.get(case.path)
            if suites is None:
                suites = holding[case.path] = workspace.suites_holding(case.path)
            fates = {
                name: rules[name].fate(case) if name in rules else absent[name]
                for name in suites
            }
            others = None  # the suites that run it, where one leaves it out
            for name, fate in fates.items():
                if fate.kind is FateKind.NOT_IN_SUITE:
                    if others is None:
                        others = _runs_in(fates)
                    key = (id(fate), others)
                    told = elsewhere.get(key)
                    if told is None:  # it holds the fate: the id stays the fate's
                        told = elsewhere[key] = (fate, _where_else(fate, others))
                    fate = told[1]
                rows.append(Row(name_of, name, case, fate))
    return rows


_LEFT_OUT = (FateKind.NOT_IN_SUITE, FateKind.NO_SESSION)


def _runs_in(fates: dict[str, Fate]) -> tuple[str, ...]:
    """The suites on a target that run a test (others leave it out)."""
    return tuple(n for n, f in fates.items() if f.kind not in _LEFT_OUT)


def _where_else(fate: Fate, others: tuple[str, ...]) -> Fate:
    """A test a suite leaves out: say which suite on the same target runs it."""
    where = (
        f"runs in suite {', '.join(others)}" if others else "no other suite selects it"
    )
    return replace(fate, message=f"{fate.message}; {where}")


def summary(rows: list[Row]) -> dict[tuple[str, str], dict[str, int]]:
    counts: dict[tuple[str, str], dict[FateKind, int]] = {}
    for row in rows:
        by_kind = counts.get((row.target, row.suite))
        if by_kind is None:
            by_kind = counts[(row.target, row.suite)] = dict.fromkeys(KINDS, 0)
        by_kind[row.fate.kind] += 1
    return {
        key: {kind.value: n for kind, n in by_kind.items()}
        for key, by_kind in counts.items()
    }


def render(rows: list[Row], verbose: bool = True) -> str:
    lines = []
    if verbose:
        for row in rows:
            fate = row.fate
            entry = fate.entry
            if entry is not None:
                issue = f" ({entry.issue})" if entry.issue else ""
                why = f"  [{entry.location}] {entry.reason}{issue}"
            elif fate.model is None:  # partitioning or no session: the message says
                why = f"  {fate.message}" if fate.message else ""
            else:  # a marked test that runs: the model and its source say it all
                why = ""
            model = f" ({fate.model}: {fate.model_from})" if fate.model else ""
            rerun = ""
            if fate.rerun is not None:
                rerun = f"  [flaky: reruns {fate.rerun.reruns}x] {fate.rerun.cite()}"
            lines.append(
                f"{row.target:<12} {fate.kind.value:<12} {row.test.nodeid}"
                f"{model}{why}{rerun}"
            )
        lines.append("")
    table = summary(rows)
    width = max([len(target) for target, _ in table] + [len("target")])
    suites = max([len(suite) for _, suite in table] + [len("suite")])
    columns = " ".join(f"{k.value:>{max(12, len(k.value))}}" for k in KINDS)
    header = f"{'target':<{width}} {'suite':<{suites}} {columns}"
    lines += [header, "-" * len(header)]
    for (target, suite), counts in table.items():
        cells = " ".join(f"{counts[k.value]:>{max(12, len(k.value))}}" for k in KINDS)
        lines.append(f"{target:<{width}} {suite:<{suites}} {cells}")
    return "\n".join(lines)
