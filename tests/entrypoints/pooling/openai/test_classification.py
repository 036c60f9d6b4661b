"""Classification API with a decoder-only classifier: runs on every platform."""

import math

import pytest

from minivllm import RemoteOpenAIServer

MODEL_NAME = "jason9693/Qwen2.5-1.5B-apeach"


@pytest.fixture(scope="module")
def server():
    with RemoteOpenAIServer(MODEL_NAME) as remote:
        yield remote


def test_batch_classification(server):
    data = server.classify(["good", "bad", "neutral text"])["data"]
    assert [d["index"] for d in data] == [0, 1, 2]
    assert all(math.isclose(sum(d["probs"]), 1.0) for d in data)
