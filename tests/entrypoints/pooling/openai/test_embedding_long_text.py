"""Long inputs beyond max_model_len on an encoder-only model."""

import math

from minivllm import RemoteOpenAIServer

MODEL_NAME = "intfloat/multilingual-e5-small"


def test_long_text_is_embedded():
    text = " ".join(f"word{i}" for i in range(200))
    vector = RemoteOpenAIServer(MODEL_NAME, max_model_len=32).embeddings([text])["data"][0]["embedding"]
    assert math.isclose(sum(x * x for x in vector), 1.0)


def test_long_text_keeps_its_tail():
    head = " ".join(f"w{i}" for i in range(100))
    server = RemoteOpenAIServer(MODEL_NAME, max_model_len=8)
    tail_only = " ".join(f"w{i}" for i in range(92, 100))
    assert server.embeddings([head])["data"][0]["embedding"] == server.embeddings([tail_only])["data"][0]["embedding"]
