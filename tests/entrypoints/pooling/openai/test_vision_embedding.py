"""Image embeddings with VLM2Vec: its vision tower needs encoder self-attention."""

import math

from minivllm import RemoteOpenAIServer

MODEL_NAME = "TIGER-Lab/VLM2Vec-Full"


def test_image_embedding_is_normalised(image_sample):
    vector = RemoteOpenAIServer(MODEL_NAME).embeddings(["<image> represent it"], image=image_sample)["data"][0]["embedding"]
    assert math.isclose(sum(x * x for x in vector), 1.0)


def test_text_only_embedding(image_sample):
    server = RemoteOpenAIServer(MODEL_NAME)
    assert len(server.embeddings(["text only"])["data"][0]["embedding"]) == 8
