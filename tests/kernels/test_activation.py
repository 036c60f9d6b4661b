"""Activation kernels: the same on every platform and variant."""

import math

import pytest

from minivllm.kernels import silu_and_mul


@pytest.mark.parametrize("width", [2, 8, 64])
def test_silu_and_mul_halves_the_width(width):
    assert len(silu_and_mul([0.5] * width)) == width // 2


def test_silu_and_mul_of_zero_gate_is_zero():
    assert silu_and_mul([0.0, 0.0, 3.0, -2.0]) == [0.0, 0.0]


def test_silu_and_mul_matches_the_formula():
    (out,) = silu_and_mul([1.0, 2.0])
    assert math.isclose(out, 2.0 / (1 + math.exp(-1.0)))
