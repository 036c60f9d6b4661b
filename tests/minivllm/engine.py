"""The offline engine: `LLM(model)` builds its attention layers the way vLLM does.

Weights are deterministic functions of the model name, so every output is
reproducible and its properties (unit norm, probabilities summing to one,
causality) can be asserted exactly.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from .attention import AttentionType, get_attn_backend
from .models import get_model_spec

VOCAB = 97
D, E, ENC, ED = AttentionType.DECODER, AttentionType.ENCODER_ONLY, AttentionType.ENCODER, AttentionType.ENCODER_DECODER


def tokenize(text: str) -> list[int]:
    return [zlib.crc32(word.encode()) % VOCAB for word in text.split()] or [0]


def _normalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _mean(rows: list[list[float]]) -> list[float]:
    return [sum(col) / len(rows) for col in zip(*rows)]


@dataclass
class RequestOutput:
    prompt_token_ids: list[int]
    token_ids: list[int]

    @property
    def text(self) -> str:
        return " ".join(f"w{t}" for t in self.token_ids)


class LLM:
    """One model on the current platform's attention backend."""

    def __init__(self, model: str, attention_backend: str | None = None, max_model_len: int = 64):
        self.spec = get_model_spec(model)
        self.backend = get_attn_backend(attention_backend)
        self.max_model_len = max_model_len
        self.seed = zlib.crc32(model.encode()) % 1000 / 100.0
        hidden = self.spec.hidden
        # Building the layers is where vLLM's ROCm backends raise for encoder attention.
        self.attn = self.backend(hidden, self.spec.attn if self.spec.attn is not ED else D)
        self.encoder = self.backend(hidden, ENC) if self.spec.attn is ED else None
        self.cross = self.backend(hidden, ED) if self.spec.attn is ED else None
        self.tower = self.backend(hidden, ENC) if self.spec.multimodal in ("image", "audio") else None

    # -- building blocks -----------------------------------------------------------
    def embed_token(self, token: int) -> list[float]:
        return [math.sin((token + 1) * (d + 1) * 0.37 + self.seed) for d in range(self.spec.hidden)]

    def hidden_states(self, tokens: list[int], prefix: list[list[float]] | None = None) -> list[list[float]]:
        rows = (prefix or []) + [self.embed_token(t) for t in tokens[-self.max_model_len :]]
        return self.attn.forward(rows, rows, rows)

    def _pool(self, states: list[list[float]]) -> list[float]:
        # encoder models mean-pool; decoder embedding models take the last token
        return _mean(states) if self.spec.attn is E else states[-1]

    def _features(self, data: list[float]) -> list[list[float]]:
        width = self.spec.hidden
        frames = [data[i : i + width] for i in range(0, len(data), width)] or [[0.0]]
        return [frame + [0.0] * (width - len(frame)) for frame in frames]

    def _tower(self, data: list[float]) -> list[list[float]]:
        feats = self._features(data)
        return self.tower.forward(feats, feats, feats) if self.tower else feats

    # -- tasks -------------------------------------------------------------------------
    def generate(self, prompt: str, max_tokens: int = 4, image: list[float] | None = None) -> RequestOutput:
        prompt_ids = tokenize(prompt)
        prefix = self._tower(image) if image is not None else None
        tokens = list(prompt_ids)
        for _ in range(max_tokens):
            last = self.hidden_states(tokens, prefix)[-1]
            logits = [sum(a * b for a, b in zip(last, self.embed_token(t))) for t in range(VOCAB)]
            tokens.append(max(range(VOCAB), key=logits.__getitem__))
        return RequestOutput(prompt_ids, tokens[len(prompt_ids) :])

    def embed(self, texts: list[str], dimensions: int | None = None, truncate_prompt_tokens: int | None = None,
              image: list[float] | None = None) -> list[list[float]]:
        if dimensions is not None and not 0 < dimensions <= self.spec.hidden:
            raise ValueError(f"dimensions must be in 1..{self.spec.hidden}")
        out = []
        for text in texts:
            tokens = tokenize(text)
            if truncate_prompt_tokens is not None:
                tokens = tokens[-truncate_prompt_tokens:]
            prefix = self._tower(image) if image is not None else None
            vector = self._pool(self.hidden_states(tokens, prefix))
            out.append(_normalise(vector[:dimensions] if dimensions else vector))
        return out

    def score(self, query: str, document: str) -> float:
        """Cross-encoders and rerankers read the pair jointly; bi-encoders compare embeddings."""
        if self.spec.task == "embed":
            a, b = self.embed([query, document])
            return sum(x * y for x, y in zip(a, b))
        pooled = self._pool(self.hidden_states(tokenize(query) + [VOCAB - 1] + tokenize(document)))
        return _sigmoid(sum(pooled))

    def classify(self, text: str) -> list[float]:
        last = self.hidden_states(tokenize(text))[-1]
        logits = [sum(last), -sum(last)]
        top = max(logits)
        exp = [math.exp(x - top) for x in logits]
        return [x / sum(exp) for x in exp]

    def reward(self, text: str) -> list[float]:
        return [_sigmoid(sum(row)) for row in self.hidden_states(tokenize(text))]

    def transcribe(self, audio: list[float], max_tokens: int = 6) -> RequestOutput:
        """Speech-to-text: encoder-decoder models cross-attend to the encoded audio."""
        if not isinstance(audio, list) or not audio:
            raise TypeError("audio must be a non-empty list of samples")
        if self.encoder is None:  # decoder-only audio model: audio frames are the prompt
            return self.generate("", max_tokens=max_tokens, image=audio)
        feats = self._tower(audio) if self.tower else self._features(audio)
        encoded = self.encoder.forward(feats, feats, feats)
        tokens: list[int] = [0]
        for _ in range(max_tokens):
            states = self.hidden_states(tokens)
            attended = self.cross.forward(states[-1:], encoded, encoded)[0]
            logits = [sum(a * b for a, b in zip(attended, self.embed_token(t))) for t in range(VOCAB)]
            tokens.append(max(range(VOCAB), key=logits.__getitem__))
        return RequestOutput([], tokens[1:])
