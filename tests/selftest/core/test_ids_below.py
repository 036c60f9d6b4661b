"""IdsBelow decides a test from its [params] as a scan of the deselects in declared
order would, with one or two lookups per test however many deselects there are."""

from __future__ import annotations

import random

from testmatrix.core.fate import Fate, FateKind
from testmatrix.core.rules import IdsBelow

PIECES = ["a", "b", "e5", "1", "-", "[", "]", "x]y", "small", "2-3"]


def naive(rests: list[str], fates: list[Fate], otherwise: Fate, rest: str) -> Fate:
    return next(
        (f for r, f in zip(rests, fates, strict=True) if rest.startswith(r)), otherwise
    )


def test_ids_below_agrees_with_a_scan_in_declared_order():
    rng = random.Random(20261207)
    otherwise = Fate(FateKind.RUN, "rocm")
    for _ in range(300):
        rests = []
        for _ in range(rng.randint(1, 12)):
            body = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4)))
            rests.append(rng.choice(["", "[" + body, "[" + body + "]", body]))
        fates = [
            Fate(FateKind.DESELECTED, "rocm", message=str(i)) for i in range(len(rests))
        ]
        below = IdsBelow.of(rests, fates, otherwise)
        tests = list(rests) + [
            "[" + "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 5))) + "]"
            for _ in range(30)
        ]
        for rest in tests + [r + "]" for r in rests] + [r + "-z]" for r in rests]:
            assert below.fate(rest) is naive(rests, fates, otherwise, rest), (
                rests,
                rest,
            )


def test_thousands_of_single_test_deselects_cost_a_lookup_each():
    rests = [f"[m{i}-fp16]" for i in range(4000)]
    fates = [Fate(FateKind.DESELECTED, "rocm", message=str(i)) for i in range(4000)]
    below = IdsBelow.of(rests, fates, Fate(FateKind.RUN, "rocm"))
    assert below.open == () and len(below.closed) == 4000
    assert below.fate("[m3999-fp16]") is fates[3999]
    assert below.fate("[m4000-fp16]") is below.otherwise


def test_a_files_deselects_are_found_as_a_scan_of_them_in_order_finds_them():
    from testmatrix.core.nodeids import DeselectLookup

    rng = random.Random(20261208)
    heads = ["t.py", "t.py::", "t.py::test_a", "t.py::test_ab", "t.py::C::test_a"]
    for _ in range(300):
        ids = []
        for _ in range(rng.randint(1, 12)):
            body = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4)))
            head = rng.choice(heads)
            ids.append(head + rng.choice(["", "[" + body, "[" + body + "]", body]))
        lookup = DeselectLookup(tuple(ids))
        tests = [
            rng.choice(heads[2:])
            + rng.choice(
                ["", "[" + "".join(rng.choice(PIECES) for _ in range(3)) + "]"]
            )
            for _ in range(30)
        ]
        for nodeid in tests + ids + [i + "]" for i in ids]:
            scan = next((n for n, i in enumerate(ids) if nodeid.startswith(i)), None)
            assert lookup.first(nodeid) == scan, (ids, nodeid)
