"""`testmatrix history`: record builds' results and ask what CI did over time."""

from __future__ import annotations

import argparse

from testmatrix.history.command import add_parser as _add_parser
from testmatrix.history.command import run as run

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    _add_parser(sub)
