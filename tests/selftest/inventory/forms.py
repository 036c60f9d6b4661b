"""Test files written the ways vLLM's and PyTorch's tests write their platform skips
and GPU needs (one of each form), for the inventory's tests to read."""

from __future__ import annotations

# Each line that holds a finding says so in a trailing comment: '# finds: KIND'.
VLLM_KERNEL = '''
import pytest
import torch

from tests.kernels.utils import opcheck
from tests.utils import multi_gpu_marks, multi_gpu_test
from vllm.platforms import current_platform

IS_ROCM = current_platform.is_rocm()
NUM_GPUS = 2
requires_sm90 = pytest.mark.skipif(  # finds: skipif (alias)
    not current_platform.has_device_capability(90), reason="needs SM90"
)


def _on_gfx950() -> bool:
    """Only MI355."""
    if not current_platform.is_rocm():
        return False
    from vllm.platforms.rocm import on_gfx950

    return on_gfx950()


@pytest.mark.skipif(IS_ROCM, reason="fp8 e4m3fn is not on ROCm")  # finds: skipif
@pytest.mark.parametrize("dtype", [torch.half, torch.bfloat16])
def test_fp8_quant(dtype):
    opcheck(dtype)


@pytest.mark.skipif(  # finds: skipif
    not current_platform.is_cuda(),
    reason="cutlass kernels are CUDA only",
)
def test_cutlass_mm():
    pass


@requires_sm90  # finds: skipif
def test_machete():
    pass


@pytest.mark.parametrize(
    "backend",
    [
        "triton",
        pytest.param(
            "aiter",
            marks=pytest.mark.skipif(  # finds: skipif
                not current_platform.is_rocm(), reason="AITER is ROCm only"
            ),
        ),
        pytest.param(
            "flashinfer",
            marks=[
                pytest.mark.skipif(IS_ROCM, reason="no FlashInfer"),  # finds: skipif
                pytest.mark.xfail(reason="flaky"),
            ],
        ),
    ],
)
def test_attention(backend):
    if backend == "triton" and current_platform.is_rocm():  # finds: skip-call
        pytest.skip("triton attention runs elsewhere on ROCm")


@pytest.mark.skipif(not _on_gfx950(), reason="gfx950 kernels")  # finds: skipif
def test_gfx950_only():
    pass


@multi_gpu_test(num_gpus=4)  # finds: gpu-need
def test_tp4():
    pass


@pytest.mark.parametrize(
    "tp", [1, pytest.param(2, marks=multi_gpu_marks(num_gpus=2))]  # finds: gpu-need
)
def test_tp(tp):
    pass


@pytest.mark.skipif(torch.cuda.device_count() <= 1, reason="2")  # finds: gpu-need
def test_p2p():
    pass


@pytest.mark.skipif(not HAS_TRITON, reason="needs triton")
def test_not_a_platform_skip():
    pass


@pytest.fixture
def rocm_aiter():
    if current_platform.is_rocm():  # finds: skip-call
        pytest.skip("AITER fixture is for CUDA comparisons")
    return 1


def test_uses_fixture(rocm_aiter):
    pass


class TestLora:
    pytestmark = pytest.mark.skipif(  # finds: pytestmark
        current_platform.is_rocm(), reason="LoRA kernels"
    )

    def test_a(self):
        pass

    def test_b(self):
        if not current_platform.is_cuda_alike():  # finds: xfail-call
            pytest.xfail("GPU only")
'''

VLLM_MODULE = """
import pytest

from vllm.platforms import current_platform

if not current_platform.is_rocm():  # finds: skip-call
    pytest.skip("ROCm-only tests", allow_module_level=True)


def test_rocm_only():
    pass
"""

VLLM_PYTESTMARK = """
import pytest

from tests.utils import multi_gpu_marks
from vllm.platforms import current_platform

skip_if_not_cuda_alike = pytest.mark.skipif(
    not current_platform.is_cuda_alike(), reason="requires a CUDA-alike device"
)

pytestmark = [
    skip_if_not_cuda_alike,  # finds: pytestmark
    pytest.mark.skipif(current_platform.is_rocm(), reason="NCCL"),  # finds: pytestmark
    *multi_gpu_marks(num_gpus=4),  # finds: gpu-need
]


def test_allreduce():
    pass
"""

