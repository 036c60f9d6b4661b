"""Chat API on a decoder-only model: causal attention, runs on every platform."""

import pytest

from minivllm import RemoteOpenAIServer

MODEL_NAME = "meta-llama/Llama-3.2-1B-Instruct"


@pytest.fixture(scope="module")
def server():
    with RemoteOpenAIServer(MODEL_NAME) as remote:
        yield remote


def test_chat_reply_is_from_assistant(server):
    out = server.chat([{"role": "user", "content": "Say hi"}], max_tokens=3)
    assert out["choices"][0]["message"]["role"] == "assistant"
    assert len(out["choices"][0]["message"]["content"].split()) == 3


def test_decoder_attention_is_causal(server):
    server.chat([{"role": "user", "content": "a b c d e"}], max_tokens=1)
    weights = server.llm.attn.last_weights
    for i, row in enumerate(weights):
        assert all(w == 0.0 for w in row[i + 1 :])  # no token attends to a later one
        assert abs(sum(row) - 1.0) < 1e-9


@pytest.mark.parametrize("attention_backend", ["default", "TRITON_ATTN"])
def test_chat_on_each_backend(attention_backend):
    backend = None if attention_backend == "default" else attention_backend
    out = RemoteOpenAIServer(MODEL_NAME, attention_backend=backend).chat([{"role": "user", "content": "hi"}])
    assert out["choices"][0]["message"]["content"]
