"""What the history says of the skiplists: evidence per entry and target
(`history entries`), and tests that skip themselves (`history skips`)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from .base import Context, StateRow, caught_up, check_window, letters
from .outcomes import CODE, Outcome
from .store import Store

# what a row's letters say, per evidence kind
_STALE, _DIFFERENT = frozenset("Uu"), frozenset("Dd")
_FLAKE = frozenset("RrFEfepkxsdu")  # a rerun, a failure, or jobs that disagreed


@dataclass(frozen=True)
class EntryEvidence:
    """One finding on one skiplist entry on one target (`history entries`)."""

    entry: str  # where it is declared, file:line
    kind: str  # skip, ignore, deselect, flaky
    reason: str
    issue: str
    target: str
    evidence: str  # passed, fails_differently, quiet_flaky, not_run, no_tests
    tests: list[str]  # the tests that show it (sorted)
    detail: str  # the finding in words


@dataclass
class _Held:
    """An entry on a target and the state rows of the tests it holds there."""

    entry: tuple[str, str, str, str]  # location, kind, reason, issue
    target: int
    rows: list[StateRow]


def _date(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text)


def entries(
    store: Store,
    workspace: Any = None,
    *,
    recent: int = 3,
    quiet: int = 30,
    days: int = 30,
) -> list[EntryEvidence]:
    """Evidence for every entry on every target: expected failures that passed or
    failed differently in the target's last `recent` builds; flaky entries with no
    flake in `quiet` builds; skips and ignores whose tests ran nowhere for `days`
    days before the newest build; entries whose tests were seen in none of the last
    `recent` builds. With the workspace, ignores and deselects (never reported) too."""
    check_window("--recent", recent)
    check_window("--quiet", quiet)
    ctx = Context(store)
    if not ctx.builds:
        return []
    rows = ctx.state(where="entry_id IS NOT NULL")
    dims = ctx.names(
        "entries", "location, kind, reason, issue", {r.entry for r in rows if r.entry}
    )
    held: dict[tuple[int, int], _Held] = {}
    for row in rows:
        assert row.entry is not None
        key = (row.entry, row.target)
        if key not in held:
            location, kind, reason, issue = dims[row.entry]
            held[key] = _Held((location, kind, reason, issue), row.target, [])
        held[key].rows.append(row)
    newest = max(_date(b.date) for b in ctx.builds.values())
    cutoff = (newest - _dt.timedelta(days=days)).isoformat()
    ran_at = _last_runs(ctx, {r.test for r in rows})
    names = ctx.names("tests", "nodeid", {r.test for r in rows})
    out: list[EntryEvidence] = []
    for item in held.values():
        out += _judge(ctx, item, names, ran_at, recent, quiet, cutoff, days)
    if workspace is not None:
        out += _unreported(
            ctx, workspace, {h.entry[0] for h in held.values()}, recent, cutoff, days
        )
    out.sort(key=lambda e: (e.entry, e.target, e.evidence))
    return out


def _not_run(days: int) -> str:
    return f"its tests ran on no target in the {days} days before the newest build"


def _last_runs(ctx: Context, tests: set[int]) -> dict[int, str]:
    """The date each test last ran (not skipped) on any target."""
    out: dict[int, str] = {}
    wanted = sorted(tests)
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        marks = ", ".join("?" * len(part))
        for test, target, *row in ctx.store.rows(
            "SELECT test_id, target_id, outcome, last_run, last_seen, seen_at,"
            f" substr(recent, length(recent)) FROM state WHERE last_run IS NOT NULL"
            f" AND test_id IN ({marks})",
            part,
        ):
            build = _caught_up(ctx, target, *row)[0]
            assert build is not None  # a row with a last run keeps one
            date = ctx.builds[build].date
            if date > out.get(test, ""):
                out[test] = date
    return out


def _caught_up(
    ctx: Context,
    target: int,
    code: int,
    last_run: int | None,
    last_seen: int,
    seen_at: int,
    letter: str,
) -> tuple[int | None, int]:
    """A state row's last run and last seen as of its target's newest build."""
    caught = caught_up(ctx.builds_of(target), code, 0, None, last_run, last_seen,
                       seen_at, letter)  # fmt: skip
    return caught[2], caught[3]


def _judge(
    ctx: Context,
    item: _Held,
    names: dict[int, str],
    ran_at: dict[int, str],
    recent: int,
    quiet: int,
    cutoff: str,
    days: int,
) -> list[EntryEvidence]:
    location, kind, reason, issue = item.entry
    target = ctx.targets[item.target]
    latest = ctx.window(item.target, recent)
    builds = ctx.builds_of(item.target)

    def finding(evidence: str, rows: list[StateRow], detail: str) -> EntryEvidence:
        tests = sorted(names[r.test] for r in rows)
        return EntryEvidence(
            location, kind, reason, issue, target, evidence, tests, detail
        )

    out = []
    stale = [r for r in item.rows if _STALE & set(letters(r, builds, recent))]
    if stale:
        out.append(
            finding(
                "passed",
                stale,
                f"expected to fail, passed in the last {recent} builds: remove the "
                "entry",
            )
        )
    other = [r for r in item.rows if _DIFFERENT & set(letters(r, builds, recent))]
    if other:
        out.append(
            finding(
                "fails_differently",
                other,
                f"failed with another error in the last {recent} builds",
            )
        )
    if kind == "flaky" and len(ctx.target_builds().get(item.target, [])) >= quiet:
        seen = [letters(r, builds, quiet) for r in item.rows]
        if any(seen) and not any(_FLAKE & set(s) for s in seen):
            out.append(
                finding(
                    "quiet_flaky", item.rows, f"no flake in the last {quiet} builds"
                )
            )
    if kind in ("skip", "ignore") and not any(
        ran_at.get(r.test, "") >= cutoff for r in item.rows
    ):
        out.append(
            finding(
                "not_run",
                item.rows,
                _not_run(days),
            )
        )
    if not any(r.last_seen in latest for r in item.rows):
        out.append(
            finding(
                "no_tests",
                item.rows,
                f"none of its tests was reported in the last {recent} builds",
            )
        )
    return out


def _unreported(
    ctx: Context,
    workspace: Any,
    reported: set[str],
    recent: int,
    cutoff: str,
    days: int,
) -> list[EntryEvidence]:
    """Entries of the skiplists whose tests never reach a report on their targets
    (ignores, deselects, and entries no result names): judged by the tests under
    their path or id on any target."""
    by_name = {v: k for k, v in ctx.targets.items()}
    pending = []
    for target in workspace.targets():
        target_id = by_name.get(target.name)
        if target_id is None:
            continue  # no history on this target
        for entry in target.platform.entries:
            if str(entry.location) in reported or not entry.holds_on(
                target.variant_name
            ):
                continue
            if target.variant is None and entry.variants:
                continue
            pending.append((entry, target.name, target_id))
    if not pending:
        return []
    rows = [
        (nodeid, *_caught_up(ctx, *row)[::-1])
        for nodeid, *row in ctx.store.rows(
            "SELECT t.nodeid, s.target_id, s.outcome, s.last_run, s.last_seen,"
            " s.seen_at, substr(s.recent, length(s.recent)) FROM state s"
            " JOIN tests t ON t.id = s.test_id"
        )
    ]
    latest = {b for t in ctx.target_builds() for b in ctx.window(t, recent)}
    out = []
    for entry, target, _ in pending:
        prefix = getattr(entry, "target", None) or getattr(entry, "nodeid", None)
        under = [r for r in rows if prefix and r[0].startswith(prefix)]
        base = (
            str(entry.location),
            entry.kind,
            entry.reason,
            entry.issue or "",
            target,
        )
        if not under or not any(r[1] in latest for r in under):
            detail = (
                f"no test under {prefix!r} was reported in the last {recent} builds"
                if prefix
                else "no test reported it"
            )
            out.append(EntryEvidence(*base, "no_tests", [], detail))
            continue
        if entry.kind == "ignore":
            ran = [ctx.builds[r[2]].date for r in under if r[2] is not None]
            if not ran or max(ran) < cutoff:
                tests = sorted({r[0] for r in under})
                out.append(
                    EntryEvidence(
                        *base,
                        "not_run",
                        tests,
                        _not_run(days),
                    )
                )
    return out


@dataclass(frozen=True)
class SkipGroup:
    """Tests that skip themselves on a target for one reason (`history skips`)."""

    target: str
    reason: str
    count: int
    tests: list[str]
    since_build: str  # the earliest start of these tests' current skip streaks
    since_date: str
    builds: int  # the longest of those streaks, in builds


def skips(store: Store, targets: tuple[str, ...] = ()) -> list[SkipGroup]:
    """Tests whose latest outcome is a skip by their own code, grouped by target and
    reason: 'Need at least 4 GPUs' on a 2-GPU job is one line with its tests."""
    ctx = Context(store)
    code = CODE[Outcome.SKIPPED_IN_CODE]
    chosen = ctx.target_ids(targets)
    rows = ctx.state(chosen, where=f"outcome = {code}")
    reasons = ctx.names("messages", "text", {r.message for r in rows if r.message})
    names = ctx.names("tests", "nodeid", {r.test for r in rows})
    groups: dict[tuple[int, str], list[StateRow]] = {}
    for row in rows:
        reason = reasons.get(row.message, "") if row.message else ""
        groups.setdefault((row.target, reason), []).append(row)
    out = []
    for (target, reason), members in groups.items():
        start = min(members, key=lambda r: ctx.builds[r.streak_start].rank).streak_start
        out.append(
            SkipGroup(
                ctx.targets[target],
                reason,
                len(members),
                sorted(names[r.test] for r in members),
                ctx.builds[start].name,
                ctx.builds[start].date,
                max(r.streak_len for r in members),
            )
        )
    out.sort(key=lambda g: (g.target, -g.count, g.reason))
    return out
