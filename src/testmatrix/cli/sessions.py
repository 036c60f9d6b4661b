"""`testmatrix sessions`: every session with its complete pytest command."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import TypedDict

from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_command, sessions


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sessions", help="list every <platform>-<suite> session and its pytest command"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="a JSON list: session, platform, variant, suite, argv, env each",
    )
    p.set_defaults(func=run)


class _SessionRow(TypedDict):
    """One row of `testmatrix sessions` (its --json output as is)."""

    session: str
    platform: str
    variant: str | None
    suite: str
    argv: list[str]
    env: dict[str, str]


def run(args: argparse.Namespace) -> int:
    workspace = load_workspace(args.root)
    rows: list[_SessionRow] = []
    for name, key in sessions(workspace).items():
        command = session_command(
            workspace, key.platform, key.suite, variant=key.variant
        )
        rows.append(
            {
                "session": name,
                "platform": key.platform,
                "variant": key.variant,
                "suite": key.suite,
                "argv": ["pytest", *command.argv],
                "env": dict(command.env),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            env = [f"{k}={v}" for k, v in row["env"].items()]
            print(f"{row['session']}: {shlex.join([*env, *row['argv']])}")
    return 0
