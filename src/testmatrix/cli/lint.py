"""`testmatrix lint`: dead, expired, wasteful or undecidable entries."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lint", help="find dead, expired, wasteful or undecidable skiplist entries"
    )
    p.add_argument(
        "--paths-only",
        action="store_true",
        help="check paths and entries without importing any test",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from testmatrix.tools.lint import lint

    findings, tests = lint(args.root or Path.cwd(), paths_only=args.paths_only)
    for finding in findings:
        print(finding)
    errors = sum(f.severity == "error" for f in findings)
    scope = "paths only" if args.paths_only else f"{tests} collected tests"
    print(
        f"testmatrix lint: {errors} errors, {len(findings) - errors} warnings "
        f"({scope})",
        file=sys.stderr,
    )
    return 1 if errors else 0
