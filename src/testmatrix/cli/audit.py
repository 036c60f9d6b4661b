"""`testmatrix audit`: run what the entries keep out; report stale entries."""

from __future__ import annotations

import argparse
import json
import sys

from testmatrix.config.loader import load_workspace
from testmatrix.errors import TestmatrixError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit", help="run what a platform's entries keep out and report stale entries"
    )
    p.add_argument(
        "--platform",
        required=True,
        help="the platform (or platform:variant) whose entries are audited",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="every entry with its verdict (still needed, stale, fails differently)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any entry is stale or fails differently (a scheduled job)",
    )
    p.add_argument(
        "--simulate",
        action="store_true",
        help="run on hardware that is not the target's; every line says SIMULATED",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from testmatrix.core.targets import hardware_mismatch
    from testmatrix.system.detect import detect
    from testmatrix.tools import audit as au
    from testmatrix.tools.collect import collect
    from testmatrix.tools.explain import targets_named

    workspace = load_workspace(args.root)
    targets = targets_named(workspace, args.platform)
    found = detect()
    variant = targets[0].variant if len(targets) == 1 else None
    mismatch = hardware_mismatch(
        targets[0].platform, variant, found.hardware, found.models, found.describe()
    )
    if mismatch and not args.simulate:
        raise TestmatrixError(
            f"audit of {args.platform} needs its hardware, but this machine has "
            f"{found.describe()}: its tests may pass here for the wrong reason and "
            "call needed entries stale; --simulate runs them anyway, marked SIMULATED"
        )

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    audits = au.audit(
        workspace,
        args.platform,
        collect(workspace).cases,
        simulated=bool(mismatch),
        say=say,
    )
    if args.json:
        print(json.dumps([a.as_dict() for a in audits], indent=2))
    else:
        print(au.render(audits))
    wrong = [a for a in audits if a.verdict in ("stale", "fails differently")]
    return 1 if args.strict and wrong else 0
