"""A miniature of vLLM's model runner, small enough to run on a CPU in milliseconds.

It keeps what matters for the test plan: each model has an attention type, each
platform offers attention backends, and ROCm's backends refuse encoder attention
with vLLM's own NotImplementedError (vllm issue 27442).
"""

from .attention import AttentionType, backend_names, get_attn_backend
from .engine import LLM
from .models import MODELS, ModelSpec, get_model_spec
from .platforms import current_platform, rocm_encoder_support
from .server import RemoteOpenAIServer

__all__ = [
    "AttentionType",
    "LLM",
    "MODELS",
    "ModelSpec",
    "RemoteOpenAIServer",
    "backend_names",
    "current_platform",
    "get_attn_backend",
    "get_model_spec",
    "rocm_encoder_support",
]
