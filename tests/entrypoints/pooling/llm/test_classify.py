"""Offline classification with a decoder-only classifier: runs on every platform."""

import math

from minivllm import LLM

MODEL_NAME = "jason9693/Qwen2.5-1.5B-apeach"


def test_probabilities_sum_to_one():
    for text in ["I love this", "I hate that", "meh"]:
        assert math.isclose(sum(LLM(MODEL_NAME).classify(text)), 1.0)


def test_classification_is_deterministic():
    assert LLM(MODEL_NAME).classify("same input") == LLM(MODEL_NAME).classify("same input")
