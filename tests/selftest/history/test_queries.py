"""Every query against the truth computed from the generated history itself."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from pathlib import Path

import pytest

from selftest.history import histgen as gen
from selftest.history.conftest import new_database, status_facts
from selftest.history.histgen import FAILED, PASSED, RED, SKIPS, BuildSpec
from testmatrix.history import diff, entries, flaky, ingest, open_store, skips, status
from testmatrix.history.artifacts import read_artifacts
from testmatrix.history.ingest import BuildInfo

POOLS = {r"gpu\-h100": "cuda"}  # what the repository's skiplists say of cuda's queue


def ingest_all(url: str, history: list[BuildSpec], tmp: Path, order=None) -> None:
    store = open_store(url, create=True)
    try:
        for n in order if order is not None else range(len(history)):
            build = history[n]
            # every other build as today's plugin leaves it (the summaries' results
            # read), the rest as an older one's (their JUnit files read): one history
            folder = gen.write_build(build, tmp / build.name, results=n % 2 == 0)
            jobs = read_artifacts(folder, None, POOLS).jobs
            sessions = {j.source.endswith(".json") for j in jobs if j.target != "cuda"}
            assert sessions == {n % 2 == 0}  # where each session's tests came from
            ingest(store, BuildInfo(build.name, build.commit, build.date), jobs)
    finally:
        store.close()


# one worker generates and ingests each history once for all of them (-n 2)
pytestmark = pytest.mark.xdist_group("history-queries")


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)],
)
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[BuildSpec]]:
    """The generated history, ingested build by build (once per module: the
    queries only read it)."""
    tmp = tmp_path_factory.mktemp("history")
    url = new_database(request, request.param, tmp)
    builds = gen.generate(seed=7)
    ingest_all(url, builds, tmp)
    return url, builds


def _store(url: str):
    return open_store(url, create=False)


def truth_status(history: list[BuildSpec], window: int) -> dict[tuple[str, str], tuple]:
    out = {}
    for (target, test), seq in gen.sequences(history).items():
        outcomes = [gen.worst(results).outcome for _, results in seq]
        streak = 1
        while streak < len(outcomes) and outcomes[-streak - 1] == outcomes[-1]:
            streak += 1
        passes = [n for (n, _), o in zip(seq, outcomes, strict=True) if o in PASSED]
        span = set(gen.target_builds(history, target)[-window:])
        seen = [o for (n, _), o in zip(seq, outcomes, strict=True) if n in span]
        changes = sum(a != b for a, b in pairwise(seen))
        entry = gen.worst(seq[-1][1]).entry
        out[(target, test)] = (
            outcomes[-1],
            history[seq[-streak][0]].name,
            streak,
            history[passes[-1]].name if passes else None,
            history[seq[-1][0]].name,
            changes,
            entry,
        )
    return out


@pytest.mark.parametrize("window", [30, 4])
def test_status_matches_the_generated_history(history, window: int) -> None:
    url, builds = history
    store = _store(url)
    got = status_facts(store, window)
    store.close()
    assert got == truth_status(builds, window)
    # the scenarios' stories, as a reader would check them
    breaks = got[("rocm:mi300", "tests/lang/test_breaks.py::test_breaks_0")]
    assert breaks[:3] == ("failed", "105", 7)


def test_status_filters_by_target_suite_and_test_prefix(history) -> None:
    url, _ = history
    store = _store(url)
    rows = status(store, targets=("cuda",), suites=("gpu-h100-kern",))
    assert rows and {(r.target, r.suite) for r in rows} == {("cuda", "gpu-h100-kern")}
    one = status(store, tests=("tests/lang/test_fixed.py",))
    store.close()
    assert {r.test for r in one} == {"tests/lang/test_fixed.py::test_fixed_0"}
    assert {r.target for r in one} == set(gen.TARGETS)


def truth_diff(history: list[BuildSpec], a: int, b: int) -> set[tuple]:
    first, second = gen.combined(history[a]), gen.combined(history[b])
    targets = {t for t, _ in first} & {t for t, _ in second}
    out = set()
    for key in first.keys() | second.keys():
        if key[0] not in targets:
            continue
        old = gen.worst(first[key]) if key in first else None
        new = gen.worst(second[key]) if key in second else None
        before, after = (old.outcome if old else None), (new.outcome if new else None)
        if new is None:
            kind = "missing"
        elif after in RED and before not in RED:
            kind = "new_failure"
        elif before in RED and after not in RED | SKIPS:
            kind = "fixed"
        elif after in SKIPS and before is not None and before not in SKIPS:
            kind = "newly_skipped"
        elif (
            old
            and max(r.duration for r in second[key])
            >= 2 * max(r.duration for r in first[key]) + 0
            and max(r.duration for r in second[key])
            - max(r.duration for r in first[key])
            >= 1
        ):
            kind = "slower"
        else:
            continue
        out.add((key[0], key[1], kind, before, after))
    return out


@pytest.mark.parametrize(("a", "b"), [(3, 4), (6, 7), (7, 8), (8, 11), (0, 11)])
def test_diff_matches_the_generated_history(history, a: int, b: int) -> None:
    url, builds = history
    store = _store(url)
    found = diff(store, builds[a].name, builds[b].name)
    store.close()
    got = {(c.target, c.test, c.change, c.before, c.after) for c in found.changes}
    assert got == truth_diff(builds, a, b)
    assert found.only_in_a == found.only_in_b == []


def test_diff_says_why_a_test_is_newly_skipped_and_names_vanished_tests(
    history,
) -> None:
    url, builds = history
    store = _store(url)
    found = diff(store, builds[6].name, builds[7].name)
    store.close()
    kinds = {(c.test.split("::")[-1], c.change) for c in found.changes}
    assert ("test_vanish_0", "missing") in kinds
    slow = diff(_store(url), builds[7].name, builds[8].name)
    assert {c.test for c in slow.changes if c.change == "slower"} == {
        "tests/lang/test_slow.py::test_slow_0",
        "tests/kern/test_slow.py::TestCase::test_slow_1[model-1]",
    }


def truth_flaky(history: list[BuildSpec], window: int, rate: float, least: int) -> dict:
    out = {}
    for (target, test), seq in gen.sequences(history).items():
        span = set(gen.target_builds(history, target)[-window:])
        seq = [(n, results) for n, results in seq if n in span]
        reasons = set()
        by_commit: dict[str, set[bool]] = {}
        runs = []
        for n, results in seq:
            did = {r.outcome in PASSED for r in results if r.outcome in PASSED | FAILED}
            if len(did) > 1:
                reasons.add("same_commit")
            top = gen.worst(results).outcome
            if top == "rerun_passed":
                reasons.add("rerun")
            if top in PASSED | FAILED:
                runs.append(top in PASSED)
                by_commit.setdefault(history[n].commit, set()).add(top in PASSED)
        if any(len(v) > 1 for v in by_commit.values()):
            reasons.add("same_commit")
        flips = sum(x != y for x, y in pairwise(runs))
        if flips >= least and flips / (len(runs) - 1) >= rate:
            reasons.add("rate")
        if reasons:
            out[(target, test)] = sorted(reasons)
    return out


@pytest.mark.parametrize(("window", "rate", "least"), [(30, 0.3, 3), (5, 0.5, 2)])
def test_flaky_matches_the_definition(history, window, rate, least) -> None:
    url, builds = history
    store = _store(url)
    got = {
        (f.target, f.test): f.reasons
        for f in flaky(store, window=window, rate=rate, min_changes=least)
    }
    store.close()
    assert got == truth_flaky(builds, window, rate, least)
    assert got  # the history has flaky tests of every kind
    assert {r for v in got.values() for r in v} == {
        "same_commit",
        "rerun",
        "rate",
    } or window < 30


def test_a_test_that_failed_then_passed_is_not_flaky(history) -> None:
    url, _ = history
    store = _store(url)
    names = {f.test for f in flaky(store)}
    store.close()
    assert not any("test_fixed" in n or "test_breaks" in n for n in names)


def truth_skips(history: list[BuildSpec]) -> dict[tuple[str, str], tuple]:
    groups: dict[tuple[str, str], list] = {}
    for (target, test), seq in gen.sequences(history).items():
        last = gen.worst(seq[-1][1])
        if last.outcome != "skipped_in_code":
            continue
        streak = 1
        while (
            streak < len(seq)
            and gen.worst(seq[-streak - 1][1]).outcome == "skipped_in_code"
        ):
            streak += 1
        groups.setdefault((target, last.message), []).append(
            (test, seq[-streak][0], streak)
        )
    return {
        key: (
            sorted(t for t, _, _ in v),
            history[min(s for _, s, _ in v)].name,
            max(n for *_, n in v),
        )
        for key, v in groups.items()
    }


def test_skips_groups_self_skipped_tests_by_target_and_reason(history) -> None:
    url, builds = history
    store = _store(url)
    got = {
        (g.target, g.reason): (g.tests, g.since_build, g.builds) for g in skips(store)
    }
    store.close()
    assert got == truth_skips(builds)
    need = got[("rocm:mi300", gen.NEED_GPUS)]
    assert len(need[0]) == 2 and need[1:] == ("100", 12)


def truth_entries(
    history: list[BuildSpec], recent: int, quiet: int, days: int
) -> set[tuple]:
    seqs = gen.sequences(history)
    held: dict[tuple[str, str], list] = {}
    for (target, test), seq in seqs.items():
        entry = gen.worst(seq[-1][1]).entry
        if entry:
            held.setdefault((entry, target), []).append((test, seq))
    newest = max(dt.datetime.fromisoformat(b.date) for b in history)
    cutoff = newest - dt.timedelta(days=days)
    ran = {}
    for (_, test), seq in seqs.items():
        for n, results in seq:
            if gen.worst(results).outcome not in SKIPS:
                ran[test] = max(ran.get(test, ""), history[n].date)
    out = set()
    for (entry, target), tests in held.items():
        kind = gen.ENTRIES[entry][0]
        names = tuple(sorted(t for t, _ in tests))
        last = set(gen.target_builds(history, target)[-recent:])

        def outcomes(seq, span):
            return [gen.worst(r).outcome for n, r in seq if n in span]

        for evidence, outcome in (
            ("passed", "unexpected_pass"),
            ("fails_differently", "fails_differently"),
        ):
            hit = tuple(sorted(t for t, seq in tests if outcome in outcomes(seq, last)))
            if hit:
                out.add((entry, target, evidence, hit))
        builds = gen.target_builds(history, target)
        if kind == "flaky" and len(builds) >= quiet:
            span = set(builds[-quiet:])
            seen = [o for _, seq in tests for o in outcomes(seq, span)]
            mixed = any(
                len({r.outcome in PASSED for r in res if r.outcome in PASSED | FAILED})
                > 1
                for _, seq in tests
                for n, res in seq
                if n in span
            )
            if (
                seen
                and not mixed
                and not {"rerun_passed", "failed", "error"} & set(seen)
            ):
                out.add((entry, target, "quiet_flaky", names))
        if kind in ("skip", "ignore") and not any(
            ran.get(t, "") >= cutoff.isoformat() for t, _ in tests
        ):
            out.add((entry, target, "not_run", names))
        if not any(seq[-1][0] in last for _, seq in tests):
            out.add((entry, target, "no_tests", names))
    return out


@pytest.mark.parametrize(("recent", "quiet", "days"), [(3, 5, 30), (2, 12, 3)])
def test_entries_evidence_matches_the_generated_history(
    history, recent, quiet, days
) -> None:
    url, builds = history
    store = _store(url)
    found = entries(store, recent=recent, quiet=quiet, days=days)
    store.close()
    got = {(e.entry, e.target, e.evidence, tuple(e.tests)) for e in found}
    assert got == truth_entries(builds, recent, quiet, days)


def test_entries_names_each_kind_of_evidence(history) -> None:
    url, _ = history
    store = _store(url)
    found = {(e.entry, e.target, e.evidence) for e in entries(store, recent=3, quiet=5)}
    store.close()
    assert (gen.E_XFAIL, "rocm:mi355", "passed") in found
    assert (gen.E_XFAIL, "rocm:mi355", "fails_differently") in found
    assert (gen.E_FLAKY, "rocm:mi300", "quiet_flaky") in found
    assert (gen.E_FLAKY, "rocm:mi355", "quiet_flaky") not in found  # it flaked in 111
    assert (gen.E_NOWHERE, "rocm:mi300", "not_run") in found
    assert (gen.E_SKIP, "rocm:mi300", "not_run") not in found  # it runs on cuda
    assert (gen.E_GONE, "rocm:mi300", "no_tests") in found


def test_a_backfilled_build_gives_the_same_answers(db_url: str, tmp_path: Path) -> None:
    """Builds ingested out of date order: the rollup is rebuilt, and every query
    answers as if they came in order."""
    builds = gen.generate(seed=3, builds=8)
    ingest_all(db_url, builds, tmp_path, order=[0, 1, 2, 5, 6, 7, 3, 4])
    store = _store(db_url)
    got = status_facts(store)
    store.close()
    assert got == truth_status(builds, 30)


def test_a_shallow_rollup_answers_as_a_deep_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`recent` cut back (to 4 letters here, 100 in use) and tests absent for longer
    than that: windows within the depth answer as the generated truth says."""
    from testmatrix.history import rollup

    monkeypatch.setattr(rollup, "RECENT_DEPTH", 4)
    builds = gen.generate(seed=5, builds=14)
    url = str(tmp_path / "h.sqlite")
    ingest_all(url, builds, tmp_path)
    store = _store(url)
    got = {
        (s.target, s.test): (s.outcome, s.since_build, s.streak, s.changes)
        for s in status(store, window=4)
    }
    flakes = {(f.target, f.test): f.reasons for f in flaky(store, window=4)}
    store.close()
    truth = {k: (v[0], v[1], v[2], v[5]) for k, v in truth_status(builds, 4).items()}
    assert got == truth
    assert flakes == truth_flaky(builds, 4, 0.3, 3)
    returned = got[("cuda", "tests/lang/test_returns.py::test_returns_0")]
    assert returned[:3] == ("failed", "110", 4)


