"""Greedy generation on decoder-only models: runs on every platform."""

import pytest

from minivllm import LLM

MODELS = ["facebook/opt-125m", "Qwen/Qwen2.5-0.5B-Instruct", "meta-llama/Llama-3.2-1B-Instruct"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("max_tokens", [1, 4])
def test_greedy_generates_max_tokens(model, max_tokens):
    out = LLM(model).generate("Hello, my name is", max_tokens=max_tokens)
    assert len(out.token_ids) == max_tokens


@pytest.mark.parametrize("model", MODELS)
def test_greedy_prefix_consistency(model):
    llm = LLM(model)
    long = llm.generate("The future of AI is", max_tokens=4).token_ids
    assert llm.generate("The future of AI is", max_tokens=2).token_ids == long[:2]
