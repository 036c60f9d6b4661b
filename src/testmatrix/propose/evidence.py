"""What the history says that a skiplist should change: tests failing alike in each
of a target's last builds, flaky tests, and entries the evidence calls stale.
Read through the history's own queries (status, flaky, entries)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from testmatrix.history import entries, flaky, status
from testmatrix.history.base import Context
from testmatrix.history.outcomes import CODE, Outcome
from testmatrix.history.store import Store

from .signature import Signature, signature_of

MAX_SHOWN_BUILDS = 6  # builds named in a comment; more are counted

FAILING = (Outcome.FAILED, Outcome.ERROR)


@dataclass(frozen=True)
class Thresholds:
    """The evidence each proposal needs (the command's options)."""

    failing: int = 3  # builds in a row failing alike: a new expected failure
    passing: int = 3  # builds in a row an expected failure passed: remove it
    quiet: int = 30  # builds without a flake: remove a flaky entry
    window: int = 30  # builds the flaky query looks at
    reruns: int = 2  # what a proposed flaky entry reruns


@dataclass(frozen=True)
class Failing:
    """A test that failed alike in each of a target's last builds."""

    target: str
    suite: str
    test: str
    signature: Signature
    builds: tuple[str, ...]


@dataclass(frozen=True)
class Flake:
    target: str
    test: str
    reasons: tuple[str, ...]
    builds: tuple[str, ...]


@dataclass(frozen=True)
class Stale:
    """An entry the evidence says to remove, on every target where it holds."""

    location: str  # file:line, as the history cites it
    kind: str
    reason: str
    evidence: str  # passed, quiet_flaky, no_tests
    proof: tuple[str, ...]  # "target: builds ..." lines
    reported: bool = True  # some report cited it (else it never reached one)


@dataclass
class Evidence:
    failing: list[Failing] = field(default_factory=list)
    flaky: list[Flake] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)
    # per target, every test the window reported (for grouping: a whole file fails
    # only when none of its tests passed)
    known: dict[str, set[str]] = field(default_factory=dict)
    skipped_targets: list[str] = field(default_factory=list)  # simulated


def gather(
    store: Store,
    workspace: Any,
    limits: Thresholds,
    simulated: Collection[str] | None = (),
) -> Evidence:
    """Everything `propose` acts on; targets in `simulated`, and those whose newest
    build in the history ran on simulated hardware, are left out (None: none is)."""
    simulated = set() if simulated is None else set(simulated) | simulated_in(store)
    found = Evidence(skipped_targets=sorted(simulated))
    rows = status(store, window=max(limits.failing, 1))
    for row in rows:
        if row.target not in simulated:
            found.known.setdefault(row.target, set()).add(row.test)
    # a test an entry decides (an expected failure passing now and then, a flaky
    # entry's own) is that entry's business, not a new flaky entry's
    decided = {(r.target, r.test) for r in rows if r.entry}
    for flake in flaky(store, window=limits.window):
        if flake.target not in simulated and (flake.target, flake.test) not in decided:
            found.flaky.append(
                Flake(
                    flake.target, flake.test, tuple(flake.reasons), tuple(flake.builds)
                )
            )
    # a flaky test is never made an expected failure: its next pass would fail the
    # run as a stale entry, and a flake would turn into a permanent entry
    flaky_now = {(f.target, f.test) for f in found.flaky}
    found.failing = [
        f
        for f in _failing(store, rows, limits.failing, simulated)
        if (f.target, f.test) not in flaky_now
    ]
    found.stale = _stale(store, workspace, rows, limits, simulated)
    return found


def simulated_in(store: Store) -> set[str]:
    """Targets whose newest build's jobs the history records as simulated."""
    ctx = Context(store)
    out = set()
    for target, builds in ctx.target_builds().items():
        if builds and store.value(
            "SELECT count(*) FROM jobs WHERE target_id = ? AND build_id = ?"
            " AND simulated = 1",
            (target, builds[-1]),
        ):
            out.add(ctx.targets[target])
    return out


