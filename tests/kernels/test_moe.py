"""Fused MoE routing and tensor-parallel all-reduce."""

import pytest

from minivllm.kernels import all_reduce, fused_moe

TOKENS = [[0.1 * i + 0.01 * d for d in range(8)] for i in range(6)]


@pytest.mark.parametrize("experts, top_k", [(8, 2), (16, 4)])
def test_fused_moe_routes_every_token_to_top_k_experts(experts, top_k):
    routes = fused_moe(TOKENS, experts, top_k)
    assert len(routes) == len(TOKENS)
    assert all(len(set(r)) == top_k and max(r) < experts for r in routes)


@pytest.mark.multi_gpu
@pytest.mark.parametrize("world_size", [2])
def test_tensor_parallel_all_reduce_sums_the_shards(world_size):
    shards = [[float(rank + i) for i in range(4)] for rank in range(world_size)]
    assert all_reduce(shards) == [
        sum(rank + i for rank in range(world_size)) for i in range(4)
    ]


@pytest.mark.multi_gpu
def test_tensor_parallel_moe_matches_one_gpu():
    whole = fused_moe(TOKENS, 8, 2)
    halves = fused_moe(TOKENS[:3], 8, 2) + fused_moe(TOKENS[3:], 8, 2)
    assert halves == whole
