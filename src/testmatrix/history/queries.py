"""The history's questions as functions returning typed records: status (streaks),
diff (between two builds) and flaky. The CLI and the report call these."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from .base import Build, Context, StateRow, caught_up, check_window, in_window
from .outcomes import (
    BY_CODE,
    FAILED_LETTERS,
    PASSED_LETTERS,
    RED,
    SKIPPED,
    Outcome,
    worst,
)
from .store import Store

DEFAULT_WINDOW = 30


@dataclass(slots=True)  # not frozen: 50,000 of them are made per query
class TestStatus:
    """A test's current outcome on a target and its streak (`history status`)."""

    target: str
    suite: str
    test: str
    outcome: str
    since_build: str  # the first build of the current streak
    since_date: str
    since_commit: str
    streak: int  # builds in a row with this outcome (builds without the test skipped)
    last_pass_build: str | None
    last_pass_date: str | None
    last_seen_build: str
    last_seen_date: str
    changes: int  # outcome changes within the window's builds of the target
    entry: str | None
    reason: str | None
    message: str


def _matches(test: str, wanted: tuple[str, ...]) -> bool:
    return any(
        test == w or test.startswith((f"{w}::", f"{w}[", f"{w}/")) for w in wanted
    )


def _changes(letters: str) -> int:
    return sum(1 for a, b in pairwise(letters.upper()) if a != b)


def status(
    store: Store,
    targets: tuple[str, ...] = (),
    suites: tuple[str, ...] = (),
    tests: tuple[str, ...] = (),
    window: int = DEFAULT_WINDOW,
) -> list[TestStatus]:
    """Per test and target: the current outcome, since when, the streak, last pass,
    last seen and outcome changes in the target's last `window` builds. `tests` are
    node ids or their prefixes (a file, a function)."""
    check_window("--window", window)
    ctx = Context(store)
    rows = _status_rows(ctx, ctx.target_ids(targets), suites, tests)
    entries = ctx.names("entries", "location, reason", {r[4] for r in rows if r[4]})
    messages = ctx.names("messages", "error_type, text", {r[5] for r in rows if r[5]})
    builds, names, suite_names = ctx.builds, ctx.targets, ctx.suites
    depth = {t: len(b) - window for t, b in ctx.target_builds().items()}
    out = []
    for (
        target,
        test,
        suite,
        code,
        entry_id,
        message_id,
        start,
        streak,
        passed_id,
        seen_id,
        seen_at,
        recent,
    ) in rows:
        since, seen = builds[start], builds[seen_id]
        passed = builds[passed_id] if passed_id else None
        entry = entries.get(entry_id) if entry_id else None
        # the letters of the window: a slice of `recent`, which ends at seen_at
        shown = recent[max(0, depth[target] - seen_at + len(recent) - 1) :]
        out.append(
            TestStatus(
                names[target],
                suite_names[suite],
                test,
                BY_CODE[code].value,
                since.name,
                since.date,
                since.commit,
                streak,
                passed.name if passed else None,
                passed.date if passed else None,
                seen.name,
                seen.date,
                _changes(shown.replace(".", "")),
                entry[0] if entry else None,
                entry[1] if entry else None,
                _describe(messages.get(message_id)) if message_id else "",
            )
        )
    out.sort(key=lambda s: (s.target, s.test))
    return out


def _status_rows(
    ctx: Context,
    chosen: list[int] | None,
    suites: tuple[str, ...],
    tests: tuple[str, ...],
) -> list[tuple]:
    """The chosen state rows with their test's node id, caught up to their target's
    newest build: target, test, suite, outcome, entry, message, streak start,
    streak, last pass, last seen, its build number, recent letters."""
    sql = (
        "SELECT s.target_id, t.nodeid, s.suite_id, s.outcome, s.entry_id, s.message_id,"
        " s.streak_start, s.streak_len, s.last_pass, s.last_seen, s.seen_at, s.recent"
        " FROM state s JOIN tests t ON t.id = s.test_id"
    )
    if chosen is not None:
        sql += f" WHERE s.target_id IN ({', '.join('?' * len(chosen))})"
    rows = ctx.store.rows(sql, chosen or ())
    if suites:
        ids = {k for k, v in ctx.suites.items() if v in suites}
        rows = [r for r in rows if r[2] in ids]
    if tests:
        rows = [r for r in rows if _matches(r[1], tests)]
    builds = ctx.target_builds()
    out = []
    for r in rows:
        streak, passed, _, seen, seen_at, recent = caught_up(
            builds[r[0]], r[3], r[7], r[8], None, r[9], r[10], r[11]
        )
        out.append((*r[:7], streak, passed, seen, seen_at, recent))
    return out


