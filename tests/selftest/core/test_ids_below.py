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


def test_a_functions_deselect_fates_are_made_when_asked_and_once():
    """`Rules.group_fate`'s IdsBelow makes a deselect's fate on first use: the same
    fate `Rules.fate` gives, once per entry; a deselected test's record is that
    fate's record without making it."""
    from testmatrix.core.fate import TestCase, deselected_record
    from testmatrix.core.made import DeselectFates, MadeFates
    from testmatrix.core.model import DeselectEntry, Location

    made = MadeFates("rocm")
    entries = tuple(
        DeselectEntry(
            "rocm", "why", issue, None, Location("s.toml", i), nodeid=f"t[{i}]"
        )
        for i, issue in enumerate(["https://x/1", None, "https://x/3"])
    )
    fates = DeselectFates(made, TestCase("t", "t.py"), entries)
    assert made._fates == {}  # nothing made yet
    assert len(fates) == 3
    second = fates[1]
    assert len(made._fates) == 1 and fates[1] is second
    assert second.kind is FateKind.DESELECTED and second.entry is entries[1]
    assert second.message == "deselected on rocm: why (no issue link) [s.toml:1]"
    assert list(fates[0:2]) == [fates[0], second]
    for entry, fate in zip(entries, fates, strict=True):
        assert deselected_record("rocm", entry) == fate.record()


def test_a_functions_ids_below_decide_its_tests_as_a_scan_of_the_files_ids():
    """`DeselectLookup.head_first`, `names_some` and `ids_below` (what
    `Rules.group_fate` builds a function's `IdsBelow` from) give each test of a
    function the first of the file's ids, in order, that starts its id: plain
    ids, ids with [params], open prefixes, and ids of other functions alike."""
    from testmatrix.core.nodeids import DeselectLookup

    rng = random.Random(20261209)
    heads = ["t.py::test_a", "t.py::test_ab", "t.py::C::test_a", "t[1].py::test_a"]
    otherwise = Fate(FateKind.RUN, "rocm")
    checked = 0
    for _ in range(300):
        ids = []
        for _ in range(rng.randint(1, 12)):
            body = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4)))
            head = rng.choice(heads + ["t.py", "t.py::test", "t[1"])
            ids.append(head + rng.choice(["", "[" + body, "[" + body + "]", body]))
        fates = [Fate(FateKind.DESELECTED, "rocm", message=i) for i in ids]
        lookup = DeselectLookup(tuple(ids))
        for head in heads:
            first = lookup.head_first(head)
            below = None
            if lookup.names_some(head):
                whole = fates[first] if first < len(ids) else otherwise
                below = lookup.ids_below(head, fates, whole, ids)
            rests = ["", *(i[len(head) :] for i in ids if i.startswith(head + "["))]
            rests += ["[" + "".join(rng.choice(PIECES) for _ in range(3)) + "]"]
            for rest in rests:
                scan = next(
                    (n for n, i in enumerate(ids) if (head + rest).startswith(i)), None
                )
                found = first if first < len(ids) else None  # its otherwise
                if below is not None:  # ids that name some of its tests only
                    index = below.find(rest)
                    found = index if index < below.size else found
                assert found == scan, (ids, head, rest)
                checked += 1
    assert checked > 500


def test_deselects_are_grouped_by_the_file_their_id_names_in_order():
    from testmatrix.core.model import DeselectEntry, Location
    from testmatrix.core.nodeids import by_file

    rng = random.Random(20261210)
    paths = ["a.py", "b.py", "a.py:", "dir", "dir/a.py", "a"]
    for _ in range(200):
        ids = [
            rng.choice(paths) + rng.choice(["", "::t", "::t[1]", "::", ":::x"])
            for _ in range(rng.randint(0, 15))
        ]
        entries = [
            DeselectEntry("rocm", "r", None, None, Location("s.toml", n), nodeid=i)
            for n, i in enumerate(ids)
        ]
        expected: dict[str, list[DeselectEntry]] = {}
        for entry in entries:
            expected.setdefault(entry.nodeid.split("::", 1)[0], []).append(entry)
        assert by_file(entries) == {k: tuple(v) for k, v in expected.items()}, ids
