"""Three-valued evaluation of skip conditions on targets."""

from __future__ import annotations

import pytest

from testmatrix.inventory import evaluate as ev
from testmatrix.inventory import predicates

CFG = predicates.build(
    predicates={
        "current_platform.has_device_capability(90)": ("cuda:h100", "rocm"),
        "on_gfx950()": ("rocm:mi355",),
    }
)
ROCM = ev.Where("rocm")
MI300 = ev.Where("rocm", "mi300")
MI355 = ev.Where("rocm", "mi355")
CUDA = ev.Where("cuda")
H100 = ev.Where("cuda", "h100")


def decide(text: str, where: ev.Where) -> ev.Tri:
    return ev.decide(text, CFG, where)[0]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("current_platform.is_rocm()", {ROCM: True, MI300: True, CUDA: False}),
        ("not current_platform.is_cuda()", {ROCM: True, CUDA: False}),
        ("current_platform.is_cuda_alike()", {ROCM: True, CUDA: True}),
        ("torch.version.hip is not None", {ROCM: True, CUDA: False}),
        ("torch.version.hip is None", {ROCM: False, CUDA: True}),
        ("TEST_WITH_ROCM", {MI355: True, H100: False}),
        # a variant's own predicate: true there, false on its siblings, unknown
        # on the platform as a whole, false elsewhere
        ("on_gfx950()", {MI355: True, MI300: False, ROCM: None, CUDA: False}),
        ("current_platform.has_device_capability(90)", {H100: True, CUDA: None}),
        # the preset's capability predicates: unknown unless a variant declares
        ("current_platform.has_device_capability(100)", {H100: None, ROCM: None}),
        ("on_gfx942()", {MI300: None, CUDA: False}),  # on_gfx*(): rocm:?
        # a module prefix does not matter
        ("vllm.platforms.current_platform.is_rocm()", {ROCM: True, CUDA: False}),
    ],
)
def test_predicates_hold_where_declared(condition: str, expected: dict) -> None:
    assert {where: decide(condition, where) for where in expected} == expected


def test_and_or_not_are_three_valued() -> None:
    unknown_and_rocm = "dtype == 'fp8' and current_platform.is_rocm()"
    assert decide(unknown_and_rocm, CUDA) is False  # False decides an and
    assert decide(unknown_and_rocm, ROCM) is None
    unknown_or_rocm = "HAS_X or current_platform.is_rocm()"
    assert decide(unknown_or_rocm, ROCM) is True  # True decides an or
    assert decide(unknown_or_rocm, CUDA) is None
    assert decide("not (HAS_X and current_platform.is_cuda())", ROCM) is True


def test_what_a_condition_depends_on_is_named() -> None:
    value, on = ev.decide("dtype == 'fp8' and on_gfx950()", CFG, ROCM)
    assert value is None
    assert on == ("dtype == 'fp8'", "on_gfx950()")


def test_gpu_counts_compare_with_the_session_gpus() -> None:
    two = ev.Where("cuda", gpus=2)
    assert decide("cuda_device_count_stateless() < 4", two) is True
    assert decide("torch.cuda.device_count() < 2", two) is False
    assert decide("2 > torch.cuda.device_count()", ev.Where("cuda", gpus=1)) is True
    assert decide("__gpus__ < 4", ev.Where("rocm", gpus=8)) is False
    value, on = ev.decide("__gpus__ < 4", CFG, CUDA)  # GPUs unknown here
    assert (value, on) == (None, ("the session's GPU count",))


def test_gpu_needs_are_read_from_conditions() -> None:
    def need(text: str) -> int | None:
        return ev.gpus_needed(ev.parse(text), CFG)

    assert need("cuda_device_count_stateless() < 4") == 4
    assert need("torch.cuda.device_count() <= 1") == 2
    assert need("current_platform.is_rocm() or 2 > torch.cuda.device_count()") == 2
    assert need("current_platform.is_rocm()") is None


def test_the_workspace_overrides_a_preset_and_refuses_bad_expressions() -> None:
    cfg = predicates.build(predicates={"current_platform.is_rocm()": ("rocm:mi300",)})
    assert ev.decide("current_platform.is_rocm()", cfg, MI355)[0] is False
    with pytest.raises(ValueError, match=r"predicate 'is_rocm\(' is not a Python"):
        predicates.build(predicates={"is_rocm(": ("rocm",)})
