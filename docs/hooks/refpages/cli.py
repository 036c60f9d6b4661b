"""The CLI reference, from the argument parser `testmatrix.cli.build_parser()` builds:
every subcommand with its usage, arguments, defaults and help, as `--help` has them.

argparse keeps its actions in `_actions` and a subcommand's help in
`_choices_actions`; there is no public way to walk a parser (the `--help` text is
the only public output, and parsing that back would be the more fragile way).
"""

from __future__ import annotations

import argparse
import functools
import importlib
from typing import Any

from refpages.text import code, prose, table

CLI_MODULE = "testmatrix.cli"
WIDTH = 88  # usage lines wrap here, whatever the terminal that builds the site

INTRO = """\
# CLI reference

`testmatrix` (also `python -m testmatrix`) works on the workspace around the current
directory: the nearest directory holding `skiplists/`, or `--root`. Generated from the
argument parser (`{module}.build_parser()`), so it lists exactly what the command
accepts. Errors are one line each, `testmatrix: error: ...`, with exit status 2 (bad
input, a missing optional dependency with the `pip install` that brings it); a
subcommand's findings exit 1 where its section says so.
"""


def page() -> tuple[str, list[str]]:
    """The page, and every argument that has no help text."""
    cli = importlib.import_module(CLI_MODULE)
    parser = cli.build_parser()
    prog = parser.prog
    missing: list[str] = []
    lines = [INTRO.format(module=CLI_MODULE)]
    lines += _command(parser, prog, None, missing, level=2, title="Global options")
    for name, sub, help_text in _subcommands(parser):
        lines += _command(sub, f"{prog} {name}", help_text, missing, level=2)
    return "\n".join(lines) + "\n", missing


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, Any, str | None]]:
    """(name, parser, help) of each subcommand, in the parser's order; aliases once."""
    found = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help for a in getattr(action, "_choices_actions", [])}
        seen: set[int] = set()
        for name, sub in action.choices.items():
            if id(sub) not in seen:
                seen.add(id(sub))
                found.append((name, sub, helps.get(name)))
    return found


def _command(
    parser: argparse.ArgumentParser,
    prog: str,
    help_text: str | None,
    missing: list[str],
    *,
    level: int,
    title: str | None = None,
) -> list[str]:
    heading = title or f"`{prog}`"
    lines = [f"{'#' * level} {heading}", ""]
    if title is None and not help_text and not parser.description:
        missing.append(f"no help text: {prog}")
    for text in (help_text, parser.description if title is None else None):
        if text and text != argparse.SUPPRESS:
            lines += [prose(text), ""]
    if title is None:
        parser.formatter_class = functools.partial(argparse.HelpFormatter, width=WIDTH)
        usage = parser.format_usage().strip()
        lines += ["```text", usage, "```", ""]
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        called = list(action.option_strings) or [str(action.metavar or action.dest)]
        names = ", ".join(code(n) for n in called)
        if not action.help:
            missing.append(f"no help text: {prog} {called[0]}")
        row = [names, _value(action), _default(action), prose(action.help or "")]
        rows.append(row)
    if rows:
        lines += [*table(["argument", "value", "default", "what it does"], rows), ""]
    return lines


def _value(action: argparse.Action) -> str:
    """What the argument takes: its choices, its metavar, or nothing (a flag)."""
    if action.nargs == 0:
        return "flag"
    if action.choices:
        return " \\| ".join(code(str(c)) for c in action.choices)
    if not action.option_strings:  # a positional: how many
        counts = {"+": "one or more", "*": "any number", "?": "optional"}
        return counts.get(str(action.nargs), "one")
    return code(str(action.metavar or action.dest.upper()))


def _default(action: argparse.Action) -> str:
    default = action.default
    if default is None or default is False or default == argparse.SUPPRESS:
        return ""
    if action.nargs == 0 and default is True:
        return ""
    return code(str(default))
