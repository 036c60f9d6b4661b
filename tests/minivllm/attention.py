"""Attention backends and their selection, after vllm/attention/selector.py."""

from __future__ import annotations

import enum
import math
import os

from .platforms import current_platform, rocm_encoder_support


class AttentionType(str, enum.Enum):
    DECODER = "decoder"  # causal self-attention
    ENCODER = "encoder"  # bidirectional self-attention of an encoder-decoder model
    ENCODER_ONLY = "encoder_only"  # bidirectional self-attention of an encoder-only model
    ENCODER_DECODER = "encoder_decoder"  # decoder queries attending to encoder outputs


class AttentionImpl:
    """Scaled dot-product attention over small lists of vectors."""

    name = "BASE"
    platforms: tuple[str, ...] = ()

    def __init__(self, head_size: int, attn_type: AttentionType):
        if attn_type is not AttentionType.DECODER and not self.supports_encoder():
            raise NotImplementedError(
                "Encoder self-attention and encoder/decoder cross-attention are not implemented for "
                f"{type(self).__name__}"
            )
        self.head_size = head_size
        self.attn_type = attn_type
        self.scale = 1.0 / math.sqrt(head_size)
        self.last_weights: list[list[float]] = []

    @classmethod
    def supports_encoder(cls) -> bool:
        return True

    def forward(self, query, key, value):
        """Attention output, one row per query; causal only for decoder self-attention."""
        causal = self.attn_type is AttentionType.DECODER and len(query) == len(key)
        weights_all, out = [], []
        for i, q in enumerate(query):
            limit = i + 1 if causal else len(key)
            scores = [sum(a * b for a, b in zip(q, key[j])) * self.scale for j in range(limit)]
            top = max(scores)
            exp = [math.exp(s - top) for s in scores]
            total = sum(exp)
            weights = [e / total for e in exp]
            weights_all.append(weights + [0.0] * (len(key) - limit))
            out.append([sum(w * value[j][d] for j, w in enumerate(weights)) for d in range(len(value[0]))])
        self.last_weights = weights_all
        return out


class _RocmImpl(AttentionImpl):
    platforms = ("rocm",)

    @classmethod
    def supports_encoder(cls) -> bool:
        return rocm_encoder_support()


class TritonAttentionImpl(AttentionImpl):
    name = "TRITON_ATTN"
    platforms = ("rocm", "cuda", "cpu")

    @classmethod
    def supports_encoder(cls) -> bool:
        return current_platform() != "rocm" or rocm_encoder_support()


class RocmAttentionImpl(_RocmImpl):
    name = "ROCM_ATTN"


class RocmAiterFlashAttentionImpl(_RocmImpl):
    name = "ROCM_AITER_FA"


class RocmAiterMLAImpl(_RocmImpl):
    name = "ROCM_AITER_MLA"


class FlashAttentionImpl(AttentionImpl):
    name = "FLASH_ATTN"
    platforms = ("cuda",)


class FlashInferImpl(AttentionImpl):
    name = "FLASHINFER"
    platforms = ("cuda",)


class TorchSDPAImpl(AttentionImpl):
    name = "TORCH_SDPA"
    platforms = ("cpu",)


BACKENDS = (
    TritonAttentionImpl,
    RocmAttentionImpl,
    RocmAiterFlashAttentionImpl,
    RocmAiterMLAImpl,
    FlashAttentionImpl,
    FlashInferImpl,
    TorchSDPAImpl,
)
DEFAULT_BACKEND = {"rocm": "TRITON_ATTN", "cuda": "FLASH_ATTN", "cpu": "TORCH_SDPA"}


def backend_names(platform: str | None = None) -> list[str]:
    """The backends the platform offers, default first."""
    platform = platform or current_platform()
    names = [b.name for b in BACKENDS if platform in b.platforms]
    names.remove(DEFAULT_BACKEND[platform])
    return [DEFAULT_BACKEND[platform], *names]


def get_attn_backend(requested: str | None = None) -> type[AttentionImpl]:
    """The requested backend (or $VLLM_ATTENTION_BACKEND, or the platform's default)."""
    platform = current_platform()
    name = requested or os.environ.get("VLLM_ATTENTION_BACKEND") or DEFAULT_BACKEND[platform]
    for backend in BACKENDS:
        if backend.name == name:
            if platform not in backend.platforms:
                raise ValueError(f"attention backend {name} is not available on {platform}")
            return backend
    raise ValueError(f"unknown attention backend {name}")
