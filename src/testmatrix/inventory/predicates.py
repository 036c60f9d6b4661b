"""What counts as a platform predicate, a skip decorator or a GPU need: the presets
for vLLM and PyTorch, and `[workspace.inventory]` over them."""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testmatrix.errors import ConfigError, Problem

# where a predicate is true: "rocm" (the platform, every variant), "rocm:mi355" (one
# variant), "rocm:?" (some of rocm's variants, undeclared which)
Places = tuple[str, ...]

_CAPABILITY: Places = ("cuda:?", "rocm:?")
VLLM_PREDICATES: dict[str, Places] = {
    "current_platform.is_rocm()": ("rocm",),
    "current_platform.is_cuda()": ("cuda",),
    "current_platform.is_cuda_alike()": ("cuda", "rocm"),
    "current_platform.is_cpu()": ("cpu",),
    "current_platform.is_xpu()": ("xpu",),
    "current_platform.is_tpu()": ("tpu",),
    "is_hip()": ("rocm",),
    # the hardware generation: a variant's own fact, declared in the workspace
    "current_platform.is_device_capability(...)": _CAPABILITY,
    "current_platform.has_device_capability(...)": _CAPABILITY,
    "current_platform.is_device_capability_family(...)": _CAPABILITY,
    "current_platform.supports_fp8()": _CAPABILITY,
    "current_platform.is_fp8_fnuz()": ("rocm:?",),
    "current_platform.is_navi()": ("rocm:?",),
    "is_navi()": ("rocm:?",),
    "on_gfx*()": ("rocm:?",),
    "on_mi3xx()": ("rocm:?",),
    "rocm_aiter_ops.is_enabled()": ("rocm:?",),
}
VLLM_SKIPS = {
    "skip_if_not_cuda_alike": "not current_platform.is_cuda_alike()",
    "skip_if_rocm": "current_platform.is_rocm()",
}
VLLM_GPU_MARKS = {"multi_gpu_test": "num_gpus", "multi_gpu_marks": "num_gpus"}
VLLM_DEVICE_COUNTS = (
    "cuda_device_count_stateless()",
    "torch.cuda.device_count()",
    "current_platform.device_count()",
    "torch.accelerator.device_count()",
)
PYTORCH_PREDICATES: dict[str, Places] = {
    "torch.version.hip": ("rocm",),
    "torch.version.cuda": ("cuda",),
    "TEST_WITH_ROCM": ("rocm",),
    "TEST_CUDA": ("cuda", "rocm"),  # torch.cuda.is_available() is true on ROCm
    "torch.cuda.is_available()": ("cuda", "rocm"),
    "IS_JETSON": (),
}
PYTORCH_SKIPS = {
    "skipIfRocm": "TEST_WITH_ROCM",
    "skipCUDAIfRocm": "TEST_WITH_ROCM",
    "skipIfNotRocm": "not TEST_WITH_ROCM",
    "skipCUDAIfNotRocm": "not TEST_WITH_ROCM",
    "skipIfNoCUDA": "not TEST_CUDA",
    "skipIfRocmArch": "torch.version.hip and rocm_arch_matches(...)",
}
PYTORCH_GPU_MARKS = {"skip_if_lt_x_gpu": "0", "requires_gpus": "0"}
PRESETS: dict[str, tuple[dict[str, Places], dict[str, str], dict[str, str], tuple]] = {
    "vllm": (VLLM_PREDICATES, VLLM_SKIPS, VLLM_GPU_MARKS, VLLM_DEVICE_COUNTS),
    "pytorch": (PYTORCH_PREDICATES, PYTORCH_SKIPS, PYTORCH_GPU_MARKS, ()),
}


def normal(text: str) -> str:
    """An expression as ast.unparse writes it, so spacing and quotes never matter."""
    return ast.unparse(ast.parse(text.strip(), mode="eval").body)


