"""Sequence classification on a decoder-only model."""

import math

import pytest

from minivllm import LLM


@pytest.mark.parametrize("model", ["jason9693/Qwen2.5-1.5B-apeach"])
def test_classification_probabilities(model):
    probs = LLM(model).classify("This movie was great")
    assert len(probs) == 2 and math.isclose(sum(probs), 1.0)
