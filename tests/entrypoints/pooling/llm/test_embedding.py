"""Offline embedding with LLM.embed (encoder-only model)."""

import math

from minivllm import LLM

MODEL_NAME = "intfloat/multilingual-e5-small"


def test_embed_batch_shape():
    out = LLM(MODEL_NAME).embed(["one", "two words", "three small words"])
    assert len(out) == 3 and all(len(v) == 12 for v in out)


def test_embed_order_does_not_matter():
    llm = LLM(MODEL_NAME)
    a, b = llm.embed(["first", "second"])
    b2, a2 = llm.embed(["second", "first"])
    assert a == a2 and b == b2


def test_embedding_is_normalised():
    (vector,) = LLM(MODEL_NAME).embed(["bonjour le monde"])
    assert math.isclose(math.fsum(x * x for x in vector), 1.0)
