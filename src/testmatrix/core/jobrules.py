"""The rules of a suite that is a CI job of several runs, for explain and lint: a
test is in the suite when any run selects it."""

from __future__ import annotations

from testmatrix.core.fate import Fate, FateKind, TestCase
from testmatrix.core.model import Platform, Workspace
from testmatrix.core.rules import Rules


class AnyRunRules:
    """A suite of several runs on one target, for explain and lint: a test is in the
    suite when any run selects it, and has the fate of the first run that does."""

    def __init__(
        self, workspace: Workspace, platform: Platform, variant: str | None, suite: str
    ):
        whole = workspace.suites[suite]
        self.runs = [
            Rules(workspace, platform, variant=variant, suite=suite, run=part.run)
            for part in whole.parts
        ]
        self.suite = whole

    def fate(self, test: TestCase) -> Fate:
        left: list[Fate] = []
        for rules in self.runs:
            fate = rules.fate(test)
            if fate.kind is not FateKind.NOT_IN_SUITE:
                return fate
            # the why of a run holding the file says more than "under none of"
            holds = rules.suite is not None and rules.suite.holds(test.path)
            left.insert(0, fate) if holds else left.append(fate)
        return left[0]

    @property
    def entries(self) -> Rules:
        """Rules for what the target's entries decide, the same for every run."""
        return self.runs[0]


def entry_rules(rules: Rules | AnyRunRules) -> Rules:
    """The rules that decide the target's entries, whatever the suite's runs."""
    return rules.entries if isinstance(rules, AnyRunRules) else rules


def suite_rules(
    workspace: Workspace, platform: Platform, variant: str | None, suite: str
) -> Rules | AnyRunRules:
    """A suite's rules on a target, whatever its number of runs."""
    if len(workspace.suites[suite].runs) > 1:
        return AnyRunRules(workspace, platform, variant, suite)
    return Rules(workspace, platform, variant=variant, suite=suite)
