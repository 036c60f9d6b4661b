"""`testmatrix report`: session summaries merged into the platform x suite matrix."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from testmatrix.cli.output import write_output
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import sessions
from testmatrix.dashboard import command as dashboard
from testmatrix.errors import TestmatrixError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="merge session summaries into a Markdown platform x suite matrix"
    )
    p.add_argument(
        "summaries",
        nargs="*",
        help="summary files or glob patterns (default: reports/*/summary*.json; a "
        "parallel step's shards merge into one cell)",
    )
    p.add_argument(
        "--output", "-o", help="write the Markdown here (for buildkite-agent annotate)"
    )
    p.add_argument(
        "--expected",
        action="store_true",
        help="mark the workspace's sessions that sent no summary",
    )
    p.add_argument(
        "--allow-empty",
        action="store_true",
        help="with no summary at all, write a matrix that says so (exit 0)",
    )
    p.add_argument(
        "--history",
        nargs="?",
        const="",
        metavar="DB",
        help="put each red cell's streak from this history beside it; with --html, "
        "build the site from the history's builds (no DB: --db, else the default "
        "history, see `testmatrix history --help`)",
    )
    p.add_argument(
        "--db",
        metavar="PATH|URL",
        help="the history --history reads: a SQLite file or a postgresql:// URL",
    )
    dashboard.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import glob

    from testmatrix.results import reports

    db = _history_db(args)
    if db is not None and dashboard.requested(args) and not args.summaries:
        expected = None
        if args.expected:
            workspace = load_workspace(args.root, check_paths=False)
            expected = [(k.target, k.suite) for k in sessions(workspace).values()]
        return dashboard.run_history(args, db, expected)
    patterns = args.summaries or ["reports/*/summary*.json"]
    paths: list[Path] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        paths += [Path(p) for p in found]
    if not paths and not args.allow_empty:
        raise TestmatrixError(f"no summaries found: {' '.join(patterns)}")
    expected = None
    if args.expected:
        workspace = load_workspace(args.root, check_paths=False)
        expected = [(k.target, k.suite) for k in sessions(workspace).values()]
    if dashboard.requested(args):
        dashboard.run(args, paths, expected)
        if not args.output:
            return 0
    from testmatrix.results.checks import read_checked

    summaries, bad = read_checked(paths)
    streaks = None
    if args.history is not None:
        from testmatrix.history.command import report_streaks

        streaks = report_streaks(db or "", args.root)
    text = reports.matrix(summaries, expected, streaks)
    if bad:  # reported, not fatal: the annotation still shows every good summary
        text += (
            "\n"
            + "\n".join(f":warning: not counted: {reports.md(line)}" for line in bad)
            + "\n"
        )
    if args.output:
        write_output(Path(args.output), text, given=True)
    else:
        sys.stdout.write(text)
    for line in bad:
        print(f"testmatrix: error: {line}", file=sys.stderr)
    return 2 if bad else 0  # bad input, as every other; the matrix is written


def _history_db(args: argparse.Namespace) -> str | None:
    """The history --history names ('' for the default one), None without it."""
    if args.history is None:
        if args.db is not None:
            raise TestmatrixError("--db without --history: give --history too")
        return None
    if args.history and args.db and args.history != args.db:
        raise TestmatrixError("--history DB and --db name two histories: give one")
    if args.history or args.db:
        return args.history or args.db
    from testmatrix.config.loader import find_root
    from testmatrix.history.store import default_path

    return default_path(find_root(args.root or Path.cwd()))