def _describe(message: tuple[str, str] | None) -> str:
    if not message:
        return ""
    kind, text = message
    if kind in ("", "skip", "pytest.skip", "pytest.xfail") or text.startswith(kind):
        return text
    return f"{kind}: {text}" if text else kind


@dataclass(frozen=True)
class Change:
    """One test on one target that changed between two builds (`history diff`)."""

    target: str
    test: str
    change: str  # new_failure, fixed, newly_skipped, missing, slower
    before: str | None  # the outcome in build A (None: not run there)
    after: str | None
    # why: the entry's reason or the test's skip message, or the failure's message
    reason: str
    before_seconds: float | None
    after_seconds: float | None


@dataclass(frozen=True)
class Diff:
    a: str
    b: str
    changes: list[Change]
    only_in_a: list[str] = field(default_factory=list)  # targets B did not run
    only_in_b: list[str] = field(default_factory=list)


_ONE = tuple[Outcome, int | None, int | None, float | None]


def _build_results(ctx: Context, build: Build) -> dict[tuple[int, int], _ONE]:
    """(target, test) -> the build's outcome there (the worst of its jobs'), entry,
    message and the longest duration."""
    out: dict[tuple[int, int], _ONE] = {}
    for target, test, code, entry, message, duration in ctx.store.rows(
        "SELECT j.target_id, r.test_id, r.outcome, r.entry_id, r.message_id, r.duration"
        " FROM results r JOIN jobs j ON j.id = r.job_id WHERE r.id BETWEEN ? AND ?",
        ctx.result_range(build),
    ):
        outcome = BY_CODE[code]
        key = (target, test)
        found = out.get(key)
        if found is None:
            out[key] = (outcome, entry, message, duration)
        else:
            chosen = worst([found[0], outcome])
            longest = max(
                (d for d in (found[3], duration) if d is not None), default=None
            )
            pick = found if chosen is found[0] else (outcome, entry, message, duration)
            out[key] = (pick[0], pick[1], pick[2], longest)
    return out


def _slower(old: _ONE | None, new: _ONE | None, factor: float, least: float) -> bool:
    was, now = old[3] if old else None, new[3] if new else None
    if was is None or now is None:
        return False
    return now >= was * factor and now - was >= least


def _kind(before: Outcome | None, after: Outcome | None) -> str | None:
    if after is None:
        return "missing"
    if after in RED and before not in RED:
        return "new_failure"
    if before in RED and after not in RED and after not in SKIPPED:
        return "fixed"
    if after in SKIPPED and before is not None and before not in SKIPPED:
        return "newly_skipped"
    return None


def diff(
    store: Store, a: str, b: str, *, slower: float = 2.0, min_seconds: float = 1.0
) -> Diff:
    """What changed from build A to build B, per target: new failures, fixed, newly
    skipped (and why), missing (run in A, not in B, on a target B ran), and tests at
    least `slower` times and `min_seconds` slower."""
    ctx = Context(store)
    first, second = _build_results(ctx, ctx.build(a)), _build_results(ctx, ctx.build(b))
    targets_a = {t for t, _ in first}
    targets_b = {t for t, _ in second}
    found: list[tuple[tuple[int, int], str, _ONE | None, _ONE | None]] = []
    for key in first.keys() | second.keys():
        if key[0] not in targets_a or key[0] not in targets_b:
            continue
        old, new = first.get(key), second.get(key)
        kind = _kind(old[0] if old else None, new[0] if new else None)
        if kind is None and _slower(old, new, slower, min_seconds):
            kind = "slower"
        if kind is not None:
            found.append((key, kind, old, new))
    tests = ctx.names("tests", "nodeid", {k[1] for k, *_ in found})
    why = {n[2] for _, _, _, n in found if n and n[2]} | {
        o[2] for _, _, o, _ in found if o and o[2]
    }
    messages = ctx.names("messages", "error_type, text", why)
    entries = ctx.names(
        "entries", "reason", {n[1] for _, _, _, n in found if n and n[1]}
    )
    changes = []
    for (target, test), kind, old, new in found:
        source = new if new is not None else old
        assert source is not None
        if kind == "newly_skipped" and new is not None and new[1] is not None:
            reason = entries[new[1]]
        else:
            reason = _describe(messages.get(source[2])) if source[2] else ""
        changes.append(
            Change(
                ctx.targets[target],
                tests[test],
                kind,
                old[0].value if old else None,
                new[0].value if new else None,
                reason,
                old[3] if old else None,
                new[3] if new else None,
            )
        )
    changes.sort(key=lambda c: (c.target, c.change, c.test))
    only_a = sorted(ctx.targets[t] for t in targets_a - targets_b)
    only_b = sorted(ctx.targets[t] for t in targets_b - targets_a)
    return Diff(a, b, changes, only_a, only_b)