def test_a_version_2_database_answers_the_same_after_its_migration(
    tmp_path: Path,
) -> None:
    """Version 2 wrote every row at every build, up to its test's last report;
    version 3 writes a row only when its test's result changes or it goes missing.
    A history made as version 2 left it (every row caught up, then cut back to its
    last report) migrates to answers equal to the generated truth."""
    import sqlite3

    from testmatrix.history.base import Context, caught_up

    builds = gen.generate(seed=11, builds=12)
    url = str(tmp_path / "h.sqlite")
    ingest_all(url, builds, tmp_path)
    store = _store(url)
    ctx, old = Context(store), []
    for target, test, code, streak, passed, ran, seen, seen_at, recent in store.rows(
        "SELECT target_id, test_id, outcome, streak_len, last_pass, last_run,"
        " last_seen, seen_at, recent FROM state"
    ):
        row = caught_up(ctx.builds_of(target), code, streak, passed, ran, seen,
                        seen_at, recent)  # fmt: skip
        letters = row[5].rstrip(".")
        old.append((*row[:4], row[4] - (len(row[5]) - len(letters)), letters,
                    target, test))  # fmt: skip
    store.close()
    newest = max(r[4] for r in old)
    assert any(r[4] < newest for r in old)  # tests the last builds lacked: cut back
    with sqlite3.connect(url) as conn:
        conn.executemany(
            "UPDATE state SET streak_len = ?, last_pass = ?, last_run = ?,"
            " last_seen = ?, seen_at = ?, recent = ? WHERE target_id = ?"
            " AND test_id = ?",
            old,
        )
        conn.execute("DELETE FROM schema_version WHERE version = 3")
    store = _store(url)
    got = status_facts(store)
    flakes = {(f.target, f.test): f.reasons for f in flaky(store)}
    assert store.value("SELECT max(version) FROM schema_version") == 3
    store.close()
    assert got == truth_status(builds, 30)
    assert flakes == truth_flaky(builds, 30, 0.3, 3)
