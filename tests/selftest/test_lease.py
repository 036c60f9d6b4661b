"""GPU leases: a validated inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from testmatrix import errors
from testmatrix.lease import acquire, inventory


@pytest.fixture
def leases(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("TESTMATRIX_GPUS", raising=False)
    monkeypatch.delenv("TESTMATRIX_LEASE_DIR", raising=False)
    path = tmp_path / "leases"
    path.mkdir()
    return path


def quiet(message: str) -> None:
    pass


# -- inventory -------------------------------------------------------------------------

EXPECTED = "expected a GPU count (4) or distinct GPU indices (0,2,3)"


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("abc", "'abc' is not a non-negative whole number"),
        ("-1", "'-1' is not a non-negative whole number"),
        ("0,0", "GPU 0 is listed twice"),
        ("0,00", "GPU 0 is listed twice"),
        ("1,,2", "entry 2 is empty"),
        ("0,1,", "entry 3 is empty"),
        ("1.5", "'1.5' is not a non-negative whole number"),
        ("0;1", "'0;1' is not a non-negative whole number"),
        ("²", "'²' is not a non-negative whole number"),
        ("1_000", "'1_000' is not a non-negative whole number"),
        ("1000000000", "more than 1024 GPUs"),
        ("0,1024", "GPU index 1024 is beyond 1023"),
    ],
)
def test_a_bad_inventory_is_one_line_naming_the_variable(monkeypatch, raw, problem):
    monkeypatch.setenv("TESTMATRIX_GPUS", raw)
    with pytest.raises(errors.TestmatrixError) as info:
        inventory(8)
    assert str(info.value) == f"TESTMATRIX_GPUS={raw!r}: {problem}; {EXPECTED}"


@pytest.mark.parametrize(
    "raw, gpus",
    [
        ("4", ["0", "1", "2", "3"]),
        (" 2 ", ["0", "1"]),
        ("0,2,3", ["0", "2", "3"]),
        (" 3, 1 ", ["3", "1"]),
        ("01,2", ["1", "2"]),
        ("0", []),
        ("", ["0", "1", "2"]),  # blank: the detected count
        (None, ["0", "1", "2"]),
    ],
)
def test_good_inventories(monkeypatch, raw, gpus):
    if raw is None:
        monkeypatch.delenv("TESTMATRIX_GPUS", raising=False)
    else:
        monkeypatch.setenv("TESTMATRIX_GPUS", raw)
    assert inventory(3) == gpus


def test_a_count_at_the_cap_is_fine_and_quick(monkeypatch):
    monkeypatch.setenv("TESTMATRIX_GPUS", "1024")
    assert len(inventory()) == 1024
    monkeypatch.delenv("TESTMATRIX_GPUS")
    with pytest.raises(
        errors.TestmatrixError, match=r"^2000 GPUs is more than testmatrix"
    ):
        inventory(2000)


def test_zero_gpus_is_said_not_a_silent_run_without_a_lease(leases, monkeypatch):
    monkeypatch.setenv("TESTMATRIX_GPUS", "0")
    with pytest.raises(errors.TestmatrixError) as info:
        acquire(inventory(), leases, holder="cuda-unit", say=quiet)
    assert (
        str(info.value)
        == "cuda-unit needs 1 GPU but this machine has 0 (TESTMATRIX_GPUS=0)"
    )
