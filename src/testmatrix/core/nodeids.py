"""Node-id lookups that cost the same however many deselects a file or function
has: `DeselectLookup` (the first deselect of a file prefixing a node id) and
`IdsBelow` (one function's tests by their [params]).

An id that prefixes a test's id is that id cut somewhere. Where it ends in ']', the
cut follows one of the test id's ']': a dict lookup per ']' (one or two a test).
Where it is no longer than the function part of the test's id (the id up to its
[params]), the cut is at its own length: a dict lookup per distinct length, once
per function. The rest (ids longer than the function part, not ending in ']':
open prefixes such as 'test_f[e5-') start with the function part and '[': found
once per function in the sorted ids, and compared with each of its tests. Nothing
here is a loop over the ids in Python: a file's thousands of single-test deselects
are indexed by dict, set and sort, in C."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import groupby
from operator import attrgetter, itemgetter, methodcaller

from testmatrix.core.fate import Fate
from testmatrix.core.model import DeselectEntry
from testmatrix.core.record import NamedTuple

_Open = tuple[tuple[str, int], ...]  # (rest past the function part, index)
_FIRST, _SECOND, _LAST = itemgetter(0), itemgetter(1), itemgetter(-1)
_NODEID, _PARTITION = attrgetter("nodeid"), methodcaller("partition", "::")


class IdsBelow(NamedTuple):
    """One function's tests with no marker a skip names, where deselects name some
    of them: each one's fate from the rest of its node id past the function's
    (`[params]`, or '' unparametrized), what `Rules.fate` gives it. Made by
    `DeselectLookup.ids_below` for `Rules.group_fate` (or `IdsBelow.of`, from the
    rests alone).

    The first deselect (in precedence order) whose id starts the test's decides:
    the ids ending in ']' are looked up by `head` and the test's rest cut after
    each of its ']'; the few others (`open`) are compared one by one."""

    closed: dict[str, int]  # id (head + rest) ending in ']': its first index
    open: _Open  # the other rests, with their indexes, in index order
    # each deselect's fate, by index (a sequence that may make each on first use:
    # thousands of single-test deselects need no fate until one is asked for)
    fates: Sequence[Fate]
    otherwise: Fate  # a test none of them names
    keys: Sequence[object] = ()  # what each deselect is, by index (Rules's entries)
    # how many deselects may decide: an index from here on never does (a file's
    # deselects, where the first id prefixing the function's stands at `size`)
    size: int = 0
    head: str = ""  # the function's node id, which the keys of `closed` start with

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
        return _first_below(self.closed, self.open, self.head, rest, self.size)

    def fate(self, rest: str) -> Fate:
        best = _first_below(self.closed, self.open, self.head, rest, self.size)
        return self.fates[best] if best < self.size else self.otherwise


def _first_below(
    closed: dict[str, int], open_: _Open, head: str, rest: str, best: int
) -> int:
    """The lowest index among the ids that start `head + rest` past `head`, else
    `best`: a lookup per ']' of `rest`, then the open rests below the best so far."""
    end = rest.find("]")
    while end >= 0:
        index = closed.get(head + rest[: end + 1], best)
        best = index if index < best else best
        end = rest.find("]", end + 1)
    for prefix, index in open_:
        if index >= best:
            break
        if rest.startswith(prefix):
            return index
    return best


class MarkedIds(NamedTuple):
    """`Rules.by_id` of each test of one function part, from the rest of its node
    id ('' or '[params]'), made by `Rules.marked_ids` where no flaky pattern can
    name them: False (no id decides), the deselect expecting no error that leaves
    the test out, or True (the test must be read whole)."""

    below: IdsBelow  # the first deselect naming a test, by the rest of its id
    deselects: Sequence[DeselectEntry]  # the file's, in the lookup's order
    leave: bool  # such a deselect leaves its tests out (the file decides no more)

    def by_rest(self, rest: str) -> DeselectEntry | bool:
        index = self.below.find(rest)
        if index >= len(self.deselects):
            return False
        entry = self.deselects[index]
        return entry if entry.fails is None and self.leave else True


def literal_prefix(pattern: str) -> str:
    """What every node id a flaky pattern matches starts with: the pattern up to
    its first wildcard (it matches as a prefix or as a glob)."""
    cut = [i for i in (pattern.find(c) for c in "*?[") if i >= 0]
    return pattern[: min(cut)] if cut else pattern


def by_file(entries: Sequence[DeselectEntry]) -> dict[str, tuple[DeselectEntry, ...]]:
    """Deselects by the file or directory their id names (its part before '::'),
    in their order. Each id's part is cut, and a table's run of ids of one file
    grouped, in C (`map`, `groupby`): a step in Python per run, not per id."""
    paths = map(_FIRST, map(_PARTITION, map(_NODEID, entries)))
    index: dict[str, list[DeselectEntry]] = {}
    for path, run in groupby(zip(paths, entries, strict=True), key=_FIRST):
        index.setdefault(path, []).extend(map(_SECOND, run))
    return {path: tuple(found) for path, found in index.items()}


def params_at(nodeid: str) -> int:
    """Where a node id's [params] begin (the first '[' past its file), or -1."""
    return nodeid.find("[", nodeid.find("::") + 1)


class DeselectLookup:
    """One file's deselect ids (in precedence order), searched for the first that
    prefixes a node id without comparing it with each (see the module's
    docstring): built in C, a few lookups per function and per test."""

    def __init__(self, ids: tuple[str, ...]):
        size = self.size = len(ids)
        # each id's first index: a later duplicate never decides
        self.index = dict(zip(reversed(ids), range(size - 1, -1, -1), strict=True))
        self.lengths = sorted(set(map(len, self.index)))
        self.sorted = sorted(self.index)
        # whether some id ends in something else than ']' (an open prefix)
        self.loose = "" in self.index or bool(set(map(_LAST, self.index)) - {"]"})
        # function part: the first id prefixing it, whether ids past it start
        # with it and '[' (they name some of its tests), and the open ones
        self.heads: dict[str, tuple[int, bool, _Open]] = {}

    def _head(self, head: str) -> tuple[int, bool, _Open]:
        found = self.heads.get(head)
        if found is not None:
            return found
        best = self.size
        index = self.index
        for length in self.lengths:
            if length > len(head):
                break
            at = index.get(head[:length], best)
            best = at if at < best else best
        ids = self.sorted
        start = bisect_left(ids, head + "[")
        named = start < len(ids) and ids[start].startswith(head + "[")
        open_: _Open = ()
        if named and self.loose:  # the ids past the function part ending otherwise
            end = bisect_left(ids, head + "\\")  # the character after '['
            cut = len(head)
            open_ = tuple(
                sorted(
                    (
                        (i[cut:], index[i])
                        for i in ids[start:end]
                        if not i.endswith("]")
                    ),
                    key=_SECOND,
                )
            )
        found = self.heads[head] = (best, named, open_)
        return found

    def head_first(self, head: str) -> int:
        """The index of the first id prefixing a function part (a node id without
        [params]), or `size`: what decides all of its tests where no id with
        [params] names one first."""
        return self._head(head)[0]

    def names_some(self, head: str) -> bool:
        """Whether ids past a function part name some of its tests (they start
        with it and '[')."""
        return self._head(head)[1]

    def first(self, nodeid: str) -> int | None:
        cut = params_at(nodeid)
        head = nodeid if cut < 0 else nodeid[:cut]
        best, named, open_ = self.heads.get(head) or self._head(head)
        if named and cut >= 0:
            best = _first_below(self.index, open_, head, nodeid[cut:], best)
        return best if best < self.size else None

    def ids_below(
        self, head: str, fates: Sequence[Fate], otherwise: Fate, keys: Sequence[object]
    ) -> IdsBelow:
        """The `IdsBelow` of a function part's tests, by the indexes here (`fates`
        and `keys` are the file's, in the same order), where `names_some`."""
        best, _, open_ = self._head(head)
        return IdsBelow(self.index, open_, fates, otherwise, keys, best, head)
