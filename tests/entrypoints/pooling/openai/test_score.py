"""Score API: a cross-encoder and a bi-encoder (both encoder-only)."""

import pytest

from minivllm import RemoteOpenAIServer

MODELS = ["BAAI/bge-reranker-v2-m3", "BAAI/bge-base-en-v1.5"]


@pytest.mark.parametrize("model_name", MODELS)
def test_score_one_to_many(model_name):
    data = RemoteOpenAIServer(model_name).score("What is the capital of France?", ["Paris", "Berlin"])["data"]
    assert [d["index"] for d in data] == [0, 1] and all(-1.0 <= d["score"] <= 1.0 for d in data)


def test_bi_encoder_score_is_symmetric():
    server = RemoteOpenAIServer("BAAI/bge-base-en-v1.5")
    forward = server.score("a red apple", ["a green pear"])["data"][0]["score"]
    backward = server.score("a green pear", ["a red apple"])["data"][0]["score"]
    assert abs(forward - backward) < 1e-12
