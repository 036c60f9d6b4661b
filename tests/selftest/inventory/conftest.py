"""A small vLLM-shaped workspace whose tests skip themselves in code: a stub of
vllm.platforms that answers from the target the plugin sets, two suites, and
ROCm with two variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from selftest.helpers import REPO
from selftest.inventory.forms import (
    DISTRIBUTED,
    INI,
    KERNELS,
    ROCM,
    STUB,
    SUITES,
    TESTING,
)


@pytest.fixture
def vllm_ws(tiny) -> Path:
    return tiny(
        {
            "pytest.ini": INI.format(src=REPO / "src"),
            "vllm/__init__.py": "",
            "vllm/platforms/__init__.py": STUB,
            "vllm/testing.py": TESTING,
            "skiplists/suites.toml": SUITES,
            "skiplists/platforms/rocm.toml": ROCM,
            "tests/kernels/test_attn.py": KERNELS,
            "tests/distributed/test_comm.py": DISTRIBUTED,
        }
    )