def _failing(
    store: Store, rows: list[Any], builds: int, simulated: Collection[str]
) -> list[Failing]:
    """Tests red (no entry deciding them) in each of the target's last `builds`
    builds, with one signature in all of them."""
    ctx = Context(store)
    by_name = {v: k for k, v in ctx.targets.items()}
    candidates: dict[str, list[Any]] = {}
    for row in rows:
        # red now, no entry deciding it; the scan below checks each build (the
        # streak alone would miss a test that errors in one build, fails in the next)
        if (
            row.outcome in {o.value for o in FAILING}
            and row.entry is None
            and row.target not in simulated
        ):
            candidates.setdefault(row.target, []).append(row)
    out = []
    codes = ", ".join(str(CODE[o]) for o in FAILING)
    for target, wanted in candidates.items():
        last = ctx.builds_of(by_name[target])[-builds:]
        if len(last) < builds:
            continue  # fewer builds of this target than the evidence needs
        tests = {r.test for r in wanted}
        seen: dict[str, dict[int, set[Signature]]] = {}
        for build in last:
            first, final = ctx.result_range(ctx.builds[build])
            for nodeid, error, text in store.rows(
                "SELECT t.nodeid, m.error_type, m.text FROM results r"
                " JOIN jobs j ON j.id = r.job_id JOIN tests t ON t.id = r.test_id"
                " LEFT JOIN messages m ON m.id = r.message_id"
                f" WHERE r.id BETWEEN ? AND ? AND j.target_id = ? AND r.outcome IN"
                f" ({codes})",
                (first, final, by_name[target]),
            ):
                if nodeid in tests:
                    sig = signature_of(error or "", text or "")
                    seen.setdefault(nodeid, {}).setdefault(build, set()).add(sig)
        names = tuple(ctx.builds[b].name for b in last)
        for row in wanted:
            per_build = seen.get(row.test, {})
            sigs = set().union(*per_build.values()) if per_build else set()
            if len(per_build) == len(last) and len(sigs) == 1:
                out.append(Failing(target, row.suite, row.test, sigs.pop(), names))
    out.sort(key=lambda f: (f.target, f.test))
    return out


def _stale(
    store: Store,
    workspace: Any,
    rows: list[Any],
    limits: Thresholds,
    simulated: Collection[str],
) -> list[Stale]:
    """Entries whose evidence says stale on every target where they decided a test:
    expected failures passing `passing` builds in a row, flaky entries quiet for
    `quiet` builds, entries whose tests were not reported in `passing` builds."""
    ctx = Context(store)
    by_name = {v: k for k, v in ctx.targets.items()}
    in_play: dict[str, set[str]] = {}
    rows_of: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        if row.entry:
            in_play.setdefault(row.entry, set()).add(row.target)
            rows_of.setdefault((row.entry, row.target), []).append(row)
    found: dict[str, dict[str, tuple[str, str]]] = {}  # entry: target: (why, kind)
    reasons: dict[str, str] = {}
    for ev in entries(
        store, workspace, recent=limits.passing, quiet=limits.quiet, days=36500
    ):
        if ev.target in simulated or not _judged(ev, rows_of, limits.passing):
            continue
        found.setdefault(ev.entry, {})[ev.target] = (ev.evidence, ev.kind)
        reasons[ev.entry] = ev.reason
    out = []
    for location, targets in sorted(found.items()):
        if not in_play.get(location, set()) <= set(targets):
            continue  # it still holds somewhere
        kinds = {why for why, _ in targets.values()}
        if len(kinds) != 1:
            continue
        why = kinds.pop()
        size = limits.quiet if why == "quiet_flaky" else limits.passing
        proof = []
        for target in sorted(targets):
            last = ctx.builds_of(by_name[target])[-size:] if target in by_name else []
            shown = [ctx.builds[b].name for b in last]
            proof.append(f"{target}: {shown_builds(tuple(shown))}")
        kind = next(iter(targets.values()))[1]
        reported = location in in_play
        out.append(
            Stale(location, kind, reasons[location], why, tuple(proof), reported)
        )
    return out


def _judged(ev: Any, rows_of: dict[tuple[str, str], list[Any]], passing: int) -> bool:
    """Whether a finding is one `propose` removes an entry for: an expected failure
    all of whose tests passed in each of the last `passing` builds, a quiet flaky
    entry, or an entry with no test."""
    if ev.evidence in ("quiet_flaky", "no_tests"):
        return True
    if ev.evidence != "passed":
        return False
    held = rows_of.get((ev.entry, ev.target), [])
    return bool(held) and all(
        r.outcome == Outcome.UNEXPECTED_PASS.value and r.streak >= passing for r in held
    )


def shown_builds(builds: tuple[str, ...]) -> str:
    """'build 7', 'builds 5, 6, 7', or the first and last of many."""
    if len(builds) == 1:
        return f"build {builds[0]}"
    if len(builds) <= MAX_SHOWN_BUILDS:
        return "builds " + ", ".join(builds)
    return f"builds {builds[0]} .. {builds[-1]} ({len(builds)} builds)"
