"""Failures grouped into the fewest prefixes: files, parametrizations, test ids."""

from __future__ import annotations

from testmatrix.propose.cluster import covering, failure_groups
from testmatrix.propose.evidence import Failing
from testmatrix.propose.signature import signature_of

KNOWN = [
    "t/test_a.py::test_x",
    "t/test_a.py::test_y",
    "t/test_b.py::test_p[1]",
    "t/test_b.py::test_p[2]",
    "t/test_b.py::test_pp[1]",
    "t/test_b.py::test_q",
    "t/test_c.py::test_r[1]",
    "t/test_c.py::test_r[2]",
]


def test_a_whole_file_is_named_by_its_path() -> None:
    assert covering(["t/test_a.py::test_x", "t/test_a.py::test_y"], KNOWN) == [
        "t/test_a.py"
    ]


def test_a_whole_parametrization_is_its_function_and_bracket() -> None:
    # test_p[ is not a prefix of test_pp: the bracket keeps them apart
    got = covering(["t/test_b.py::test_p[1]", "t/test_b.py::test_p[2]"], KNOWN)
    assert got == ["t/test_b.py::test_p["]


def test_part_of_a_parametrization_stays_test_ids() -> None:
    assert covering(["t/test_c.py::test_r[1]"], KNOWN) == ["t/test_c.py::test_r[1]"]


def test_a_file_whose_parametrizations_all_fail_is_the_file() -> None:
    tests = ["t/test_c.py::test_r[1]", "t/test_c.py::test_r[2]"]
    assert covering(tests, KNOWN) == ["t/test_c.py"]


def test_variants_failing_alike_make_one_entry_the_platform_wide_target_none() -> None:
    sig = signature_of("", "RuntimeError: boom")
    fails = [
        Failing(t, "s", test, sig, ("7",))
        for t in ("rocm:mi300", "rocm:mi355")
        for test in ("t/test_a.py::test_x", "t/test_a.py::test_y")
    ]
    (group,) = failure_groups(
        fails, {"rocm:mi300": set(KNOWN), "rocm:mi355": set(KNOWN)}
    )
    assert (group.platform, group.variants, group.items) == (
        "rocm",
        ("mi300", "mi355"),
        ("t/test_a.py",),
    )
    fails.append(Failing("rocm", "s", "t/test_a.py::test_x", sig, ("7",)))
    groups = failure_groups(
        fails,
        {
            "rocm": {"t/test_a.py::test_x"},
            "rocm:mi300": set(KNOWN),
            "rocm:mi355": set(KNOWN),
        },
    )
    assert [g.variants for g in groups if g.items == ("t/test_a.py",)] == [
        ("mi300", "mi355")
    ]


def test_flaky_parameters_of_one_function_make_one_flaky_entry() -> None:
    from testmatrix.propose.cluster import flaky_groups
    from testmatrix.propose.evidence import Flake

    flakes = [
        Flake("rocm:mi300", f"t/test_b.py::test_p[{n}]", ("rate",), ("5", "6"))
        for n in (1, 2)
    ] + [Flake("rocm:mi300", "t/test_a.py::test_x", ("rerun",), ("7",))]
    (group,) = flaky_groups(flakes, {"rocm:mi300": set(KNOWN)})
    assert group.signature is None and group.variants == ("mi300",)
    assert group.items == ("t/test_a.py::test_x", "t/test_b.py::test_p[")
    assert group.builds == ("5", "6", "7")