@dataclass(frozen=True)
class Config:
    """Predicates (normalised expression -> places), named skips (name -> condition
    source), GPU marks (name -> keyword, or a position '0') and GPU-counting calls."""

    predicates: Mapping[str, Places]
    skips: Mapping[str, str]
    gpu_marks: Mapping[str, str]
    device_counts: frozenset[str]
    paths: tuple[str, ...] | None = None
    globs: tuple[tuple[str, Places], ...] = field(default=(), compare=False)
    # answers by condition text: a tree repeats its few conditions many times
    memo: dict[tuple, Any] = field(default_factory=dict, compare=False, repr=False)

    def lookup(self, text: str, func: str | None = None) -> Places | None:
        """Where an atom (its unparsed text; `func`: its callee's, for a call) holds,
        or None when it is no known predicate. A module prefix does not matter:
        'vllm.platforms.current_platform.is_rocm()' is 'current_platform.is_rocm()'."""
        for candidate in _suffixes(text, func):
            found = self.predicates.get(candidate)
            if found is not None:
                return found
        for pattern, places in self.globs:
            if any(fnmatch.fnmatchcase(c, pattern) for c in _suffixes(text, func)):
                return places
        return None

    def is_device_count(self, text: str) -> bool:
        return any(c in self.device_counts for c in _suffixes(text, None))


def _suffixes(text: str, func: str | None) -> list[str]:
    """The text, its any-arguments form, and both without leading dotted parts."""
    forms = [text] + ([f"{func}(...)"] if func is not None else [])
    out = []
    for form in forms:
        out.append(form)
        head = form.split("(", 1)[0]
        parts = head.split(".")
        for i in range(1, len(parts)):
            out.append(form[len(".".join(parts[:i])) + 1 :])
    return out


def build(
    presets: tuple[str, ...] = ("vllm", "pytorch"),
    predicates: Mapping[str, Places] | None = None,
    skips: Mapping[str, Any] | None = None,
    gpu_marks: Mapping[str, Any] | None = None,
    device_counts: tuple[str, ...] | None = None,
    paths: tuple[str, ...] | None = None,
) -> Config:
    """The presets' declarations with the workspace's own over them (a key the
    workspace gives wins). Raises ValueError naming an expression that does not
    parse."""
    preds: dict[str, Places] = {}
    skip: dict[str, str] = {}
    gpu: dict[str, str] = {}
    counts: set[str] = set()
    for name in presets:
        p, s, g, c = PRESETS[name]
        preds.update(p)
        skip.update(s)
        gpu.update(g)
        counts.update(c)
    preds.update(predicates or {})
    skip.update({k: str(v) for k, v in (skips or {}).items()})
    gpu.update({k: str(v) for k, v in (gpu_marks or {}).items()})
    counts.update(device_counts or ())
    exact: dict[str, Places] = {}
    globs: list[tuple[str, Places]] = []
    for text, places in preds.items():
        if "*" in text:
            globs.append((text, tuple(places)))
            continue
        exact[_checked(text, "predicate")] = tuple(places)
    for text in skip.values():
        _checked(text, "skip condition")
    return Config(
        predicates=exact,
        skips=skip,
        gpu_marks=gpu,
        device_counts=frozenset(_checked(c, "device count") for c in counts),
        paths=paths,
        globs=tuple(globs),
    )


def _checked(text: str, what: str) -> str:
    try:
        return normal(text)
    except SyntaxError as exc:
        message = f"{what} '{text}' is not a Python expression: {exc.msg}"
        raise ValueError(message) from None


def load(skiplist_dir: Path) -> Config:
    """The `[workspace.inventory]` of a workspace's suites.toml over the presets."""
    from testmatrix.config import checker, schema, tomlpos

    path = skiplist_dir / "suites.toml"
    rel = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomlpos.parse(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError([Problem(rel, None, f"cannot read: {exc}")]) from None
    positions = tomlpos.locate(text)
    values, problems = checker.check(schema.SUITES_FILE, data, rel, positions)
    if problems:
        raise ConfigError(problems)
    table = values["workspace"]["inventory"]
    try:
        return build(
            tuple(table["presets"]),
            table["predicates"],
            table["skips"],
            table["gpu_marks"],
            table["device_counts"],
            table["paths"],
        )
    except ValueError as exc:
        line = tomlpos.line_of(positions, "workspace", "inventory")
        raise ConfigError([Problem(rel, line, str(exc))]) from None
