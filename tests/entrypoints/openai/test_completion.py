"""Completions API on decoder-only models: runs on every platform."""

import pytest

from minivllm import RemoteOpenAIServer

MODELS = ["Qwen/Qwen2.5-0.5B-Instruct", "facebook/opt-125m"]


@pytest.fixture(scope="module", params=MODELS)
def server(request):
    with RemoteOpenAIServer(request.param) as remote:
        yield remote


def test_completion_returns_max_tokens(server):
    out = server.completions("The capital of France is", max_tokens=5)
    assert len(out["choices"][0]["text"].split()) == 5
    assert out["usage"]["completion_tokens"] == 5


def test_completion_is_deterministic(server):
    first = server.completions("Hello, my name is")
    assert first == server.completions("Hello, my name is")


def test_usage_counts_prompt_tokens(server):
    out = server.completions("one two three four", max_tokens=2)
    assert out["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
