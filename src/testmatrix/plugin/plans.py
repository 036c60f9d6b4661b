"""While collecting: how a function's marked tests are decided together (the
Decider's plans, one per function and marks), where no test's whole node id needs
reading."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from testmatrix.core.fate import MarkerUse
from testmatrix.core.nodeids import MarkedIds
from testmatrix.core.record import NamedTuple

# decide.py's Act and LeftOutBy, which import this module: a plan holds them
Act = Any
LeftOutBy = Any


class MarkedFunction:
    """While collecting: how the marked tests of one function (with the same
    marks) are decided where no node id decides anything of them. A test whose
    parameters name no model a skip of its markers lists runs (its file's act,
    `runs`); otherwise its fate follows from the models its parameters name (or,
    where they name none, its function's module constants) and the function's
    marks: read in full once per combination of models (`acts`)."""

    __slots__ = (
        "acts",
        "alone",
        "constants",
        "indexes",
        "listed",
        "path",
        "runs",
        "uses",
    )

    def __init__(
        self,
        indexes: tuple[Container[str], ...],
        listed: frozenset[str],
        runs: Act | None,
        path: str,
        uses: tuple[MarkerUse, ...],
        acts: dict[tuple[tuple[str, str], ...], Act | LeftOutBy],
    ):
        self.indexes = indexes  # the listed models of each skip the tests may meet
        self.listed = listed  # all of them
        self.runs = runs  # None: every combination is read in full (`acts`)
        self.path = path
        self.uses = uses
        # whether the module constants the function names hold a listed model
        self.constants: bool | None = None  # not read yet
        # by the models a test's parameters name: shared by the functions whose
        # tests carry the same marker uses, in files with the same marked_runs
        self.acts = acts
        # the act of its tests whose parameters name no model, where a marker
        # without models makes its constants count: the function's own
        self.alone: Act | None = None


class IdsFirst(NamedTuple):
    """While collecting: the plan of a function's marked tests where deselects
    name some of them: the node id first (`MarkedIds`, by the rest of each id),
    then, for those no id decides, the plan they share (`then`)."""

    ids: MarkedIds
    then: Act | MarkedFunction
