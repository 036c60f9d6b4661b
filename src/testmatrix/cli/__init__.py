"""The `testmatrix` command: a row of subcommands over the same workspace and plan."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
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
    "history",
    "propose",
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
    "psycopg": "postgresql",
}


def _distribution() -> str:
    """The name this package is installed under (for install advice)."""
    from importlib import metadata

    names = metadata.packages_distributions().get(__package__ or "testmatrix")
    return names[0] if names else "testmatrix"


def _error(args: argparse.Namespace | None, lines: list[str], code: int = 2) -> int:
    """Report a refusal: one `testmatrix: error:` line each on stderr, or with
    --json one JSON object on stdout, {"error": first line, "lines": all}."""
    if args is not None and getattr(args, "json", False) is True:
        print(json.dumps({"error": lines[0] if lines else "", "lines": lines}))
    else:
        for line in lines:
            print(f"testmatrix: error: {line}", file=sys.stderr)
    return code


def _parse(
    parser: argparse.ArgumentParser, argv: list[str] | None
) -> argparse.Namespace | int:
    """The parsed arguments; where --json was asked for, a usage error as JSON
    (argparse writes its own to stderr and exits 2)."""
    given = sys.argv[1:] if argv is None else argv
    if "--json" not in given:
        return parser.parse_args(argv)
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            return parser.parse_args(argv)
    except SystemExit as exc:
        if not exc.code:  # --help, --version: their own output, already written
            raise
        lines = said.getvalue().splitlines()
        errors = [
            line.split(": error: ", 1)[1] for line in lines if ": error: " in line
        ]
        code = exc.code if isinstance(exc.code, int) else 2
        print(
            json.dumps({"error": errors[-1] if errors else lines[-1], "lines": errors})
        )
        return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        return args.func(args)
    except TestmatrixError as exc:
        return _error(args, str(exc).splitlines())
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        return _error(
            args,
            [
                f"'testmatrix {args.command}' needs the optional '{extra}' "
                f"dependencies (no module {exc.name}): "
                f"pip install '{_distribution()}[{extra}]'"
            ],
        )
    except BrokenPipeError:
        # the reader left (`testmatrix explain | head`): end quietly, as a process
        # killed by SIGPIPE does, without a traceback at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
