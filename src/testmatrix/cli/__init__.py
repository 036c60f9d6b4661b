"""The `testmatrix` command: a row of subcommands over the same workspace and plan."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from testmatrix import __version__
from testmatrix.errors import TestmatrixError

# one module per subcommand, each with add_parser(sub) and run(args)
COMMANDS = (
    "sessions",
    "argv",
    "export",
    "explain",
    "inventory",
    "migrate",
    "lint",
    "audit",
    "report",
    "imports",
    "check_vllm",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="testmatrix", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="workspace root (default: nearest directory with skiplists/)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"testmatrix.cli.{name}").add_parser(sub)
    return parser


# the optional extra each module belongs to (pip install 'NAME[extra]')
EXTRAS = {
    "yaml": "buildkite",
    "buildkite_sdk": "buildkite",
    "jsonschema": "buildkite",
    "libcst": "migrate",
}


def _distribution() -> str:
    """The name this package is installed under (for install advice)."""
    from importlib import metadata

    names = metadata.packages_distributions().get(__package__ or "testmatrix")
    return names[0] if names else "testmatrix"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except TestmatrixError as exc:
        for line in str(exc).splitlines():
            print(f"testmatrix: error: {line}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(
            f"testmatrix: error: 'testmatrix {args.command}' needs the optional "
            f"'{extra}' dependencies (no module {exc.name}): "
            f"pip install '{_distribution()}[{extra}]'",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:
        # the reader left (`testmatrix explain | head`): end quietly, as a process
        # killed by SIGPIPE does, without a traceback at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
