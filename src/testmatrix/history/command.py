"""`testmatrix history ...`: a thin CLI over the store, ingest and the queries."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import TestmatrixError
from . import evidence, queries
from .render import render
from .store import ENV_DB, RECENT_DEPTH, Store, default_path, open_store

COMMANDS = ("ingest", "status", "diff", "flaky", "entries", "skips")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="PATH|URL",
        help=f"the history: a SQLite file or a postgresql:// URL (default: ${ENV_DB}, "
        "else .testmatrix/history.sqlite in the workspace root)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        help="print JSON (field names in docs/history.md)",
    )
    return common


def _window(p: argparse.ArgumentParser, name: str, default: int, what: str) -> None:
    p.add_argument(
        name,
        type=int,
        default=default,
        metavar="N",
        help=f"{what} (default {default}, at most {RECENT_DEPTH})",
    )


def add_parser(subparsers: Any) -> None:
    """Register `history` and its subcommands."""
    common = _common()
    top = subparsers.add_parser(
        "history", help="remember CI results build after build, and query them"
    )
    sub = top.add_subparsers(dest="history_command", required=True)
    for add in (
        _add_ingest,
        _add_status,
        _add_diff,
        _add_flaky,
        _add_entries,
        _add_skips,
    ):
        add(sub, common)
    top.set_defaults(func=run)


def _add_ingest(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ingest", parents=[common], help="record one build's reports")
    p.add_argument(
        "directory",
        metavar="DIR",
        type=Path,
        help="the build's artifacts: reports/<session>/ summaries and JUnit files",
    )
    p.add_argument(
        "--build",
        required=True,
        metavar="ID",
        help="the build's id (Buildkite build number)",
    )
    p.add_argument(
        "--commit", default="", metavar="SHA", help="the commit the build tested"
    )
    p.add_argument(
        "--date",
        default="",
        metavar="ISO",
        help="when the build ran, ISO 8601 (default: now)",
    )
    p.add_argument(
        "--branch", default="", metavar="B", help="the branch the build ran on"
    )
    p.add_argument(
        "--target",
        metavar="T",
        help="the target of JUnit files with no summary (default: the agent pool "
        "their path names)",
    )


def _add_status(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "status",
        parents=[common],
        help="each test's current outcome per target, and its streak",
    )
    p.add_argument(
        "tests",
        nargs="*",
        metavar="TEST",
        help="node ids or their prefixes (a file, a function)",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="T",
        help="only this target (repeatable)",
    )
    p.add_argument(
        "--suite",
        action="append",
        default=[],
        metavar="S",
        help="only this suite (repeatable)",
    )
    p.add_argument(
        "--failing", action="store_true", help="only tests whose current outcome is red"
    )
    _window(
        p,
        "--window",
        queries.DEFAULT_WINDOW,
        "builds of each target in which outcome changes are counted",
    )


def _add_diff(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "diff", parents=[common], help="what changed between two builds, per target"
    )
    p.add_argument("a", metavar="A", help="the earlier build's id")
    p.add_argument("b", metavar="B", help="the later build's id")
    p.add_argument(
        "--slower",
        type=float,
        default=2.0,
        metavar="X",
        help="report tests at least X times slower (default 2)",
    )
    p.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        metavar="S",
        help="... and at least S seconds slower (default 1)",
    )


def _add_flaky(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "flaky",
        parents=[common],
        help="flaky tests per target (the definition is printed)",
    )
    _window(p, "--window", queries.DEFAULT_WINDOW, "builds of each target looked at")
    p.add_argument(
        "--rate",
        type=float,
        default=0.3,
        metavar="R",
        help="share of consecutive runs that change pass/fail (default 0.3)",
    )
    p.add_argument(
        "--min-changes",
        type=int,
        default=3,
        metavar="N",
        help="changes needed for the rate rule (default 3)",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="T",
        help="only this target (repeatable)",
    )


def _add_entries(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "entries",
        parents=[common],
        help="evidence for each skiplist entry on each target",
    )
    _window(
        p, "--recent", 3, "builds in which a stale or different expected failure counts"
    )
    _window(
        p, "--quiet", 30, "builds with no flake after which a flaky entry is reported"
    )
    p.add_argument(
        "--days",
        type=int,
        default=30,
        metavar="D",
        help="report skips and ignores whose tests ran nowhere for D days (default 30)",
    )


def _add_skips(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "skips",
        parents=[common],
        help="tests that skip themselves, by target and reason",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="T",
        help="only this target (repeatable)",
    )


def _workspace(args: argparse.Namespace) -> Any:
    """The workspace, where there is one (entries and agent pools read it); skiplists
    that do not load are said on stderr, and the command goes on without them."""
    from ..config.loader import load_workspace

    if _root(args) is None:
        return None
    try:
        return load_workspace(args.root, check_paths=False)
    except TestmatrixError as exc:
        first = str(exc).splitlines()[0]
        print(f"testmatrix: note: skiplists not read: {first}", file=sys.stderr)
        return None


def _root(args: argparse.Namespace) -> Path | None:
    from ..config.loader import find_root

    return find_root(args.root or Path.cwd())


def run(args: argparse.Namespace) -> int:
    """Run a history subcommand; bad input is one line (JSON with --json), exit 2."""
    try:
        data, text = _run(args)
    except TestmatrixError as exc:
        if not args.json:
            raise
        print(json.dumps({"error": str(exc)}))
        return 2
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        sys.stdout.write(text)
    return 0


def _open(args: argparse.Namespace, create: bool = False) -> Store:
    return open_store(args.db or default_path(_root(args)), create=create)


def _run(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    command = args.history_command
    if command == "ingest":
        return _ingest(args)
    store = _open(args)
    try:
        if command == "status":
            rows = queries.status(
                store,
                tuple(args.target),
                tuple(args.suite),
                tuple(args.tests),
                args.window,
            )
            if args.failing:
                rows = [r for r in rows if r.outcome in queries.RED_NAMES]
            data: dict[str, Any] = {"window": args.window, "tests": rows}
        elif command == "diff":
            data = dataclasses.asdict(
                queries.diff(
                    store,
                    args.a,
                    args.b,
                    slower=args.slower,
                    min_seconds=args.min_seconds,
                )
            )
        elif command == "flaky":
            flaky = queries.flaky(
                store,
                window=args.window,
                rate=args.rate,
                min_changes=args.min_changes,
                targets=tuple(args.target),
            )
            definition = queries.FLAKY_DEFINITION.format(
                window=args.window, rate=args.rate, min_changes=args.min_changes
            )
            data = {
                "definition": definition,
                "window": args.window,
                "rate": args.rate,
                "min_changes": args.min_changes,
                "tests": flaky,
            }
        elif command == "entries":
            found = evidence.entries(
                store,
                _workspace(args),
                recent=args.recent,
                quiet=args.quiet,
                days=args.days,
            )
            data = {
                "recent": args.recent,
                "quiet": args.quiet,
                "days": args.days,
                "findings": found,
            }
        else:
            data = {"groups": evidence.skips(store, tuple(args.target))}
    finally:
        store.close()
    data = json.loads(json.dumps(data, default=_plain))
    return data, render(command, data)


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(type(value).__name__)


def _ingest(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from .artifacts import agent_pools, read_artifacts
    from .ingest import BuildInfo, ingest

    pools: dict[str, str] = {}
    if not args.target:
        workspace = _workspace(args)
        pools = agent_pools(workspace) if workspace is not None else {}
    found = read_artifacts(args.directory, args.target, pools)
    for note in found.notes:
        print(f"testmatrix: note: {note}", file=sys.stderr)
    store = _open(args, create=True)
    try:
        info = BuildInfo(args.build, args.commit, args.date, args.branch)
        done = ingest(store, info, found.jobs)
    finally:
        store.close()
    data = {**dataclasses.asdict(done), "notes": found.notes, "db": store.name}
    if done.new:
        text = (
            f"build {done.build}: {done.results} results of {done.jobs} jobs "
            f"recorded in {store.name}\n"
        )
    else:
        text = f"build {done.build}: already in {store.name}; nothing changed\n"
    return data, text


def report_streaks(db: str, root: Path | None) -> dict[tuple[str, str], str]:
    """Streaks for `testmatrix report --history`; a history that cannot be read is
    said on stderr and the matrix goes out without them."""
    from ..config.loader import find_root
    from .streaks import red_streaks

    try:
        store = open_store(
            db or default_path(find_root(root or Path.cwd())), create=False
        )
    except TestmatrixError as exc:
        print(f"testmatrix: note: no streaks: {exc}", file=sys.stderr)
        return {}
    try:
        return red_streaks(store)
    finally:
        store.close()
