"""The `testmatrix` command: a row of subcommands over the same workspace and plan."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from .config import load_workspace
from .errors import TestmatrixError
from .plan import platform_named, session_argv, session_name, suite_named


def _sessions(args) -> int:
    workspace = load_workspace(args.root)
    rows = []
    for platform in workspace.platforms.values():
        for suite in workspace.suites.values():
            rows.append(
                {
                    "session": session_name(platform.name, suite.name),
                    "platform": platform.name,
                    "suite": suite.name,
                    "argv": ["pytest", *session_argv(workspace, platform.name, suite.name)],
                }
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['session']}: {shlex.join(row['argv'])}")
    return 0


def _argv(args) -> int:
    workspace = load_workspace(args.root)
    platform_named(workspace, args.platform)
    suite_named(workspace, args.suite)
    print(shlex.join(["pytest", *session_argv(workspace, args.platform, args.suite, apply=not args.no_skiplist)]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="testmatrix", description=__doc__)
    parser.add_argument("--root", type=Path, default=None, help="workspace root (default: nearest directory with skiplists/)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sessions", help="list every <platform>-<suite> session and its pytest command")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_sessions)

    p = sub.add_parser("argv", help="print the pytest command of one session")
    p.add_argument("platform")
    p.add_argument("suite")
    p.add_argument("--no-skiplist", action="store_true", help="the command with no entry applied")
    p.set_defaults(func=_argv)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except TestmatrixError as exc:
        for line in str(exc).splitlines():
            print(f"testmatrix: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
