"""`testmatrix inventory`: the platform skips and GPU needs written in test code."""

from __future__ import annotations

import argparse
import json

from testmatrix.config.loader import load_workspace
from testmatrix.errors import TestmatrixError


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


def run(args: argparse.Namespace) -> int:
    from testmatrix.inventory.listing import inventory, render, workspace_paths

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
