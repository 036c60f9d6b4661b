"""Audit: run what a platform's entries keep out, and say which entries are stale."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import options as opt
from .errors import TestmatrixError
from .explain import explain, targets_named
from .model import Workspace
from .plan import FateKind, TestCase

# One format for the header and every row, so the columns line up.
_ROW = "{:<8} {:<36} {:<9} {:>5} {:>5} {:>5}  {}"


@dataclass
class EntryAudit:
    entry: str  # file:line
    kind: str
    reason: str
    issue: str | None
    tests: list[str] = field(default_factory=list)
    passed: int = 0
    failed: int = 0
    first_error: str | None = None

    @property
    def verdict(self) -> str:
        if not self.tests:
            return "dead"
        return (
            "stale" if self.failed == 0 and self.passed == len(self.tests) else "needed"
        )

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            **{k: v for k, v in self.__dict__.items() if k != "tests"},
            "tests": len(self.tests),
            "verdict": self.verdict,
        }


def _results(junit: Path) -> dict[str, tuple[str, str | None]]:
    """{test name as junit has it: (outcome, first error line)}."""
    out: dict[str, tuple[str, str | None]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        key = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", None
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                text = child.get("message") or child.text
                message = text.strip().splitlines()[0] if text else child.tag
                break
            if child.tag == "skipped":
                outcome = "skipped"
        out[key] = (outcome, message)
    return out


def _junit_key(nodeid: str) -> str:
    path, _, rest = nodeid.partition("::")
    module = (
        path[:-3].replace("/", ".") if path.endswith(".py") else path.replace("/", ".")
    )
    parts = rest.split("::")
    return f"{'.'.join([module, *parts[:-1]])}::{parts[-1]}"


def _run(
    workspace: Workspace,
    platform: str,
    variant: str | None,
    ids: list[str],
    env: dict[str, str] | None,
) -> dict[str, tuple[str, str | None]]:
    """Run test ids on the target with the skiplist off: {junit name: outcome}."""
    with tempfile.TemporaryDirectory() as tmp:
        junit, argsfile = Path(tmp) / "audit.xml", Path(tmp) / "ids.txt"
        argsfile.write_text("\n".join(ids) + "\n")
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            f"@{argsfile}",
            opt.PLATFORM.flag(platform),
            *([opt.VARIANT.flag(variant)] if variant else []),
            opt.NO_SKIPLIST.long,
            f"--junitxml={junit}",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "junit_family=xunit1",
        ]
        proc = subprocess.run(
            cmd,
            cwd=workspace.root,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
        )
        if not junit.exists():
            output = (proc.stderr or proc.stdout).strip()[-500:]
            raise TestmatrixError(f"audit run failed before any test ran: {output}")
        return _results(junit)


def audit(
    workspace: Workspace,
    platform: str,
    cases: list[TestCase],
    env: dict[str, str] | None = None,
) -> list[EntryAudit]:
    """Run the entries' tests on a target (`rocm`: the platform and its variants,
    `rocm:mi300`: one variant), skiplist off; group outcomes by entry."""
    targets = targets_named(workspace, platform)
    asked = targets[0].variant_name if len(targets) == 1 else None
    platform = targets[0].platform.name
    audits: dict[str, EntryAudit] = {}
    runs_on: dict[str, str | None] = {}  # entry: the variant its tests run on
    for entry in workspace.platforms[platform].entries:
        if entry.kind != "flaky" and (asked is None or entry.holds_on(asked)):
            audits[str(entry.location)] = EntryAudit(
                str(entry.location), entry.kind, entry.reason, entry.issue
            )
            # a variant's entry is only proven stale on that variant
            runs_on[str(entry.location)] = asked or next(iter(entry.variants), None)
    for row in explain(workspace, cases, targets):
        if (
            row.fate.kind in (FateKind.SKIPPED, FateKind.IGNORED, FateKind.DESELECTED)
            and row.fate.entry is not None
        ):
            tests = audits[str(row.fate.entry.location)].tests
            if row.test.nodeid not in tests:
                tests.append(row.test.nodeid)
    groups: dict[str | None, set[str]] = {}
    for where, item in audits.items():
        groups.setdefault(runs_on[where], set()).update(item.tests)
    results: dict[str | None, dict[str, tuple[str, str | None]]] = {}
    for variant, ids in groups.items():
        if ids:
            results[variant] = _run(workspace, platform, variant, sorted(ids), env)
    for where, item in audits.items():
        outcomes = results.get(runs_on[where], {})
        for nodeid in item.tests:
            outcome, message = outcomes.get(_junit_key(nodeid), ("failed", "not run"))
            if outcome == "passed":
                item.passed += 1
            else:
                item.failed += 1
                item.first_error = item.first_error or f"{nodeid}: {message or outcome}"
    return list(audits.values())


def render(audits: list[EntryAudit]) -> str:
    header = ("verdict", "entry", "kind", "tests", "pass", "fail")
    lines = [_ROW.format(*header, "first error / reason")]
    for a in audits:
        detail = a.first_error if a.verdict == "needed" else a.reason
        cells = (a.verdict, a.entry, a.kind, len(a.tests), a.passed, a.failed)
        lines.append(_ROW.format(*cells, detail))
    verdicts = Counter(a.verdict for a in audits)
    lines.append(
        f"{verdicts['stale']} stale, {verdicts['needed']} still needed, "
        f"{verdicts['dead']} dead"
    )
    return "\n".join(lines)