VLLM_MORE = """
import pytest
import torch

from tests.utils import large_gpu_mark, multi_gpu_marks, multi_gpu_test
from vllm.platforms import current_platform
from vllm.platforms.rocm import on_gfx950, on_gfx1151

if not (current_platform.is_rocm() and on_gfx950()):  # finds: skip-call
    pytest.skip("gfx950 kernels only", allow_module_level=True)

_needs_gfx1151 = pytest.mark.skipif(
    not (current_platform.is_rocm() and on_gfx1151()), reason="RDNA 3.5"
)
CONFIGS = ["a", "b"]


@_needs_gfx1151  # finds: skipif
def test_topk():
    pass


@pytest.mark.parametrize(
    "model",
    [
        pytest.param("small", marks=[large_gpu_mark(min_gb=40)]),
        pytest.param(
            "big",
            marks=[large_gpu_mark(min_gb=80)]
            + multi_gpu_marks(num_gpus=4)  # finds: gpu-need
            + [
                pytest.mark.skipif(  # finds: skipif
                    current_platform.is_rocm(), reason="modelopt on ROCm"
                )
            ],
        ),
    ],
)
def test_models(model):
    pass


@pytest.mark.parametrize(
    "config",
    [pytest.param(c, marks=multi_gpu_marks(num_gpus=2)) for c in X],  # finds: gpu-need
)
def test_inline(config):
    pass


@multi_gpu_test(num_gpus=4)  # finds: gpu-need
@pytest.mark.skipif(  # finds: skipif
    not current_platform.has_device_capability(120), reason="SM120"
)
def test_pcie_allreduce():
    pass


def test_mhc():
    if torch.accelerator.device_count() < 4:  # finds: gpu-need
        pytest.skip("four GPUs with NVLink multicast")
"""

PYTORCH = """
import unittest

import torch
from torch.testing._internal.common_utils import TEST_WITH_ROCM, TestCase, skipIfRocm
from torch.testing._internal.common_distributed import skip_if_lt_x_gpu


class TestOps(TestCase):
    @skipIfRocm  # finds: skipif
    def test_cudnn(self):
        pass

    @unittest.skipIf(TEST_WITH_ROCM, "hipblaslt")  # finds: skipif
    def test_blas(self):
        pass

    @skip_if_lt_x_gpu(2)  # finds: gpu-need
    def test_ddp(self):
        pass

    def test_hip(self):
        if torch.version.hip is not None:  # finds: skip-call
            self.skipTest("HIP build")

    @unittest.skipUnless(torch.cuda.is_available(), "GPU")  # finds: skipif
    def test_gpu(self):
        pass
"""


# -- a small vLLM-shaped workspace (conftest.py's vllm_ws) ------------------------
STUB = """
import os


class _Platform:
    def is_rocm(self):
        return os.environ.get("TESTMATRIX_PLATFORM") == "rocm"

    def is_cuda(self):
        return os.environ.get("TESTMATRIX_PLATFORM", "cuda") == "cuda"

    def is_cuda_alike(self):
        return self.is_rocm() or self.is_cuda()


current_platform = _Platform()


def on_gfx950():
    return os.environ.get("TESTMATRIX_VARIANT") == "mi355"
"""
TESTING = """
import pytest


def cuda_device_count_stateless():
    return 1


def multi_gpu_test(*, num_gpus):
    return pytest.mark.skipif(
        cuda_device_count_stateless() < num_gpus,
        reason=f"Need at least {num_gpus} GPUs to run the test.",
    )
"""
KERNELS = """
import pytest

from vllm.platforms import current_platform
from vllm.platforms import on_gfx950  # noqa: F401  (used below)

# fp8 kernels differ on ROCm
IS_ROCM = current_platform.is_rocm()


@pytest.mark.skipif(IS_ROCM, reason="fp8 e4m3fn is not supported on ROCm")
def test_fp8():
    pass


@pytest.mark.parametrize(
    "backend",
    [
        "triton",
        pytest.param(
            "flashinfer",
            marks=pytest.mark.skipif(IS_ROCM, reason="no FlashInfer on ROCm"),
        ),
    ],
)
def test_attention(backend):
    pass


def test_gfx950_kernel():
    if not on_gfx950():
        pytest.skip("gfx950 only")


def test_plain():
    pass


@pytest.mark.skipif(not current_platform.is_cuda(), reason="CUDA graphs")  # cuda
def test_graphs():
    pass
"""
DISTRIBUTED = """
import pytest

from vllm.testing import multi_gpu_test


@multi_gpu_test(num_gpus=4)
def test_allreduce_tp4():
    pass


def test_two():
    pass


def test_importorskip_like():
    pytest.skip("a dependency is missing")
"""
SUITES = """
[workspace.inventory]
predicates = { "on_gfx950()" = ["rocm:mi355"] }

[suites.kernels]
path = "tests/kernels"

[suites.distributed]
path = "tests/distributed"
gpus = 2
"""
ROCM = """
[platform]
description = "AMD"
hardware = "rocm"

[variants.mi300]
description = "MI300X"
match = ["gfx942"]

[variants.mi355]
description = "MI355X"
match = ["gfx950"]
"""
INI = """
[pytest]
pythonpath = {src} .
addopts = --strict-markers --import-mode=importlib -p no:cacheprovider
"""


def line_of(source: str, needle: str) -> int:
    """The line of a file written from `source` (dedented, stripped) holding needle."""
    lines = source.lstrip("\n").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def expected(source: str) -> list[tuple[int, str]]:
    """(line, kind) of every '# finds: KIND' comment."""
    out = []
    for number, line in enumerate(source.lstrip("\n").splitlines(), start=1):
        if "# finds: " in line and "(alias)" not in line:
            out.append((number, line.split("# finds: ")[1].split()[0]))
    return out
