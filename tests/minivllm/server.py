"""An in-process stand-in for vLLM's OpenAI-compatible server, for the entrypoint suites."""

from __future__ import annotations

from .engine import LLM, tokenize


class RemoteOpenAIServer:
    """Starts the engine for `model` like `vllm serve` would, and answers OpenAI-style calls."""

    def __init__(self, model: str, attention_backend: str | None = None, max_model_len: int = 64):
        self.model = model
        self.llm = LLM(model, attention_backend=attention_backend, max_model_len=max_model_len)

    def __enter__(self) -> "RemoteOpenAIServer":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def _usage(self, prompt: str, completion: int = 0) -> dict:
        prompt_tokens = len(tokenize(prompt))
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}

    def completions(self, prompt: str, max_tokens: int = 4) -> dict:
        out = self.llm.generate(prompt, max_tokens=max_tokens)
        return {"model": self.model, "choices": [{"text": out.text, "finish_reason": "length"}],
                "usage": self._usage(prompt, len(out.token_ids))}

    def chat(self, messages: list[dict], max_tokens: int = 4, image: list[float] | None = None) -> dict:
        prompt = " ".join(m["content"] for m in messages)
        out = self.llm.generate(prompt, max_tokens=max_tokens, image=image)
        return {"model": self.model, "choices": [{"message": {"role": "assistant", "content": out.text}}],
                "usage": self._usage(prompt, len(out.token_ids))}

    def embeddings(self, inputs: list[str], dimensions: int | None = None, truncate_prompt_tokens: int | None = None,
                   image: list[float] | None = None) -> dict:
        vectors = self.llm.embed(inputs, dimensions=dimensions, truncate_prompt_tokens=truncate_prompt_tokens, image=image)
        return {"model": self.model, "data": [{"index": i, "embedding": v} for i, v in enumerate(vectors)],
                "usage": self._usage(" ".join(inputs))}

    def score(self, text_1: str, text_2: list[str]) -> dict:
        return {"model": self.model, "data": [{"index": i, "score": self.llm.score(text_1, t)} for i, t in enumerate(text_2)]}

    def rerank(self, query: str, documents: list[str], top_n: int | None = None) -> dict:
        scored = [{"index": i, "document": d, "relevance_score": self.llm.score(query, d)} for i, d in enumerate(documents)]
        scored.sort(key=lambda r: r["relevance_score"], reverse=True)
        return {"model": self.model, "results": scored[:top_n] if top_n else scored}

    def classify(self, inputs: list[str]) -> dict:
        return {"model": self.model, "data": [{"index": i, "probs": self.llm.classify(t)} for i, t in enumerate(inputs)]}

    def transcriptions(self, audio: list[float], stream: bool = False, max_tokens: int = 6):
        out = self.llm.transcribe(audio, max_tokens=max_tokens)
        if stream:
            return [f"w{t}" for t in out.token_ids]
        return {"text": out.text, "usage": {"completion_tokens": len(out.token_ids)}}

    translations = transcriptions