FLAKY_DEFINITION = (
    "A test is flaky on a target when, within the target's last {window} builds: "
    "(same_commit) it passed and failed on the same commit (two builds of one commit, "
    "or two jobs of one build); or (rerun) it failed and then passed on a rerun within "
    "a build; or (rate) its pass/fail outcome changed at least {min_changes} times and "
    "in at least {rate:.0%} of its consecutive runs (skips not counted). Judged per "
    "test and target, never per job: a test that failed three times and then passed "
    "changed once, and is not flaky."
)


@dataclass(frozen=True)
class FlakyTest:
    """A test that is flaky on a target, and why (`history flaky`)."""

    target: str
    test: str
    suite: str
    reasons: list[str]  # same_commit, rerun, rate
    runs: int  # builds in the window that ran it (skips not counted)
    changes: int  # pass/fail changes between consecutive runs
    rate: float  # changes / (runs - 1)
    builds: list[str]  # builds that show it: reruns, disagreements, flips
    outcome: str  # its current outcome


def _flake_of(
    row: StateRow, ctx: Context, window: int, rate: float, min_changes: int
) -> tuple[list[str], int, int, float, list[str]] | None:
    pairs = in_window(row, ctx.builds_of(row.target), window)
    reasons: list[str] = []
    evidence: set[int] = set()
    by_commit: dict[str, set[bool]] = {}
    commit_builds: dict[str, list[int]] = {}
    runs: list[tuple[int, bool]] = []
    for build, letter in pairs:
        up = letter.upper()
        if letter.islower():
            evidence.add(build)
            reasons.append("same_commit")
        if up == "R":
            evidence.add(build)
            reasons.append("rerun")
        did = True if up in PASSED_LETTERS else False if up in FAILED_LETTERS else None
        if did is None:
            continue
        runs.append((build, did))
        commit = ctx.builds[build].commit
        if commit:
            by_commit.setdefault(commit, set()).add(did)
            commit_builds.setdefault(commit, []).append(build)
    for commit, seen in by_commit.items():
        if len(seen) > 1:
            reasons.append("same_commit")
            evidence.update(commit_builds[commit])
    flips = [b for (_, x), (b, y) in pairwise(runs) if x != y]
    share = len(flips) / (len(runs) - 1) if len(runs) > 1 else 0.0
    if len(flips) >= min_changes and share >= rate:
        reasons.append("rate")
        evidence.update(flips)
    if not reasons:
        return None
    builds = sorted(evidence, key=lambda b: ctx.builds[b].rank)
    names = [ctx.builds[b].name for b in builds]
    return sorted(set(reasons)), len(runs), len(flips), round(share, 4), names


def flaky(
    store: Store,
    *,
    window: int = DEFAULT_WINDOW,
    rate: float = 0.3,
    min_changes: int = 3,
    targets: tuple[str, ...] = (),
) -> list[FlakyTest]:
    """Tests flaky per target by FLAKY_DEFINITION."""
    check_window("--window", window)
    ctx = Context(store)
    # only rows whose recent letters could show a flake are decoded
    rows = ctx.state(ctx.target_ids(targets))
    found = []
    for row in rows:
        recent = row.recent.replace(".", "")
        if len(set(recent)) < 2 and "R" not in recent and recent.isupper():
            continue  # one outcome throughout: no flake possible
        flake = _flake_of(row, ctx, window, rate, min_changes)
        if flake is not None:
            found.append((row, flake))
    tests = ctx.names("tests", "nodeid", {r.test for r, _ in found})
    out = [
        FlakyTest(
            ctx.targets[r.target],
            tests[r.test],
            ctx.suites[r.suite],
            *f,
            r.outcome.value,
        )
        for r, f in found
    ]
    out.sort(key=lambda f: (f.target, f.test))
    return out


RED_NAMES = frozenset(o.value for o in RED)
