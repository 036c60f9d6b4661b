"""Process reward models (decoder-only): one reward per token."""

import pytest

from minivllm import LLM
from minivllm.engine import tokenize

MODELS = ["Qwen/Qwen2.5-Math-PRM-7B", "internlm/internlm2-1_8b-reward"]


@pytest.mark.parametrize("model_name", MODELS)
def test_one_reward_per_token(model_name):
    text = "step one then step two"
    rewards = LLM(model_name).reward(text)
    assert len(rewards) == len(tokenize(text)) and all(0.0 < r < 1.0 for r in rewards)


@pytest.mark.parametrize("model_name", MODELS)
def test_reward_of_prefix_is_unchanged_by_suffix(model_name):
    llm = LLM(model_name)
    assert llm.reward("a b c")[:3] == llm.reward("a b c d e")[:3]  # causal: later tokens cannot change earlier rewards
