"""The `inventory` and `migrate` subcommands: their parsers and what they run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import load_workspace
from ..errors import TestmatrixError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inventory",
        help="list the platform skips and GPU needs written in the test code, and "
        "the targets each fires on",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="test files or directories to read (default: [workspace.inventory] "
        "paths, else every suite's)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)

    p = sub.add_parser(
        "migrate",
        help="turn an in-code platform skip into a skiplist entry and remove it from "
        "the test code (shows a diff; --write applies it)",
    )
    p.add_argument("where", metavar="FILE:LINE", help="the skip, as inventory lists it")
    p.add_argument(
        "--write", action="store_true", help="apply the diff (default: only show it)"
    )
    p.add_argument(
        "--issue", help="an issue link for the new entry (http:// or https://)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_migrate)


def run(args: argparse.Namespace) -> int:
    from .listing import inventory, render, workspace_paths

    try:
        workspace = load_workspace(args.root)
        paths = workspace_paths(workspace, args.paths) if args.paths else None
        listed, broken = inventory(workspace, paths)
    except TestmatrixError as exc:
        if not args.json:
            raise
        print(json.dumps({"error": str(exc)}))
        return 2
    if args.json:
        out = {
            "findings": [row.as_dict() for row in listed],
            "unreadable": [{"file": f.path, "error": f.error} for f in broken],
        }
        print(json.dumps(out, indent=2))
    else:
        print(render(listed, broken))
    return 1 if broken else 0


def run_migrate(args: argparse.Namespace) -> int:
    from .migrate import migrate

    try:
        workspace = load_workspace(args.root)
        result = migrate(workspace, args.where, issue=args.issue, write=args.write)
    except TestmatrixError as exc:
        if not args.json:
            raise
        print(json.dumps({"error": str(exc)}))
        return 2
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        sys.stdout.write(result.diff)
        if not args.write:
            print("(not written: pass --write to apply)", file=sys.stderr)
        else:
            written = ", ".join(str(Path(p)) for p in result.written)
            print(f"testmatrix migrate: wrote {written}", file=sys.stderr)
    return 0
