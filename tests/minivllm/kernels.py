"""Custom kernels, after vllm/model_executor/layers: fused MoE, all-reduce, AITER."""

from __future__ import annotations

import math

from .platforms import current_platform, current_variant, mi355_moe_support


def fused_moe(tokens: list[list[float]], experts: int, top_k: int) -> list[list[int]]:
    """Route each token to its top_k experts; the routing weights' argmax per token.

    Like vLLM's tuned Triton configs, the kernel needs a configuration for the GPU it
    runs on: MI355 (gfx950) has none yet.
    """
    if current_platform() == "rocm" and current_variant() == "mi355":
        if not mi355_moe_support():
            raise NotImplementedError(
                f"fused_moe: no tuned configuration for gfx950 (E={experts}, "
                f"top_k={top_k})"
            )
    routes = []
    for token in tokens:
        scores = [sum(x * math.cos(e + i) for i, x in enumerate(token)) for e in range(experts)]
        routes.append(sorted(range(experts), key=lambda e: -scores[e])[:top_k])
    return routes


def all_reduce(shards: list[list[float]]) -> list[float]:
    """Sum the shards of a tensor-parallel group, element by element."""
    return [sum(column) for column in zip(*shards)]


def aiter_rms_norm(values: list[float], eps: float = 1e-6) -> list[float]:
    """AMD's AITER RMSNorm: built for ROCm only."""
    if current_platform() != "rocm":
        raise ImportError("aiter is built for ROCm only")
    rms = math.sqrt(sum(v * v for v in values) / len(values) + eps)
    return [v / rms for v in values]


def silu_and_mul(values: list[float]) -> list[float]:
    """SiLU of the first half times the second half, as vLLM's gated MLPs use."""
    half = len(values) // 2
    return [x / (1 + math.exp(-x)) * y for x, y in zip(values[:half], values[half:])]
