"""Node-id lookups that cost the same however many deselects a file or function
has: `IdsBelow` (one function's tests by their [params]) and `DeselectLookup` (the
first deselect of a file prefixing a node id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from testmatrix.core.fate import Fate


class IdsBelow(NamedTuple):
    """One function's tests with no marker a skip names, where deselects name some
    of them: each one's fate from the rest of its node id past the function's
    (`[params]`, or '' unparametrized), what `Rules.fate` gives it. Made by
    `IdsBelow.of` for `Rules.group_fate`.

    The first deselect (in declared order) whose rest starts the test's decides. A
    rest ending in ']' can only start a test's rest where that has a ']' too, so those
    are looked up by the test's rest cut after each of its ']' (one or two lookups per
    test, however many deselects the function has); the few other rests (open
    prefixes such as '[e5-' or '') are compared one by one."""

    closed: dict[str, int]  # rest ending in ']': the index of its first deselect
    open: tuple[tuple[str, int], ...]  # the other rests, with their indexes
    # each deselect's fate, by index (a sequence that may make each on first use:
    # thousands of single-test deselects need no fate until one is asked for)
    fates: Sequence[Fate]
    otherwise: Fate  # a test none of them names
    keys: Sequence[object] = ()  # what each deselect is, by index (Rules's entries)
    size: int = 0  # how many deselects: len(fates)

    @classmethod
    def of(
        cls,
        rests: list[str],
        fates: Sequence[Fate],
        otherwise: Fate,
        keys: Sequence[object] = (),
    ) -> IdsBelow:
        closed: dict[str, int] = {}
        open_: list[tuple[str, int]] = []
        for index, rest in enumerate(rests):
            if rest.endswith("]"):
                closed.setdefault(rest, index)
            else:
                open_.append((rest, index))
        return cls(closed, tuple(open_), fates, otherwise, keys, len(rests))

    def find(self, rest: str) -> int:
        """The index of the deselect deciding a test with this rest of its id, or
        `size` where none names it."""
        return _first_below(self.closed, self.open, rest, self.size)

    def fate(self, rest: str) -> Fate:
        best = _first_below(self.closed, self.open, rest, self.size)
        return self.fates[best] if best < self.size else self.otherwise


def _first_below(
    closed: dict[str, int], open_: tuple[tuple[str, int], ...], rest: str, best: int
) -> int:
    """The lowest index among the rests that start `rest` (`IdsBelow`), else `best`:
    a lookup per ']' of `rest`, then the open rests below the best so far."""
    end = rest.find("]")
    while end >= 0:
        index = closed.get(rest[: end + 1], best)
        best = index if index < best else best
        end = rest.find("]", end + 1)
    for prefix, index in open_:
        if index >= best:
            break
        if rest.startswith(prefix):
            return index
    return best


def _params_at(nodeid: str) -> int:
    """Where a node id's [params] begin (the first '[' past its file), or -1."""
    return nodeid.find("[", nodeid.find("::") + 1)


class DeselectLookup:
    """One file's deselect ids (in precedence order), searched for the first that
    prefixes a node id without comparing it with each: ids with [params] are found
    by the function part of the id (then as `IdsBelow` does), the others are
    compared once per function, not once per test."""

    def __init__(self, ids: tuple[str, ...]):
        self.size = len(ids)
        plain: list[tuple[str, int]] = []
        below: dict[str, tuple[dict[str, int], list[tuple[str, int]]]] = {}
        for index, nodeid in enumerate(ids):
            cut = _params_at(nodeid)
            if cut < 0:
                plain.append((nodeid, index))
                continue
            closed, open_ = below.setdefault(nodeid[:cut], ({}, []))
            rest = nodeid[cut:]
            if rest.endswith("]"):
                closed.setdefault(rest, index)
            else:
                open_.append((rest, index))
        self.plain = tuple(plain)
        self.plain_ids = tuple(nodeid for nodeid, _ in plain)
        self.below = {h: (c, tuple(o)) for h, (c, o) in below.items()}
        self.heads: dict[str, int] = {}  # function part: its first plain id's index

    def first(self, nodeid: str) -> int | None:
        cut = _params_at(nodeid)
        head, rest = (nodeid, "") if cut < 0 else (nodeid[:cut], nodeid[cut:])
        best = self.heads.get(head)
        if best is None:
            best = self.size
            if head.startswith(self.plain_ids):  # one call rules most heads out
                best = next(i for p, i in self.plain if head.startswith(p))
            self.heads[head] = best
        found = self.below.get(head)
        if found is not None and rest:
            best = _first_below(found[0], found[1], rest, best)
        return best if best < self.size else None
