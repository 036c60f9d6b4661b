"""Explain: every collected test's fate on every platform, and the entry deciding it."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Workspace
from .plan import Fate, FateKind, Rules, TestCase

KINDS = (
    FateKind.RUN,
    FateKind.SKIPPED,
    FateKind.IGNORED,
    FateKind.DESELECTED,
    FateKind.ERROR,
)


@dataclass(frozen=True)
class Row:
    platform: str
    suite: str
    test: TestCase
    fate: Fate

    def as_dict(self) -> dict:
        entry = self.fate.entry
        return {
            "platform": self.platform,
            "suite": self.suite,
            "test": self.test.nodeid,
            "fate": self.fate.kind.value,
            "model": self.fate.model,
            "entry": str(entry.location) if entry else None,
            "reason": entry.reason if entry else None,
            "issue": entry.issue if entry else None,
            "message": self.fate.message or None,
            "reruns": rerun.reruns if (rerun := self.fate.rerun) else None,
            "flaky": rerun.cite() if rerun else None,
        }


def explain(
    workspace: Workspace, cases: list[TestCase], platforms: list[str] | None = None
) -> list[Row]:
    """One row per test x platform x suite holding it, decided by Rules.fate as the
    plugin decides it."""
    rows = []
    for name in platforms or list(workspace.platforms):
        platform = workspace.platforms[name]
        rules = {s: Rules(workspace, platform, suite=s) for s in workspace.suites}
        for case in cases:
            for suite in workspace.suites_holding(case.path):
                rows.append(Row(name, suite, case, rules[suite].fate(case)))
    return rows


def summary(rows: list[Row]) -> dict[tuple[str, str], dict[str, int]]:
    table: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        counts = table.setdefault(
            (row.platform, row.suite), {k.value: 0 for k in KINDS}
        )
        counts[row.fate.kind.value] += 1
    return table


def render(rows: list[Row], verbose: bool = True) -> str:
    lines = []
    if verbose:
        for row in rows:
            fate = row.fate
            entry = fate.entry
            issue = f" ({entry.issue})" if entry and entry.issue else ""
            where = f"  [{entry.location}] {entry.reason}{issue}" if entry else ""
            model = f" ({fate.model})" if fate.model else ""
            rerun = ""
            if fate.rerun is not None:
                rerun = (
                    f"  [flaky: rerun up to {fate.rerun.reruns}x] {fate.rerun.cite()}"
                )
            lines.append(
                f"{row.platform:<6} {fate.kind.value:<10} {row.test.nodeid}"
                f"{model}{where}{rerun}"
            )
        lines.append("")
    table = summary(rows)
    columns = " ".join(f"{k.value:>10}" for k in KINDS)
    header = f"{'platform':<10} {'suite':<14} {columns}"
    lines += [header, "-" * len(header)]
    for (platform, suite), counts in sorted(table.items()):
        cells = " ".join(f"{counts[k.value]:>10}" for k in KINDS)
        lines.append(f"{platform:<10} {suite:<14} {cells}")
    return "\n".join(lines)
