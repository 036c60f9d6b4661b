"""`testmatrix argv`: the complete command of one session."""

from __future__ import annotations

import argparse
import json
import shlex

from testmatrix.config.loader import load_workspace
from testmatrix.core.session import SessionKey, session_commands, session_named
from testmatrix.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("argv", help="print the complete command of one session")
    p.add_argument(
        "names",
        nargs="+",
        metavar="SESSION",
        help="a session as `nox -l` lists it (rocm-pooling), or a platform and a suite",
    )
    p.add_argument(
        "--json", action="store_true", help='{"argv": [pytest arguments], "env": {}}'
    )
    p.add_argument("--variant", help="with a platform and a suite: this variant's")
    p.add_argument(
        "--no-skiplist", action="store_true", help="the command with no entry applied"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    workspace = load_workspace(args.root)
    if len(args.names) == 1:
        key = session_named(workspace, args.names[0])
    elif len(args.names) == 2:
        platform, suite = args.names
        key = SessionKey(platform, args.variant, suite)
    else:
        raise UsageError("argv takes a session name, or a platform and a suite")
    posargs = ["--no-skiplist"] if args.no_skiplist else []
    commands = session_commands(
        workspace, key.platform, key.suite, variant=key.variant, posargs=posargs
    )
    if args.json:  # a suite of several runs: each run's, in order
        many = [{"run": c.run, **c.as_dict()} for c in commands]
        shown = commands[0].as_dict() if len(commands) == 1 else {"runs": many}
        print(json.dumps(shown, indent=2))
    else:  # one line per run; every run runs, whatever an earlier one gave
        for command in commands:
            env = [f"{k}={v}" for k, v in command.env.items()]
            print(shlex.join([*env, "pytest", *command.argv]))
    return 0
