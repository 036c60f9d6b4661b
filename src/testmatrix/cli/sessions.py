"""`testmatrix sessions`: every session with its complete pytest command."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any, TypedDict

from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_commands, sessions


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
    runs: list[dict[str, Any]]


def run(args: argparse.Namespace) -> int:
    workspace = load_workspace(args.root)
    rows: list[_SessionRow] = []
    for name, key in sessions(workspace).items():
        commands = session_commands(
            workspace, key.platform, key.suite, variant=key.variant
        )
        command = commands[0]  # a suite of several runs: the first; `runs`: all
        rows.append(
            {
                "session": name,
                "platform": key.platform,
                "variant": key.variant,
                "suite": key.suite,
                "argv": ["pytest", *command.argv],
                "env": dict(command.env),
                "runs": [
                    {"argv": ["pytest", *c.argv], "env": dict(c.env)} for c in commands
                ],
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            for each in row["runs"]:
                env = [f"{k}={v}" for k, v in each["env"].items()]
                print(f"{row['session']}: {shlex.join([*env, *each['argv']])}")
    return 0
