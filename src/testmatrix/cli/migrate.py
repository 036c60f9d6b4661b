"""`testmatrix migrate FILE:LINE`: an in-code platform skip into a skiplist entry."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from testmatrix.config.loader import load_workspace
from testmatrix.errors import TestmatrixError


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from testmatrix.inventory.migrate import migrate

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
