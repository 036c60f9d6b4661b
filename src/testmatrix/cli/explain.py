"""`testmatrix explain`: each test's fate on every target, and the deciding entry."""

from __future__ import annotations

import argparse
import json
import sys

from testmatrix.config.loader import load_workspace
from testmatrix.errors import TestmatrixError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="the fate of every test on every platform, and the entry that decided it",
    )
    p.add_argument(
        "test",
        nargs="?",
        help="one test id, or what holds tests: a function, a class, a file, a folder",
    )
    p.add_argument(
        "-k", dest="keyword", help="only tests matching this pytest -k expression"
    )
    p.add_argument(
        "--platform",
        metavar="TARGET",
        help="only this platform and its variants (rocm), or one variant (rocm:mi300)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="{tests: [one row per test and target: its fate and entry], summary}",
    )
    p.add_argument(
        "--summary", action="store_true", help="only the platform x suite table"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from testmatrix.tools import explain as ex
    from testmatrix.tools.collect import collect

    workspace = load_workspace(args.root)
    targets = ex.targets_named(workspace, args.platform)
    collected = collect(workspace, keyword=args.keyword)
    cases = collected.cases
    if args.test:
        # a test id, or what holds tests: a function, a class, a file, a folder
        starts = (args.test + "[", args.test + "::", args.test.rstrip("/") + "/")
        cases = [
            c for c in cases if c.nodeid == args.test or c.nodeid.startswith(starts)
        ]
        if not cases:
            raise TestmatrixError(
                f"unknown test id '{args.test}': no collected test matches it"
            )
    for error in collected.errors:
        print(f"testmatrix: error: {error}", file=sys.stderr)
    rows = ex.explain(workspace, cases, targets)
    from testmatrix.inventory.fates import in_code

    rows = in_code(workspace, rows)  # tests that skip themselves in code
    if args.json:
        table = [
            {"target": t, "suite": s, **c} for (t, s), c in ex.summary(rows).items()
        ]
        print(
            json.dumps(
                {"tests": [r.as_dict() for r in rows], "summary": table}, indent=2
            )
        )
    else:
        print(ex.render(rows, verbose=not args.summary))
    return 1 if collected.errors else 0
