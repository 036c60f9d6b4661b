"""Explain: the fate of every collected test on every platform, and which entry decided it."""

from __future__ import annotations

import functools
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
        }


def suites_of(workspace: Workspace, case: TestCase) -> list[str]:
    """The suites whose directory holds the test."""
    return _suites_holding(
        tuple((s.name, s.path) for s in workspace.suites.values()), case.path
    )


@functools.lru_cache(maxsize=65536)
def _suites_holding(suites: tuple[tuple[str, str], ...], path: str) -> list[str]:
    # cached per file: a file holds many tests
    return [
        name for name, root in suites if path == root or path.startswith(root + "/")
    ]


def explain(
    workspace: Workspace, cases: list[TestCase], platforms: list[str] | None = None
) -> list[Row]:
    """One row per test x platform x suite holding it, from the same Rules.fate the plugin uses."""
    rows = []
    for name in platforms or list(workspace.platforms):
        platform = workspace.platforms[name]
        rules = {s: Rules(workspace, platform, suite=s) for s in workspace.suites}
        for case in cases:
            for suite in suites_of(workspace, case):
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
            entry = row.fate.entry
            where = (
                f"  [{entry.location}] {entry.reason}{' (' + entry.issue + ')' if entry.issue else ''}"
                if entry
                else ""
            )
            model = f" ({row.fate.model})" if row.fate.model else ""
            lines.append(
                f"{row.platform:<6} {row.fate.kind.value:<10} {row.test.nodeid}{model}{where}"
            )
        lines.append("")
    table = summary(rows)
    header = f"{'platform':<10} {'suite':<14} " + " ".join(
        f"{k.value:>10}" for k in KINDS
    )
    lines += [header, "-" * len(header)]
    for (platform, suite), counts in sorted(table.items()):
        lines.append(
            f"{platform:<10} {suite:<14} "
            + " ".join(f"{counts[k.value]:>10}" for k in KINDS)
        )
    return "\n".join(lines)
