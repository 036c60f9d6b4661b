"""Translation API: an encoder-decoder model (whisper) beside a decoder-only one (gemma-3n).

The model comes from a module-scoped fixture's params, as in vLLM; testmatrix reads it
from the item's parametrization to decide the skip.
"""

import pytest

from minivllm import RemoteOpenAIServer

SERVER_MODELS = ["openai/whisper-small", "google/gemma-3n-E2B-it"]

pytestmark = pytest.mark.encoder_decoder


@pytest.fixture(scope="module", params=SERVER_MODELS)
def server(request):
    with RemoteOpenAIServer(request.param) as remote:
        yield remote


def test_basic_audio(server, audio_sample):
    out = server.translations(audio_sample)
    assert len(out["text"].split()) == out["usage"]["completion_tokens"] == 6


def test_audio_prompt(server, audio_sample):
    assert server.translations(audio_sample) == server.translations(list(audio_sample))


def test_streaming_response(server, audio_sample):
    chunks = server.translations(audio_sample, stream=True)
    assert " ".join(chunks) == server.translations(audio_sample)["text"]


def test_stream_options(server, audio_sample):
    chunks = server.translations(audio_sample, stream=True, max_tokens=3)
    assert len(chunks) == 3


def test_long_audio_request(server, long_audio_sample):
    out = server.translations(long_audio_sample, max_tokens=8)
    assert out["usage"]["completion_tokens"] == 8
