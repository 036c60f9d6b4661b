"""Embedding models of both kinds in one file, as in vLLM.

Encoder-only variants carry the encoder_decoder mark through pytest.param, so a
platform whose skiplist lists them skips just those; decoder variants still run.
"""

import math

import pytest

from minivllm import LLM

encoder = pytest.mark.encoder_decoder


@pytest.mark.parametrize(
    "model",
    [
        pytest.param("BAAI/bge-base-en-v1.5", marks=encoder),
        pytest.param("sentence-transformers/all-MiniLM-L12-v2", marks=encoder),
        pytest.param("intfloat/multilingual-e5-small", marks=encoder),
        pytest.param("sentence-transformers/stsb-roberta-base-v2", marks=encoder),
        # decoder-only embedding models
        pytest.param("Alibaba-NLP/gte-Qwen2-1.5B-instruct"),
        pytest.param("intfloat/e5-mistral-7b-instruct"),
        pytest.param("BAAI/bge-multilingual-gemma2"),
    ],
)
def test_models(model):
    llm = LLM(model)
    vectors = llm.embed(["The chef prepared a delicious meal.", "The chef prepared a delicious meal.", "Stocks fell."])
    assert all(math.isclose(sum(x * x for x in v), 1.0) for v in vectors)
    assert math.isclose(sum(a * b for a, b in zip(vectors[0], vectors[1])), 1.0)
    assert sum(a * b for a, b in zip(vectors[0], vectors[2])) < 1.0
