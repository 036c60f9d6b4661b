"""MTEB-style embedding correctness (encoder-only models)."""

import math

import pytest

from minivllm import LLM

MODELS = ["intfloat/e5-small", "BAAI/bge-base-en-v1.5"]


@pytest.mark.parametrize("model_name", MODELS)
def test_embeddings_are_unit_vectors(model_name):
    for vector in LLM(model_name).embed(["a cat sat", "on the mat", "quantum chromodynamics"]):
        assert math.isclose(sum(x * x for x in vector), 1.0)


@pytest.mark.parametrize("model_name", MODELS)
def test_identical_texts_have_cosine_one(model_name):
    a, b = LLM(model_name).embed(["same text here", "same text here"])
    assert math.isclose(sum(x * y for x, y in zip(a, b)), 1.0)
