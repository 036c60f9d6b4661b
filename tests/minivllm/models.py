"""The models the bundled suite uses, with the attention each architecture needs."""

from __future__ import annotations

from dataclasses import dataclass

from .attention import AttentionType

D, E, ED = AttentionType.DECODER, AttentionType.ENCODER_ONLY, AttentionType.ENCODER_DECODER


@dataclass(frozen=True)
class ModelSpec:
    name: str
    attn: AttentionType  # the self-attention its main stack uses
    task: str  # generate, embed, score, classify, reward, transcribe
    hidden: int = 8
    multimodal: str | None = None  # "image"/"audio": an encoder tower in front; "audio-decoder": none


MODELS = {
    spec.name: spec
    for spec in (
        # encoder-decoder speech models
        ModelSpec("openai/whisper-small", ED, "transcribe"),
        ModelSpec("openai/whisper-large-v3-turbo", ED, "transcribe"),
        ModelSpec("mistralai/Voxtral-Mini-3B-2507", ED, "transcribe", multimodal="audio"),
        # vision: an encoder tower feeding a decoder
        ModelSpec("microsoft/Phi-3.5-vision-instruct", D, "generate", multimodal="image"),
        ModelSpec("TIGER-Lab/VLM2Vec-Full", D, "embed", multimodal="image"),
        # encoder-only pooling models
        ModelSpec("cross-encoder/ms-marco-MiniLM-L-6-v2", E, "score"),
        ModelSpec("BAAI/bge-reranker-base", E, "score"),
        ModelSpec("BAAI/bge-reranker-v2-m3", E, "score"),
        ModelSpec("intfloat/e5-small", E, "embed"),
        ModelSpec("intfloat/multilingual-e5-small", E, "embed", hidden=12),
        ModelSpec("BAAI/bge-base-en-v1.5", E, "embed", hidden=12),
        ModelSpec("Snowflake/snowflake-arctic-embed-m-v1.5", E, "embed", hidden=16),
        ModelSpec("sentence-transformers/all-MiniLM-L12-v2", E, "embed"),
        ModelSpec("sentence-transformers/stsb-roberta-base-v2", E, "embed"),
        # decoder-only models: these run everywhere
        ModelSpec("google/gemma-3n-E2B-it", D, "transcribe", multimodal="audio-decoder"),
        ModelSpec("Qwen/Qwen2.5-0.5B-Instruct", D, "generate"),
        ModelSpec("facebook/opt-125m", D, "generate"),
        ModelSpec("meta-llama/Llama-3.2-1B-Instruct", D, "generate"),
        ModelSpec("Alibaba-NLP/gte-Qwen2-1.5B-instruct", D, "embed", hidden=12),
        ModelSpec("intfloat/e5-mistral-7b-instruct", D, "embed", hidden=16),
        ModelSpec("BAAI/bge-multilingual-gemma2", D, "embed"),
        ModelSpec("Qwen/Qwen3-Reranker-0.6B", D, "score"),
        ModelSpec("jason9693/Qwen2.5-1.5B-apeach", D, "classify"),
        ModelSpec("Qwen/Qwen2.5-Math-PRM-7B", D, "reward"),
        ModelSpec("internlm/internlm2-1_8b-reward", D, "reward"),
    )
}


def get_model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"model {name!r} is not in the miniature's registry") from None
