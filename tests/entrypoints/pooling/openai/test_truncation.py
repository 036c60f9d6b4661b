"""truncate_prompt_tokens on the embeddings API (encoder-only model)."""

import pytest

from minivllm import RemoteOpenAIServer

MODEL_NAME = "sentence-transformers/all-MiniLM-L12-v2"


@pytest.fixture(scope="module")
def server():
    with RemoteOpenAIServer(MODEL_NAME) as remote:
        yield remote


def test_truncation_keeps_last_tokens(server):
    truncated = server.embeddings(["a b c d e f"], truncate_prompt_tokens=3)["data"][0]["embedding"]
    assert truncated == server.embeddings(["d e f"])["data"][0]["embedding"]


def test_no_truncation_when_prompt_is_short(server):
    assert server.embeddings(["a b"], truncate_prompt_tokens=10) ["data"] == server.embeddings(["a b"])["data"]
