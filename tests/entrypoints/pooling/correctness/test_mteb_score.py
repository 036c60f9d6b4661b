"""MTEB-style reranking correctness of cross-encoders (encoder-only models)."""

import pytest

from minivllm import LLM

MODELS = ["cross-encoder/ms-marco-MiniLM-L-6-v2", "BAAI/bge-reranker-base"]
QUERY = "what is the capital of france"
DOCS = ["paris is the capital of france", "berlin is in germany", "bananas are yellow"]


@pytest.mark.parametrize("model_name", MODELS)
def test_scores_are_probabilities(model_name):
    llm = LLM(model_name)
    assert all(0.0 < llm.score(QUERY, d) < 1.0 for d in DOCS)


@pytest.mark.parametrize("model_name", MODELS)
def test_scores_are_reproducible(model_name):
    assert [LLM(model_name).score(QUERY, d) for d in DOCS] == [LLM(model_name).score(QUERY, d) for d in DOCS]
