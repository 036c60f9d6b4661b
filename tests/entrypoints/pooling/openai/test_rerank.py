"""Rerank API on cross-encoder rerankers (encoder-only models)."""

import pytest

from minivllm import RemoteOpenAIServer

MODELS = ["BAAI/bge-reranker-base", "BAAI/bge-reranker-v2-m3"]
DOCS = ["The capital of Brazil is Brasilia.", "The capital of France is Paris.", "Horses eat hay."]


@pytest.mark.parametrize("model_name", MODELS)
def test_rerank_sorts_by_relevance(model_name):
    results = RemoteOpenAIServer(model_name).rerank("What is the capital of France?", DOCS)["results"]
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r["index"] for r in results) == [0, 1, 2]


@pytest.mark.parametrize("model_name", MODELS)
def test_rerank_top_n(model_name):
    assert len(RemoteOpenAIServer(model_name).rerank("capital", DOCS, top_n=2)["results"]) == 2
