"""Reward models (decoder-only)."""

import pytest

from minivllm import LLM


@pytest.mark.parametrize("model", ["Qwen/Qwen2.5-Math-PRM-7B"])
def test_rewards_are_probabilities(model):
    assert all(0.0 < r < 1.0 for r in LLM(model).reward("1 + 1 = 2 so the answer is 2"))
