"""Matryoshka dimensions on the embeddings API (encoder-only models)."""

import math

import pytest

from minivllm import RemoteOpenAIServer

MODELS = ["intfloat/multilingual-e5-small", "Snowflake/snowflake-arctic-embed-m-v1.5"]


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("dimensions", [4, 8])
def test_dimensions_truncate_and_renormalise(model_name, dimensions):
    vector = RemoteOpenAIServer(model_name).embeddings(["hello"], dimensions=dimensions)["data"][0]["embedding"]
    assert len(vector) == dimensions and math.isclose(sum(x * x for x in vector), 1.0)


@pytest.mark.parametrize("model_name", MODELS)
def test_too_many_dimensions_is_rejected(model_name):
    with pytest.raises(ValueError):
        RemoteOpenAIServer(model_name).embeddings(["hello"], dimensions=1000)
