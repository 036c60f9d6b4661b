"""Audit: run what a platform's entries keep out, and say which entries are stale."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from testmatrix.core import options as opt
from testmatrix.core.fate import FateKind, TestCase
from testmatrix.core.holding import entries_holding
from testmatrix.core.model import Signature, Workspace
from testmatrix.errors import TestmatrixError
from testmatrix.jsonio import read_json
from testmatrix.plugin.expect import matches_names
from testmatrix.tools import auditrec
from testmatrix.tools.explain import explain, targets_named

# One format for the header and every row, so the columns line up.
_ROW = "{:<17} {:<36} {:<9} {:>5} {:>5} {:>5}  {}"


@dataclass
class EntryAudit:
    entry: str  # file:line
    kind: str
    reason: str
    issue: str | None
    fails: Signature | None = None  # the error the entry records, if it does
    target: str = ""
    simulated: bool = False
    tests: list[str] = field(default_factory=list)
    passed: int = 0
    failed: int = 0  # with the recorded error, where the entry records one
    different: int = 0  # failed with another error than the recorded one
    first_error: str | None = None

    @property
    def verdict(self) -> str:
        """stale: every test passes (remove the entry); still failing (with the
        recorded error, where there is one); fails differently; dead: no test."""
        if not self.tests:
            return "dead"
        if self.passed == len(self.tests):
            return "stale"
        if self.different:
            return "fails differently"
        return "still fails" if self.fails is not None else "needed"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            k: v for k, v in self.__dict__.items() if k not in ("tests", "fails")
        }
        out["fails"] = str(self.fails) if self.fails else None
        out["tests"] = len(self.tests)
        out["verdict"] = self.verdict
        return out


def _run(
    workspace: Workspace,
    platform: str,
    variant: str | None,
    ids: list[str],
    env: dict[str, str] | None,
) -> dict[str, dict]:
    """Run test ids on the target with the skiplist off: {node id: its record}."""
    with tempfile.TemporaryDirectory() as tmp:
        record, argsfile = Path(tmp) / "record.json", Path(tmp) / "ids.txt"
        argsfile.write_text("\n".join(ids) + "\n", encoding="utf-8")
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            f"@{argsfile}",
            opt.PLATFORM.flag(platform),
            *([opt.VARIANT.flag(variant)] if variant else []),
            opt.NO_SKIPLIST.long,
            "-p",
            "testmatrix.tools.auditrec",
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        proc = subprocess.run(
            cmd,
            cwd=workspace.root,
            env={**os.environ, **(env or {}), auditrec.ENV: str(record)},
            capture_output=True,
            text=True,
        )
        if not record.exists():
            output = (proc.stderr or proc.stdout).strip()[-500:]
            raise TestmatrixError(f"audit run failed before any test ran: {output}")
        data = read_json(record, "audit record")
        return data if isinstance(data, dict) else {}


def audit(
    workspace: Workspace,
    platform: str,
    cases: list[TestCase],
    env: dict[str, str] | None = None,
    *,
    simulated: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> list[EntryAudit]:
    """Run the entries' tests on a target (`rocm`: the platform and its variants,
    `rocm:mi300`: one variant), skiplist off; judge each entry by its tests."""
    targets = targets_named(workspace, platform)
    asked = targets[0].variant_name if len(targets) == 1 else None
    platform = targets[0].platform.name
    audits: dict[str, EntryAudit] = {}
    runs_on: dict[str, str | None] = {}  # entry: the variant its tests run on
    entries = workspace.platforms[platform].entries  # asked none: every variant's
    if asked is not None:
        entries = entries_holding(workspace.platforms[platform], asked)
    for entry in entries:
        if entry.kind != "flaky":
            where = str(entry.location)
            # a variant's entry is only proven stale on that variant
            runs_on[where] = asked or next(iter(entry.variants), None)
            target = platform + (f":{runs_on[where]}" if runs_on[where] else "")
            audits[where] = EntryAudit(
                where,
                entry.kind,
                entry.reason,
                entry.issue,
                entry.fails,
                target,
                simulated,
            )
    kept_out = (
        FateKind.SKIPPED,
        FateKind.IGNORED,
        FateKind.DESELECTED,
        FateKind.EXPECTED_FAIL,
    )
    for row in explain(workspace, cases, targets):
        if row.fate.kind in kept_out and row.fate.entry is not None:
            tests = audits[str(row.fate.entry.location)].tests
            if row.test.nodeid not in tests:
                tests.append(row.test.nodeid)
    groups: dict[str | None, set[str]] = {}
    for where, item in audits.items():
        groups.setdefault(runs_on[where], set()).update(item.tests)
    results: dict[str | None, dict[str, dict]] = {}
    for variant, ids in groups.items():
        if not ids:
            continue
        target = platform + (f":{variant}" if variant else "")
        sim = " (SIMULATED on other hardware)" if simulated else ""
        say(f"audit: running {len(ids)} tests on {target}{sim} ...")
        results[variant] = _run(workspace, platform, variant, sorted(ids), env)
        outcomes = Counter(r.get("outcome") for r in results[variant].values())
        say(
            f"audit: {target}: {outcomes['passed']} passed, {outcomes['failed']} "
            f"failed, {outcomes['skipped']} skipped"
        )
    for where, item in audits.items():
        records = results.get(runs_on[where], {})
        for nodeid in item.tests:
            _judge(item, nodeid, records.get(nodeid))
    return list(audits.values())


def _judge(item: EntryAudit, nodeid: str, record: dict | None) -> None:
    """Count one test of an entry: passed, failed as recorded, or failed otherwise."""
    if record is not None and record.get("outcome") == "passed":
        item.passed += 1
        return
    if record is None:
        error, same = "not run", item.fails is None
    elif record.get("outcome") == "skipped":
        error, same = f"skipped ({record.get('when')})", item.fails is None
    else:
        error = str(record.get("error") or "failed")
        same = item.fails is None or matches_names(
            item.fails, set(record.get("types") or ()), str(record.get("message", ""))
        )
    if same:
        item.failed += 1
    else:
        item.different += 1
    item.first_error = item.first_error or f"{nodeid}: {error}"


def render(audits: list[EntryAudit]) -> str:
    sim = "SIMULATED " if any(a.simulated for a in audits) else ""
    header = ("verdict", "entry", "kind", "tests", "pass", "fail")
    lines = [sim + _ROW.format(*header, "first error / reason")]
    for a in audits:
        detail = a.reason if a.verdict in ("stale", "dead") else a.first_error
        if a.verdict == "fails differently":
            detail = f"expected {a.fails}; got {a.first_error}"
        cells = (a.verdict, a.entry, a.kind, len(a.tests), a.passed, a.failed)
        lines.append(sim + _ROW.format(*cells, detail))
    verdicts = Counter(a.verdict for a in audits)
    needed = verdicts["needed"] + verdicts["still fails"]
    total = (
        f"{verdicts['stale']} stale, {needed} still needed, "
        f"{verdicts['fails differently']} fail differently, {verdicts['dead']} dead"
    )
    if sim:
        total += (
            " (SIMULATED: run on hardware that is not the target's; a stale verdict "
            "here is no proof)"
        )
    audited = len(audits)
    total += f"; {audited} entries audited (flaky entries are not)"
    lines.append(total)
    return "\n".join(lines)
