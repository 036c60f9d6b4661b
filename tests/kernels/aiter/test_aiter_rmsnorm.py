"""AMD's AITER kernels: they exist on ROCm only."""

import math

import pytest

from minivllm.kernels import aiter_rms_norm


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0], [0.5] * 8])
def test_rms_norm_gives_unit_rms(values):
    out = aiter_rms_norm(values)
    assert math.isclose(
        math.sqrt(sum(v * v for v in out) / len(out)), 1.0, rel_tol=1e-4
    )
