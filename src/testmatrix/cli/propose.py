"""`testmatrix propose`: skiplist edits the history's evidence supports."""

from __future__ import annotations

import argparse

from testmatrix.propose.command import add_parser as _add_parser
from testmatrix.propose.command import run as run

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    _add_parser(sub)
