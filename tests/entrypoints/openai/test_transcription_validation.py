"""Transcription API: whisper and Voxtral (encoder-decoder) beside gemma-3n (decoder-only)."""

import pytest

from minivllm import RemoteOpenAIServer

SERVER_MODELS = ["openai/whisper-large-v3-turbo", "mistralai/Voxtral-Mini-3B-2507", "google/gemma-3n-E2B-it"]
MODEL_NAME = "openai/whisper-small"


@pytest.fixture(scope="module", params=SERVER_MODELS)
def server(request):
    with RemoteOpenAIServer(request.param) as remote:
        yield remote


@pytest.mark.encoder_decoder
def test_basic_audio(server, audio_sample):
    out = server.transcriptions(audio_sample)
    assert out["text"] and len(out["text"].split()) == 6


@pytest.mark.encoder_decoder
def test_streaming_response(server, audio_sample):
    assert " ".join(server.transcriptions(audio_sample, stream=True)) == server.transcriptions(audio_sample)["text"]


@pytest.mark.encoder_decoder
def test_bad_requests(server):
    with pytest.raises(TypeError):
        server.transcriptions(None)


# The model is a module constant and the ids are backends ([default], [TRITON_ATTN]):
# the marker names the model so the skiplist can decide.
@pytest.mark.encoder_decoder(model=MODEL_NAME)
@pytest.mark.parametrize("attention_backend", ["default", "TRITON_ATTN"])
def test_transcription_on_each_backend(attention_backend, audio_sample):
    backend = None if attention_backend == "default" else attention_backend
    out = RemoteOpenAIServer(MODEL_NAME, attention_backend=backend).transcriptions(audio_sample)
    assert len(out["text"].split()) == 6
