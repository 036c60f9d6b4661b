"""Chat with images on Phi-3.5-vision: its vision tower needs encoder self-attention."""

import pytest

from minivllm import RemoteOpenAIServer

MODEL_NAME = "microsoft/Phi-3.5-vision-instruct"


@pytest.fixture(scope="module")
def server():
    with RemoteOpenAIServer(MODEL_NAME) as remote:
        yield remote


def test_single_image_chat(server, image_sample):
    out = server.chat([{"role": "user", "content": "What is in this image?"}], max_tokens=4, image=image_sample)
    assert len(out["choices"][0]["message"]["content"].split()) == 4


def test_image_is_not_counted_as_prompt_tokens(server, image_sample):
    messages = [{"role": "user", "content": "Describe it"}]
    with_image = server.chat(messages, max_tokens=4, image=image_sample)
    dark = server.chat(messages, max_tokens=4, image=[0.0] * len(image_sample))
    assert with_image["usage"] == dark["usage"]


def test_vision_tower_attention_is_bidirectional(server, image_sample):
    server.chat([{"role": "user", "content": "x"}], image=image_sample)
    weights = server.llm.tower.last_weights
    assert all(w > 0.0 for row in weights for w in row)
