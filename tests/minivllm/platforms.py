"""The platform the miniature runs on: the target platform testmatrix exports."""

import os

PLATFORMS = ("rocm", "cuda", "cpu")


def current_platform() -> str:
    """'rocm' or 'cuda' as the pytest plugin's target platform says; 'cpu' otherwise."""
    name = os.environ.get("TESTMATRIX_PLATFORM", "none")
    return name if name in ("rocm", "cuda") else "cpu"


def rocm_encoder_support() -> bool:
    """The switch that gives ROCm backends encoder support (what a fix upstream would do)."""
    return os.environ.get("MINIVLLM_ROCM_ENCODER_SUPPORT", "") == "1"


def current_variant() -> str | None:
    """The hardware variant the target names (rocm: 'mi300', 'mi355'), if any."""
    return os.environ.get("TESTMATRIX_VARIANT") or None


def mi355_moe_support() -> bool:
    """The switch that gives the fused-MoE kernel a gfx950 configuration."""
    return os.environ.get("MINIVLLM_MI355_MOE_SUPPORT", "") == "1"
