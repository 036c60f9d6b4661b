"""Embeddings API on an encoder-only model."""

import math

import pytest

from minivllm import RemoteOpenAIServer

MODEL_NAME = "intfloat/multilingual-e5-small"


@pytest.fixture(scope="module")
def server():
    with RemoteOpenAIServer(MODEL_NAME) as remote:
        yield remote


def test_single_embedding(server):
    out = server.embeddings(["The chef prepared a delicious meal."])
    assert len(out["data"]) == 1 and math.isclose(sum(x * x for x in out["data"][0]["embedding"]), 1.0)


def test_batch_embedding_keeps_order(server):
    out = server.embeddings(["a", "b", "c"])
    assert [d["index"] for d in out["data"]] == [0, 1, 2]


def test_usage_counts_all_inputs(server):
    assert server.embeddings(["a b", "c"])["usage"]["prompt_tokens"] == 3
