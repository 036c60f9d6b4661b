"""Build a synthetic workspace with vLLM's shapes, at any number of tests and entries.

The tests are written the way vLLM writes them, because those shapes are what a
per-test decision has to read:
  - `@pytest.mark.parametrize("model", MODELS)` stacked with dtype and length axes;
  - `pytest.param("org/x", marks=pytest.mark.encoder_decoder)` and
    `pytest.param(..., marks=[pytest.mark.skipif(False, reason=...)], id=...)`;
  - model-info records (`EmbedModelInfo("org/name", ...)`, from a shared helper
    module in the tests tree) parametrized as `model_info` (ids `model_info0`);
  - module-scoped fixtures with params: a `server` over model ids, and an attention
    backend (`[default]`, `[TRITON_ATTN]`) that carries no model name;
  - `pytestmark = pytest.mark.encoder_decoder` (with and without `model=`), marked
    test classes, kernels with many integer axes and no model, `-m multi_gpu` splits;
  - small encoder-only files: what the CI-level ignores name.
The skiplists: cuda (no entries) and rocm with variants mi300 (gfx942) and mi355
(gfx950), its entries a mix of ignores (files and directories), skips (model lists,
`fails = {error=..., match=...}`), deselects (functions, classes, parametrized ids)
and a few flaky tests, some of each limited to one variant.

The wide mix (the default; `Scale(mix="classic")` is the suite before it) adds
the shapes an independent rerun of issue 25 names: tuple parameters
(`parametrize("model,dtype", [...])`), indirect fixtures (`indirect=True` into a
fixture reading `request.param`), `pytest_generate_tests` in the tests conftest
and in modules, nested and inherited classes with class-level marks and
parametrize, a second marker with its own model list, and thousands of
single-test deselects (`singles`) spread over many functions.

The tree depends on the scale's items, files, models, suites, seed, mix and
`tree_entries` only, never on `entries`: two workspaces built with the same
`tree_entries` and different `entries` hold the same tests (figure 2).
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

ENCODER_MARKER = "encoder_decoder"
MARKERS = {
    ENCODER_MARKER: "tests that use encoder or encoder-decoder models",
    "core_model": "the models every CI run tests",
    "slow_test": "tests that take minutes",
    "multi_gpu": "tests that need two GPUs",
    "hybrid_model": "hybrid attention and state-space models",
    "cpu_model": "models tested on CPU too",
}
FAILS = (
    '{ error = "NotImplementedError", match = "Encoder self-attention and '
    'encoder/decoder cross-attention are not implemented" }'
)
ORGS = (
    "BAAI",
    "intfloat",
    "sentence-transformers",
    "Snowflake",
    "cross-encoder",
    "openai",
    "meta-llama",
    "Qwen",
    "mistralai",
    "google",
    "microsoft",
    "ibm-granite",
    "deepseek-ai",
    "facebook",
    "nvidia",
    "allenai",
    "tiiuae",
    "EleutherAI",
    "HuggingFaceTB",
    "TIGER-Lab",
)


@dataclass(frozen=True)
class Suite:
    name: str
    path: str
    kinds: tuple[tuple[str, int], ...]  # (file kind, weight)
    encoder_pool: bool = False  # holds small encoder-only files (ignore targets)
    markexpr: str | None = None
    gpus: int = 1
    owns_files: bool = True  # False: shares its path with the suite before it


SUITES = (
    Suite(
        "api-server",
        "tests/entrypoints/openai",
        (("server", 4), ("server_constant", 1), ("classes", 2), ("generation", 1)),
        encoder_pool=True,
    ),
    Suite(
        "pooling",
        "tests/entrypoints/pooling",
        (("server", 3), ("model_info", 3), ("server_constant", 1)),
        encoder_pool=True,
    ),
    Suite(
        "language-generation",
        "tests/models/language/generation",
        (("generation", 5), ("mixed", 2)),
    ),
    Suite(
        "language-pooling",
        "tests/models/language/pooling",
        (("mixed", 3), ("model_info", 3)),
        encoder_pool=True,
    ),
    Suite(
        "kernels",
        "tests/kernels",
        (("kernels", 1),),
        markexpr="not multi_gpu",
    ),
    Suite(
        "kernels-multi-gpu",
        "tests/kernels",
        (),
        markexpr="multi_gpu",
        gpus=2,
        owns_files=False,
    ),
    Suite(
        "multimodal",
        "tests/models/multimodal",
        (("mixed", 2), ("classes", 2), ("generation", 2)),
        encoder_pool=True,
    ),
    Suite(
        "basic-correctness",
        "tests/basic_correctness",
        (("generation", 3), ("server", 1)),
    ),
    Suite("v1-engine", "tests/v1/engine", (("generation", 2), ("kernels", 1))),
    Suite("quantization", "tests/quantization", (("generation", 2), ("kernels", 2))),
)
KERNEL_WEIGHT = 3  # kernel files hold several times the tests of a model file
# the wide mix (the default) adds these kinds to the suites' own: tuple parameters,
# indirect fixtures, pytest_generate_tests, nested and inherited classes
WIDE_KINDS = {
    "api-server": (("indirect", 3), ("nested_classes", 1)),
    "pooling": (("generated", 2), ("tuples", 1)),
    "language-generation": (("tuples", 3), ("generated", 2)),
    "language-pooling": (("generated", 2), ("nested_classes", 1)),
    "multimodal": (("nested_classes", 2), ("indirect", 1)),
    "basic-correctness": (("tuples", 1), ("indirect", 1)),
    "v1-engine": (("indirect", 1), ("generated", 1)),
    "quantization": (("tuples", 2),),
}
MIXES = ("wide", "classic")


@dataclass(frozen=True)
class Scale:
    items: int = 120_000
    entries: int = 300
    files: int = 0  # test files besides the encoder-only ones; 0: one per 80 items
    models: int = 200
    suites: int = 10
    tree_entries: int = 0  # the tree holds ignore targets for this many (0: entries)
    seed: int = 27442
    # "wide": the suites' kinds and WIDE_KINDS, thousands of single-test deselects;
    # "classic": the suites' kinds only, as every run before the wide mix
    mix: str = "wide"
    singles: int = -1  # single-test deselects (-1: 10 per entry, 1 per 10 tests)
    # the single-test deselects count among `entries` (a third of them) instead of
    # coming on top: figure 2's "30 against 3,000 entries" is then what it says
    budget: bool = False

    @property
    def n_singles(self) -> int:
        if self.singles >= 0:
            return self.singles
        if self.mix == "classic":
            return 0
        if self.budget:
            return self.entries // 3
        return min(self.items // 10, 10 * self.entries)

    @property
    def n_files(self) -> int:
        return self.files or max(40, self.items // 80)

    @property
    def n_tree_entries(self) -> int:
        return max(self.entries, self.tree_entries)


def entry_kinds(entries: int) -> dict[str, int]:
    """How many entries of each kind: a few flaky, the rest 45% ignores, 40%
    deselects, 15% skips (vLLM's CI is mostly ignores and deselects)."""
    flaky = min(10, max(1, round(entries / 100)))
    rest = max(0, entries - flaky)
    skip = max(1, rest * 15 // 100)
    ignore = rest * 45 // 100
    return {
        "ignore": ignore,
        "deselect": rest - skip - ignore,
        "skip": skip,
        "flaky": flaky,
    }


def hf_models(encoders: list[str], decoders: list[str]) -> list[str]:
    """What the tests conftest's pytest_generate_tests gives `hf_model`: the
    first listed encoder, an encoder no list names, two decoders."""
    return [encoders[0], encoders[-1], *decoders[:2]]


def kinds_of(suite: Suite, mix: str) -> tuple[tuple[str, int], ...]:
    return suite.kinds + (WIDE_KINDS.get(suite.name, ()) if mix == "wide" else ())


def listed_count(encoders: list[str]) -> int:
    """How many encoders the model list holds (the first ones)."""
    return min(8, max(1, len(encoders) // 4))


def model_names(n: int) -> tuple[list[str], list[str]]:
    """(encoder models, decoder models): three in ten need encoder attention."""
    encoders = max(4, n * 3 // 10)
    names = [
        f"{ORGS[i % len(ORGS)]}/{'embed' if i < encoders else 'chat'}-{i:03d}"
        for i in range(n)
    ]
    return names[:encoders], names[encoders:]


@dataclass
class _File:
    path: str  # workspace-relative
    text: str
    items: int
    kind: str
    suite: str


@dataclass
class _Tree:
    """The test files, and what entries may name in them."""

    files: list[_File] = field(default_factory=list)
    # node ids a deselect may name: functions, class methods, one parametrized id
    deselectable: list[str] = field(default_factory=list)
    pool: dict[str, list[str]] = field(default_factory=dict)  # suite: pool files
    pool_dirs: dict[str, list[str]] = field(default_factory=dict)  # suite: dirs
    # encoder models marked in the files entries leave (not the pool), by files
    encoders_used: dict[str, int] = field(default_factory=dict)
    # parametrized functions and their tests' [params]; hybrid_model decoders
    params: list[tuple[str, list[str]]] = field(default_factory=list)
    hybrids: dict[str, int] = field(default_factory=dict)

    @property
    def items(self) -> int:
        return sum(f.items for f in self.files)


def _ints(n: int, start: int = 1, step: int = 1) -> list[int]:
    return [start + step * i for i in range(max(1, n))]


def _axis(budget: float, fixed: int) -> int:
    """The length of the free axis that brings `fixed` combinations to `budget`."""
    return max(1, round(budget / max(1, fixed)))


# a file's source, its number of tests, the ids a deselect may name, and the encoder
# models it marks
Written = tuple[str, int, list[str], list[str]]


class _Writer:
    """Writes one test file of a kind, to an item budget."""

    def __init__(self, rng: random.Random, encoders: list[str], decoders: list[str]):
        self.rng = rng
        self.encoders = encoders
        self.decoders = decoders
        # each parametrized function's id and its tests' [params] (single-test
        # deselects pick from them), the decoders under hybrid_model
        self.params: list[tuple[str, list[str]]] = []
        self.hybrids: dict[str, int] = {}
        self.hf_models = hf_models(encoders, decoders)
        # hybrid models: no other test uses them (lint wants every test of a
        # listed model marked)
        self.hybrid_pool = [
            f"{ORGS[i % len(ORGS)]}/mamba-{i:03d}"
            for i in range(max(4, len(decoders) // 10))
        ]

    def pick(self, pool: list[str], n: int) -> list[str]:
        return self.rng.sample(pool, min(len(pool), n))

    def write(
        self, kind: str, rel: str, budget: float, tree: _Tree, suite: Suite
    ) -> None:
        text, items, ids, encoders = getattr(self, kind)(rel, budget, suite)
        tree.files.append(_File(rel, text, items, kind, suite.name))
        tree.deselectable += ids
        for model in encoders:
            tree.encoders_used[model] = tree.encoders_used.get(model, 0) + 1

    # -- kinds: each returns (source, items, deselectable ids, encoders it marks)

    def generation(self, rel: str, budget: float, suite: Suite) -> Written:
        """Decoder models, stacked parametrize, a conftest fixture."""
        models = self.pick(self.decoders, self.rng.randint(4, 10))
        dtypes = ["half", "bfloat16"]
        k1 = _axis(budget * 0.6, len(models) * len(dtypes))
        k2 = _axis(budget * 0.4, len(models))
        core = "@pytest.mark.core_model\n" if self.rng.random() < 0.5 else ""
        text = (
            "import pytest\n\n"
            f"MODELS = {models!r}\n\n\n"
            f"{core}"
            '@pytest.mark.parametrize("model", MODELS)\n'
            f'@pytest.mark.parametrize("dtype", {dtypes!r})\n'
            f'@pytest.mark.parametrize("max_tokens", {_ints(k1, 16, 16)!r})\n'
            "def test_models(vllm_runner, example_prompts, model, dtype, "
            "max_tokens):\n"
            "    assert vllm_runner and example_prompts and model and max_tokens\n\n\n"
            '@pytest.mark.parametrize("model_name", MODELS)\n'
            f'@pytest.mark.parametrize("num_logprobs", {_ints(k2)!r})\n'
            "def test_logprobs(model_name, num_logprobs):\n"
            "    assert model_name and num_logprobs\n"
        )
        items = len(models) * len(dtypes) * k1 + len(models) * k2
        # a parametrized id: pytest joins the ids bottom decorator first
        one = f"{rel}::test_models[16-{dtypes[0]}-{models[0]}]"
        self._ids(
            f"{rel}::test_models",
            [f"{t}-{d}-{m}" for m in models for d in dtypes for t in _ints(k1, 16, 16)],
        )
        ids = [f"{rel}::test_models", f"{rel}::test_logprobs", one]
        return text, items, ids, []

    def mixed(self, rel: str, budget: float, suite: Suite) -> Written:
        """One MODELS list, encoder entries marked by pytest.param (some with ids
        that do not carry the model's name), decoders with a skipif."""
        encoders = self.pick(self.encoders, self.rng.randint(2, 5))
        decoders = self.pick(self.decoders, self.rng.randint(2, 5))
        params = []
        for i, model in enumerate(encoders):
            if i % 3 == 2:
                params.append(
                    f"    pytest.param({model!r}, marks=pytest.mark.{ENCODER_MARKER}, "
                    f'id="enc{i}"),'
                )
            else:
                mark = f"[pytest.mark.{ENCODER_MARKER}]"
                params.append(f"    pytest.param({model!r}, marks={mark}),")
        for i, model in enumerate(decoders):
            if i % 2:
                params.append(f"    {model!r},")
            else:
                params.append(
                    f"    pytest.param({model!r}, marks=[pytest.mark.skipif(False, "
                    f'reason="needs FlashAttention")], id="dec{i}"),'
                )
        n = len(encoders) + len(decoders)
        k1 = _axis(budget * 0.7, n)
        k2 = _axis(budget * 0.3, n)
        text = (
            "import pytest\n\n"
            "MODELS = [\n" + "\n".join(params) + "\n]\n\n\n"
            '@pytest.mark.parametrize("model", MODELS)\n'
            f'@pytest.mark.parametrize("max_model_len", {_ints(k1, 128, 128)!r})\n'
            "def test_models(model, max_model_len):\n"
            "    assert model and max_model_len\n\n\n"
            '@pytest.mark.parametrize("model", MODELS)\n'
            f'@pytest.mark.parametrize("batch", {_ints(k2)!r})\n'
            "def test_embed_matches_hf(model, batch):\n"
            "    assert model and batch\n"
        )
        ids = [f"{rel}::test_models", f"{rel}::test_embed_matches_hf"]
        shown = [f"enc{i}" if i % 3 == 2 else m for i, m in enumerate(encoders)]
        shown += [m if i % 2 else f"dec{i}" for i, m in enumerate(decoders)]
        self._ids(ids[0], [f"{t}-{m}" for m in shown for t in _ints(k1, 128, 128)])
        self._ids(ids[1], [f"{b}-{m}" for m in shown for b in _ints(k2)])
        return text, n * (k1 + k2), ids, encoders

    def model_info(self, rel: str, budget: float, suite: Suite) -> Written:
        """Model-info records from the shared helper module: whole files of encoders
        under `pytestmark`, or mixed records with the mark on the encoder ones."""
        all_encoders = self.rng.random() < 0.5
        encoders = self.pick(self.encoders, self.rng.randint(2, 6))
        decoders = [] if all_encoders else self.pick(self.decoders, 3)
        records = []
        for i, model in enumerate(encoders):
            cls = ("EmbedModelInfo", "CLSPoolingEmbedModelInfo", "RerankModelInfo")[
                i % 3
            ]
            record = f'{cls}({model!r}, architecture="BertModel", enable_test=True)'
            if not all_encoders:
                record = f"pytest.param({record}, marks=pytest.mark.{ENCODER_MARKER})"
            records.append(f"    {record},")
        for model in decoders:
            records.append(
                f'    EmbedModelInfo({model!r}, architecture="Qwen2Model", '
                "is_matryoshka=True),"
            )
        n = len(records)
        k = _axis(budget * 0.8, n)
        k2 = _axis(budget * 0.2, n)
        mark = f"pytestmark = pytest.mark.{ENCODER_MARKER}\n\n" if all_encoders else ""
        text = (
            "import pytest\n"
            "from model_utils import (\n"
            "    CLSPoolingEmbedModelInfo,\n"
            "    EmbedModelInfo,\n"
            "    RerankModelInfo,\n"
            ")\n\n"
            f"{mark}"
            "MODELS = [\n" + "\n".join(records) + "\n]\n\n\n"
            '@pytest.mark.parametrize("model_info", MODELS)\n'
            f'@pytest.mark.parametrize("seq_len", {_ints(k, 32, 32)!r})\n'
            "def test_embed_models_mteb(model_info, seq_len):\n"
            "    assert model_info.name and seq_len\n\n\n"
            '@pytest.mark.parametrize("model_info", MODELS)\n'
            f'@pytest.mark.parametrize("dimensions", {_ints(k2, 64, 64)!r})\n'
            "def test_matryoshka(model_info, dimensions):\n"
            "    assert model_info.architecture and dimensions\n"
        )
        ids = [f"{rel}::test_embed_models_mteb", f"{rel}::test_matryoshka"]
        return text, n * (k + k2), ids, encoders

    def server(self, rel: str, budget: float, suite: Suite) -> Written:
        """A module-scoped server fixture over model ids (short ids in a third of
        the files), an attention-backend fixture, and parametrized requests; files
        that serve an encoder model are marked with `pytestmark`."""
        with_encoder = self.rng.random() < 0.6
        models = self.pick(self.decoders, self.rng.randint(1, 2))
        encoders = (
            self.pick(self.encoders, self.rng.randint(1, 2)) if with_encoder else []
        )
        models = encoders + models
        backends = ["default", "TRITON_ATTN"]
        ids = ""
        if self.rng.random() < 0.33:
            short = [m.split("/")[1] for m in models]
            ids = f", ids={short!r}"
        fixed = len(models) * len(backends)
        k1 = _axis(budget * 0.6, fixed)
        k2 = _axis(budget * 0.4, len(models))
        mark = f"pytestmark = pytest.mark.{ENCODER_MARKER}\n\n" if encoders else ""
        text = (
            "import pytest\n\n"
            f"{mark}"
            f"MODELS = {models!r}\n\n\n"
            f'@pytest.fixture(scope="module", params=MODELS{ids})\n'
            "def server(request):\n"
            "    return request.param\n\n\n"
            f'@pytest.fixture(scope="module", params={backends!r})\n'
            "def attn_backend(request):\n"
            "    return request.param\n\n\n"
            f'@pytest.mark.parametrize("prompt_len", {_ints(k1, 8, 8)!r})\n'
            "def test_completion(server, attn_backend, prompt_len):\n"
            "    assert server and attn_backend and prompt_len\n\n\n"
            f'@pytest.mark.parametrize("n", {_ints(k2)!r})\n'
            "def test_chat(server, n):\n"
            "    assert server and n\n"
        )
        items = fixed * k1 + len(models) * k2
        ids_ = [f"{rel}::test_completion", f"{rel}::test_chat"]
        return text, items, ids_, encoders

    def server_constant(self, rel: str, budget: float, suite: Suite) -> Written:
        """One model in a constant, the only parameter an attention backend: the
        node ids (`[default-8]`) carry no model name, so the marker names it."""
        encoder = self.rng.random() < 0.7
        model = self.pick(self.encoders if encoder else self.decoders, 1)[0]
        backends = ["default", "TRITON_ATTN", "ROCM_AITER_FA"]
        k = _axis(budget, len(backends))
        mark = (
            f"pytestmark = pytest.mark.{ENCODER_MARKER}(model=MODEL_NAME)\n\n\n"
            if encoder
            else "\n"
        )
        text = (
            "import pytest\n\n"
            f"MODEL_NAME = {model!r}\n"
            f"{mark}"
            f'@pytest.fixture(scope="module", params={backends!r})\n'
            "def attn_backend(request):\n"
            "    return request.param\n\n\n"
            '@pytest.fixture(scope="module")\n'
            "def server(attn_backend):\n"
            "    return (MODEL_NAME, attn_backend)\n\n\n"
            f'@pytest.mark.parametrize("max_tokens", {_ints(k, 4, 4)!r})\n'
            "def test_transcription(server, max_tokens):\n"
            "    assert server and max_tokens\n"
        )
        ids = [f"{rel}::test_transcription"]
        return text, len(backends) * k, ids, [model] if encoder else []

    def classes(self, rel: str, budget: float, suite: Suite) -> Written:
        """A marked test class over encoder models, an unmarked one over decoders."""
        encoders = self.pick(self.encoders, self.rng.randint(1, 3))
        decoders = self.pick(self.decoders, self.rng.randint(1, 3))
        k1 = _axis(budget * 0.4, len(encoders))
        k2 = _axis(budget * 0.2, len(encoders))
        k3 = _axis(budget * 0.4, len(decoders))
        text = (
            "import pytest\n\n"
            f"ENCODERS = {encoders!r}\n"
            f"DECODERS = {decoders!r}\n\n\n"
            f"@pytest.mark.{ENCODER_MARKER}\n"
            "class TestTranscription:\n"
            '    @pytest.mark.parametrize("model_name", ENCODERS)\n'
            f'    @pytest.mark.parametrize("temperature", {_ints(k1, 0)!r})\n'
            "    def test_basic_audio(self, model_name, temperature):\n"
            "        assert model_name and temperature >= 0\n\n"
            '    @pytest.mark.parametrize("model_name", ENCODERS)\n'
            f'    @pytest.mark.parametrize("chunk", {_ints(k2)!r})\n'
            "    def test_streaming_response(self, model_name, chunk):\n"
            "        assert model_name and chunk\n\n\n"
            "@pytest.mark.cpu_model\n"
            "class TestChat:\n"
            '    @pytest.mark.parametrize("model_name", DECODERS)\n'
            f'    @pytest.mark.parametrize("turns", {_ints(k3)!r})\n'
            "    def test_chat(self, model_name, turns):\n"
            "        assert model_name and turns\n"
        )
        items = len(encoders) * (k1 + k2) + len(decoders) * k3
        ids = [
            f"{rel}::TestTranscription::test_basic_audio",
            f"{rel}::TestTranscription::test_streaming_response",
            f"{rel}::TestChat",
        ]
        return text, items, ids, encoders

    def kernels(self, rel: str, budget: float, suite: Suite) -> Written:
        """Integer and dtype axes, no model; in the kernels suite a multi-GPU test
        that `-m multi_gpu` sends to the other kernels suite."""
        dtypes = ["float16", "bfloat16", "float32"]
        hidden = [128, 256, 1024, 4096]
        multi = suite.name == "kernels"
        share = 0.8 if multi else 1.0
        k = _axis(budget * share, len(dtypes) * len(hidden))
        text = (
            "import pytest\n\n"
            f"DTYPES = {dtypes!r}\n"
            f"HIDDEN_SIZES = {hidden!r}\n"
            f"NUM_TOKENS = {_ints(k, 7, 7)!r}\n\n\n"
            '@pytest.mark.parametrize("num_tokens", NUM_TOKENS)\n'
            '@pytest.mark.parametrize("hidden_size", HIDDEN_SIZES)\n'
            '@pytest.mark.parametrize("dtype", DTYPES)\n'
            '@pytest.mark.parametrize("seed", [0])\n'
            "def test_fused_moe(num_tokens, hidden_size, dtype, seed):\n"
            "    assert num_tokens and hidden_size and dtype and seed == 0\n"
        )
        items = k * len(dtypes) * len(hidden)
        ids = [f"{rel}::test_fused_moe"]
        self._ids(
            ids[0],
            [f"0-{d}-{h}-{t}" for t in _ints(k, 7, 7) for h in hidden for d in dtypes],
        )
        if multi:
            k2 = _axis(budget * 0.2, len(dtypes))
            text += (
                "\n\n@pytest.mark.multi_gpu\n"
                '@pytest.mark.parametrize("tp_size", [2])\n'
                '@pytest.mark.parametrize("dtype", DTYPES)\n'
                f'@pytest.mark.parametrize("num_tokens", {_ints(k2, 7, 7)!r})\n'
                "def test_tensor_parallel_moe(num_tokens, dtype, tp_size):\n"
                "    assert num_tokens and dtype and tp_size == 2\n"
            )
            items += k2 * len(dtypes)
            ids.append(f"{rel}::test_tensor_parallel_moe")
        return text, items, ids, []

    # -- the wide mix's kinds: tuple parameters, indirect fixtures,
    # pytest_generate_tests, nested and inherited classes with class-level marks

    def _param(self, values: tuple, encoder: bool, id_: str | None = None) -> str:
        """One parameter set: a bare value or tuple, or a pytest.param with the
        encoder mark and an id."""
        args = ", ".join(repr(v) for v in values)
        extra = []
        if encoder:
            extra.append(f"marks=pytest.mark.{ENCODER_MARKER}")
        if id_ is not None:
            extra.append(f"id={id_!r}")
        if not extra:
            return args if len(values) == 1 else f"({args})"
        return f"pytest.param({args}, {', '.join(extra)})"

    def _ids(self, function: str, ids: list[str]) -> None:
        self.params.append((function, ids))

    def tuples(self, rel: str, budget: float, suite: Suite) -> Written:
        """`parametrize("model,dtype", [(...), ...])` with the encoder pairs in
        pytest.param, and `("model", "tp_size")` pairs under a hybrid_model mark
        whose ids hide the model."""
        decoders = self.pick(self.decoders, self.rng.randint(2, 5))
        encoders = self.pick(self.encoders, self.rng.randint(0, 2))
        dtypes = ["half", "bfloat16"]
        pairs = [(m, d, m in encoders) for m in encoders + decoders for d in dtypes]
        hybrids = self.pick(self.hybrid_pool, self.rng.randint(2, 3))
        tps = [(m, tp) for m in hybrids for tp in (1, 2)]
        k1 = _axis(budget * 0.7, len(pairs))
        k2 = _axis(budget * 0.3, len(tps))
        lines = [f"    {self._param((m, d), enc)}," for m, d, enc in pairs]
        hidden = [
            f"    {self._param((m, tp), False, f'h{i}-tp{tp}')},"
            for i, (m, tp) in enumerate(tps)
        ]
        text = (
            "import pytest\n\n"
            "MODELS_AND_DTYPES = [\n" + "\n".join(lines) + "\n]\n"
            "HYBRID_MODELS = [\n" + "\n".join(hidden) + "\n]\n\n\n"
            '@pytest.mark.parametrize("model,dtype", MODELS_AND_DTYPES)\n'
            f'@pytest.mark.parametrize("max_tokens", {_ints(k1, 32, 32)!r})\n'
            "def test_greedy_matches_hf(model, dtype, max_tokens):\n"
            "    assert model and dtype and max_tokens\n\n\n"
            "@pytest.mark.hybrid_model\n"
            '@pytest.mark.parametrize(("model", "tp_size"), HYBRID_MODELS)\n'
            f'@pytest.mark.parametrize("batch", {_ints(k2)!r})\n'
            "def test_hybrid_state_cache(model, tp_size, batch):\n"
            "    assert model and tp_size and batch\n"
        )
        greedy = f"{rel}::test_greedy_matches_hf"
        hybrid = f"{rel}::test_hybrid_state_cache"
        self._ids(
            greedy, [f"{t}-{m}-{d}" for m, d, _ in pairs for t in _ints(k1, 32, 32)]
        )
        self._ids(
            hybrid,
            [f"{b}-h{i}-tp{tp}" for i, (_, tp) in enumerate(tps) for b in _ints(k2)],
        )
        for m in hybrids:
            self.hybrids[m] = self.hybrids.get(m, 0) + 1
        one = f"{greedy}[32-{pairs[0][0]}-{pairs[0][1]}]"
        items = len(pairs) * k1 + len(tps) * k2
        return text, items, [greedy, hybrid, one], encoders

    def indirect(self, rel: str, budget: float, suite: Suite) -> Written:
        """A module-scoped `server` fixture that reads `request.param`, given its
        models by `parametrize(..., indirect=True)`: ids the model, or short ids."""
        decoders = self.pick(self.decoders, self.rng.randint(1, 3))
        encoders = self.pick(self.encoders, self.rng.randint(1, 2))
        models = [(m, m in encoders) for m in encoders + decoders]
        k1 = _axis(budget * 0.6, len(models) * 2)
        k2 = _axis(budget * 0.4, len(models))
        full = [f"    {self._param((m,), enc)}," for m, enc in models]
        short = [f"    {self._param((m,), enc, m.split('/')[1])}," for m, enc in models]
        text = (
            "import pytest\n\n"
            "MODELS = [\n" + "\n".join(full) + "\n]\n"
            "SHORT = [\n" + "\n".join(short) + "\n]\n\n\n"
            '@pytest.fixture(scope="module")\n'
            "def server(request):\n"
            "    return {'model': request.param, 'args': ['--enforce-eager']}\n\n\n"
            '@pytest.mark.parametrize("server", MODELS, indirect=True)\n'
            '@pytest.mark.parametrize("stream", [False, True])\n'
            f'@pytest.mark.parametrize("max_tokens", {_ints(k1, 8, 8)!r})\n'
            "def test_completion_stream(server, stream, max_tokens):\n"
            "    assert server['model'] and max_tokens\n\n\n"
            '@pytest.mark.parametrize("server", SHORT, indirect=True)\n'
            f'@pytest.mark.parametrize("n", {_ints(k2)!r})\n'
            "def test_chat_n(server, n):\n"
            "    assert server['model'] and n\n"
        )
        stream = f"{rel}::test_completion_stream"
        chat = f"{rel}::test_chat_n"
        self._ids(
            stream,
            [
                f"{t}-{s}-{m}"
                for m, _ in models
                for s in (False, True)
                for t in _ints(k1, 8, 8)
            ],
        )
        self._ids(
            chat, [f"{n}-{m.split('/')[1]}" for m, _ in models for n in _ints(k2)]
        )
        items = len(models) * 2 * k1 + len(models) * k2
        return text, items, [stream, chat], encoders

    def generated(self, rel: str, budget: float, suite: Suite) -> Written:
        """The module's `pytest_generate_tests` parametrizes `model_id`; the
        tests conftest's parametrizes `hf_model` (ids without the org); files of
        encoder models are marked with `pytestmark`."""
        encoder = self.rng.random() < 0.5
        models = self.pick(
            self.encoders if encoder else self.decoders, self.rng.randint(2, 4)
        )
        hf = len(self.hf_models)
        k1 = _axis(budget * 0.6, len(models))
        k2 = _axis(budget * 0.4, hf)
        mark = f"pytestmark = pytest.mark.{ENCODER_MARKER}\n\n" if encoder else ""
        # the conftest's models hold encoders: marked by the module, or here
        own = "" if encoder else f"@pytest.mark.{ENCODER_MARKER}\n"
        text = (
            "import pytest\n\n"
            f"{mark}"
            f"MODELS = {models!r}\n\n\n"
            "def pytest_generate_tests(metafunc):\n"
            '    if "model_id" in metafunc.fixturenames:\n'
            '        metafunc.parametrize("model_id", MODELS)\n\n\n'
            f'@pytest.mark.parametrize("batch", {_ints(k1)!r})\n'
            "def test_generate_batch(model_id, batch):\n"
            "    assert model_id and batch\n\n\n"
            f"{own}"
            f'@pytest.mark.parametrize("seq_len", {_ints(k2, 64, 64)!r})\n'
            "def test_matches_hf(hf_model, seq_len):\n"
            "    assert hf_model and seq_len\n"
        )
        batch = f"{rel}::test_generate_batch"
        hf_id = f"{rel}::test_matches_hf"
        self._ids(batch, [f"{m}-{b}" for m in models for b in _ints(k1)])
        self._ids(
            hf_id,
            [
                f"{m.split('/')[1]}-{s}"
                for m in self.hf_models
                for s in _ints(k2, 64, 64)
            ],
        )
        used = models if encoder else []
        return text, len(models) * k1 + hf * k2, [batch, hf_id], used

    def nested_classes(self, rel: str, budget: float, suite: Suite) -> Written:
        """A class marked and parametrized over encoders with a nested class; a
        base class's parametrized test inherited by two marked classes, one of
        them holding a nested class without a model."""
        encoders = self.pick(self.encoders, self.rng.randint(1, 3))
        decoders = self.pick(self.decoders, self.rng.randint(1, 3))
        k1 = _axis(budget * 0.3, len(encoders))
        k2 = _axis(budget * 0.2, len(encoders))
        k3 = _axis(budget * 0.2, len(decoders))
        k4 = _axis(budget * 0.1, 1)
        text = (
            "import pytest\n\n"
            f"ENCODERS = {encoders!r}\n"
            f"DECODERS = {decoders!r}\n\n\n"
            f"@pytest.mark.{ENCODER_MARKER}\n"
            '@pytest.mark.parametrize("model", ENCODERS)\n'
            "class TestEncoderServing:\n"
            f'    @pytest.mark.parametrize("batch", {_ints(k1)!r})\n'
            "    def test_embed(self, model, batch):\n"
            "        assert model and batch\n\n"
            "    class TestStreaming:\n"
            f'        @pytest.mark.parametrize("chunk", {_ints(k2)!r})\n'
            "        def test_stream(self, model, chunk):\n"
            "            assert model and chunk\n\n\n"
            "class BaseSampling:\n"
            '    @pytest.mark.parametrize("model", DECODERS)\n'
            f'    @pytest.mark.parametrize("temperature", {_ints(k3, 0)!r})\n'
            "    def test_sample(self, model, temperature):\n"
            "        assert model and temperature >= 0\n\n\n"
            "@pytest.mark.slow_test\n"
            "class TestSamplingV1(BaseSampling):\n"
            "    pass\n\n\n"
            "@pytest.mark.cpu_model\n"
            "class TestSamplingCPU(BaseSampling):\n"
            "    class TestScheduler:\n"
            f'        @pytest.mark.parametrize("step", {_ints(k4)!r})\n'
            "        def test_step(self, step):\n"
            "            assert step\n"
        )
        serving = f"{rel}::TestEncoderServing"
        sampling = [
            f"{rel}::{c}::test_sample" for c in ("TestSamplingV1", "TestSamplingCPU")
        ]
        self._ids(
            f"{serving}::test_embed", [f"{b}-{m}" for m in encoders for b in _ints(k1)]
        )
        self._ids(
            f"{serving}::TestStreaming::test_stream",
            [f"{c}-{m}" for m in encoders for c in _ints(k2)],
        )
        for function in sampling:
            self._ids(function, [f"{t}-{m}" for m in decoders for t in _ints(k3, 0)])
        items = len(encoders) * (k1 + k2) + 2 * len(decoders) * k3 + k4
        ids = [
            f"{serving}::TestStreaming",
            sampling[0],
            f"{rel}::TestSamplingCPU::TestScheduler",
        ]
        return text, items, ids, encoders

    def pool(self, rel: str, suite: Suite) -> _File:
        """A small file that only uses encoder models (the listed ones): what the CI
        ignores name."""
        listed = self.encoders[: listed_count(self.encoders)]
        models = self.pick(listed, self.rng.randint(1, 2))
        text = (
            "import pytest\n\n"
            f"pytestmark = pytest.mark.{ENCODER_MARKER}\n\n"
            f"MODELS = {models!r}\n\n\n"
            '@pytest.mark.parametrize("model", MODELS)\n'
            "def test_embedding(model):\n"
            "    assert model\n"
        )
        return _File(rel, text, len(models), "encoder_only", suite.name)


MODEL_UTILS = '''"""Model-info records, as vLLM's tests/models/utils.py has them."""

from dataclasses import dataclass


@dataclass
class ModelInfo:
    name: str
    architecture: str = ""
    dtype: str = "auto"
    enable_test: bool = True


@dataclass
class EmbedModelInfo(ModelInfo):
    is_matryoshka: bool = False


@dataclass
class CLSPoolingEmbedModelInfo(EmbedModelInfo):
    pooling_type: str = "CLS"


@dataclass
class RerankModelInfo(ModelInfo):
    num_labels: int = 1
'''

TESTS_CONFTEST = '''"""Shared fixtures, as vLLM's tests/conftest.py has them."""

import pytest


@pytest.fixture
def example_prompts():
    return ["Hello, my name is", "The capital of France is"]


@pytest.fixture
def vllm_runner():
    return object
'''


GENERATE_TESTS = """

HF_MODELS = {models!r}


def pytest_generate_tests(metafunc):
    if "hf_model" in metafunc.fixturenames:
        metafunc.parametrize("hf_model", HF_MODELS, ids=lambda m: m.split("/")[1])
"""


def suites_of(scale: Scale) -> list[Suite]:
    """The first `suites` suites (the kernels pair counts as two); more than ten
    adds plain generation suites."""
    chosen = list(SUITES[: scale.suites])
    if chosen and chosen[-1].name == "kernels":
        chosen.pop()  # its multi-GPU half did not fit: keep the pair whole
    for i in range(len(SUITES), scale.suites):
        chosen.append(Suite(f"extra-{i}", f"tests/extra/area{i}", (("generation", 1),)))
    return chosen


def _tree(scale: Scale) -> _Tree:
    if scale.mix not in MIXES:
        raise ValueError(f"unknown mix {scale.mix!r}; known: {', '.join(MIXES)}")
    rng = random.Random(scale.seed)
    encoders, decoders = model_names(scale.models)
    writer = _Writer(rng, encoders, decoders)
    suites = suites_of(scale)
    owners = [s for s in suites if s.owns_files]
    tree = _Tree()
    # the encoder-only files: enough for the tree's ignores, a few more that no
    # entry names, and directories of three that a directory ignore names
    ignores = entry_kinds(scale.n_tree_entries)["ignore"]
    n_dirs = ignores // 20
    n_pool = (ignores - n_dirs) + max(2, ignores // 10)
    holders = [s for s in owners if s.encoder_pool] or owners[:1]
    pool_files: list[_File] = []
    for i in range(n_pool):
        suite = holders[i % len(holders)]
        rel = f"{suite.path}/encoder_only/group{i // 40}/test_encoder_{i:04d}.py"
        pool_files.append(writer.pool(rel, suite))
        tree.pool.setdefault(suite.name, []).append(rel)
    for i in range(n_dirs):
        suite = holders[i % len(holders)]
        folder = f"{suite.path}/unsupported_{i:03d}"
        tree.pool_dirs.setdefault(suite.name, []).append(folder)
        for j in range(3):
            pool_files.append(writer.pool(f"{folder}/test_case_{j}.py", suite))
    budget = max(0, scale.items - sum(f.items for f in pool_files))
    plan = []
    for i in range(scale.n_files):
        suite = owners[i % len(owners)]
        kinds = [k for k, _ in kinds_of(suite, scale.mix)]
        weights = [w for _, w in kinds_of(suite, scale.mix)]
        kind = rng.choices(kinds, weights)[0]
        weight = (KERNEL_WEIGHT if kind == "kernels" else 1) * rng.uniform(0.5, 1.5)
        rel = f"{suite.path}/part{(i // len(owners)) % 8}/test_{kind}_{i:04d}.py"
        plan.append((suite, kind, rel, weight))
    left_weight = sum(w for *_, w in plan)
    left_items = budget
    for suite, kind, rel, weight in plan:
        share = left_items * weight / left_weight if left_weight else 0
        writer.write(kind, rel, max(1.0, share), tree, suite)
        left_items -= tree.files[-1].items
        left_weight -= weight
    tree.files += pool_files
    tree.params, tree.hybrids = writer.params, writer.hybrids
    return tree


def build(root: Path, scale: Scale = Scale()) -> dict:
    """Write the workspace under `root`; returns what was built."""
    if root.exists():
        shutil.rmtree(root)
    tree = _tree(scale)
    for f in tree.files:
        path = root / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.text)
    (root / "tests").mkdir(parents=True, exist_ok=True)
    (root / "tests/model_utils.py").write_text(MODEL_UTILS)
    conftest = TESTS_CONFTEST
    if scale.mix == "wide":
        encoders, decoders = model_names(scale.models)
        conftest += GENERATE_TESTS.format(models=hf_models(encoders, decoders))
    (root / "tests/conftest.py").write_text(conftest)
    suites = suites_of(scale)
    kinds = _skiplists(root, scale, tree, suites)
    markers = "".join(f"    {name}: {text}\n" for name, text in MARKERS.items())
    (root / "pytest.ini").write_text(
        f"[pytest]\npythonpath = {SRC} tests\n"
        "addopts = -p no:cacheprovider --import-mode=importlib\n"
        f"markers =\n{markers}"
    )
    # without an installed package the conftest loads the plugin; installed, its
    # entry point has: either way -p no:testmatrix.plugin turns it off
    (root / "conftest.py").write_text('pytest_plugins = ["testmatrix.plugin"]\n')
    (root / "noxfile.py").write_text(
        f"import sys\nsys.path.insert(0, {str(SRC)!r})\n"
        "from testmatrix.noxsessions import register\nregister()\n"
    )
    shapes: dict[str, int] = {}
    for f in tree.files:
        shapes[f.kind] = shapes.get(f.kind, 0) + 1
    return {
        "files": len(tree.files),
        "items": tree.items,
        "models": scale.models,
        "entries": sum(kinds.values()),
        "entry_kinds": kinds,
        "suites": len(suites),
        "variants": ["rocm:mi300", "rocm:mi355"],
        "mix": scale.mix,
        "shapes": dict(sorted(shapes.items())),
    }


def _variants(i: int) -> str:
    """One entry in six holds on MI355 only, one in twelve on MI300 only."""
    if i % 6 == 5:
        return 'variants = ["mi355"]\n'
    if i % 12 == 4:
        return 'variants = ["mi300"]\n'
    return ""


def _issue(n: int) -> str:
    return f'issue = "https://github.com/vllm-project/vllm/issues/{27000 + n}"\n'


def _skiplists(root: Path, scale: Scale, tree: _Tree, suites: list[Suite]) -> dict:
    """suites.toml, models.toml, platforms/{cuda,rocm}.toml; the entries' counts."""
    rng = random.Random(scale.seed + 1)  # apart from the tree's: same tree, any entries
    want = entry_kinds(scale.entries - (scale.n_singles if scale.budget else 0))
    by_name = {s.name: s for s in suites}
    lines = ['[workspace]\ninstall = ["."]\n']
    for s in suites:
        lines.append(f'[suites.{s.name}]\npath = "{s.path}"\n')
        if s.markexpr:
            lines[-1] += f'markexpr = "{s.markexpr}"\n'
        if s.gpus > 1:
            lines[-1] += f"gpus = {s.gpus}\n"
    sk = root / "skiplists"
    (sk / "platforms").mkdir(parents=True)
    (sk / "suites.toml").write_text("\n".join(lines))
    (sk / "platforms/cuda.toml").write_text(
        '[platform]\ndescription = "NVIDIA GPUs"\nhardware = "cuda"\n'
    )
    out = [
        '[platform]\ndescription = "AMD GPUs (synthetic)"\nhardware = "rocm"\n',
        '[variants.mi300]\ndescription = "MI300X / MI325X"\nmatch = ["gfx942"]\n',
        '[variants.mi355]\ndescription = "MI355X"\nmatch = ["gfx950"]\n',
    ]
    # ignores: directories first (one in twenty), then files of the encoder pool
    ignores = []
    dirs = [(s, d) for s, ds in tree.pool_dirs.items() for d in ds]
    files = [(s, f) for s, fs in tree.pool.items() for f in fs]
    n_dirs = min(len(dirs), want["ignore"] // 20)
    ignores += [(s, d + "/") for s, d in dirs[:n_dirs]]
    ignores += files[: want["ignore"] - n_dirs]
    for i, (suite, target) in enumerate(ignores):
        rel = target[len(by_name[suite].path) + 1 :]
        fails = f"fails = {FAILS}\n" if i % 10 == 9 else ""
        out.append(
            f'[[ignore]]\nsuite = "{suite}"\npath = "{rel}"\n'
            'reason = "only encoder models: encoder self-attention is unsupported by '
            'ROCm attention backends"\n' + _issue(i % 40) + _variants(i) + fails
        )
    # skips: the model list, then one used encoder each (platform-wide), and per
    # variant; once the tree's encoders run out, models no test uses any more
    encoders, _ = model_names(scale.models)
    listed = encoders[: listed_count(encoders)]
    used = sorted(tree.encoders_used.items(), key=lambda kv: -kv[1])  # most used
    rest = [m for m, _ in used if m not in listed]
    per_variant = rest[: max(1, len(rest) // 6)]
    rest = rest[len(per_variant) :]
    retired = (f"{ORGS[i % len(ORGS)]}/retired-{i:04d}" for i in range(10**6))
    (sk / "models.toml").write_text(
        '[model_lists.encoder-attention]\ndescription = "encoder attention"\n'
        "models = [\n" + "".join(f'    "{m}",\n' for m in listed) + "]\n"
    )
    variant_models: dict[str, list[str]] = {"mi300": [], "mi355": []}
    for i in range(want["skip"]):
        fails = f"fails = {FAILS}\n" if i % 2 == 0 else ""
        head = f'[[skip]]\nmarker = "{ENCODER_MARKER}"\n'
        tail = (
            'reason = "encoder attention is not implemented by ROCm attention '
            'backends"\n' + _issue(i % 7) + fails
        )
        if i == 0:
            out.append(head + 'model_lists = ["encoder-attention"]\n' + tail)
            continue
        if i % 4 == 3:  # one in four holds on one variant
            variant = "mi355" if i % 8 == 3 else "mi300"
            taken = variant_models[variant]
            model = next((m for m in per_variant if m not in taken), None) or next(
                retired
            )
            taken.append(model)
            out.append(
                head + f'models = ["{model}"]\nvariants = ["{variant}"]\n' + tail
            )
            continue
        models = [rest.pop(0) if rest else next(retired)]
        if rng.random() < 0.3:
            models.append(next(retired))
        names = ", ".join(f'"{m}"' for m in models)
        out.append(head + f"models = [{names}]\n" + tail)
    # the wide mix's single-test deselects first: the functions they pick are
    # no other deselect's (3,000 entries would otherwise take most functions)
    singles: list[str] = []
    n_singles = 0
    reserved: set[str] = set()  # those functions, and the classes above them
    if scale.mix == "wide":
        singles, n_singles, picked = _singles(rng, tree, scale.n_singles)
        for function in picked:
            parts = function.split("::")
            reserved.update("::".join(parts[:i]) for i in range(2, len(parts) + 1))
    # deselects: functions, classes and parametrized ids, a few tables of three
    ids = list(dict.fromkeys(tree.deselectable))
    if reserved:
        ids = [t for t in ids if t.split("[", 1)[0] not in reserved]
    rng.shuffle(ids)
    chosen: list[str] = []
    functions: set[str] = set()  # a function's id or one of its parametrized ids
    flaky_pool = []
    for test in ids:
        key = test.split("[", 1)[0]
        if len(chosen) < want["deselect"] and key not in functions:
            chosen.append(test)
            functions.add(key)
        elif key not in functions and "[" not in test:
            flaky_pool.append(test)
    i = 0
    while i < len(chosen):
        group = chosen[i : i + (3 if i % 10 == 9 else 1)]
        tests = ", ".join(f'"{t}"' for t in group)
        out.append(
            f"[[deselect]]\ntests = [{tests}]\n"
            'reason = "fails on ROCm: tracked upstream"\n'
            + _issue(100 + i % 50)
            + _variants(i)
        )
        i += len(group)
    # flaky: functions neither deselected nor ignored, one pattern
    flaky = flaky_pool[: want["flaky"]]
    for i, test in enumerate(flaky):
        if i == 0 and "::" in test:
            folder = test.split("::", 1)[0].rsplit("/", 1)[0]
            test = f"{folder}/*::{test.split('::', 1)[1].split('[', 1)[0]}*"
        out.append(
            f'[[flaky]]\ntest = "{test}"\nreruns = 2\n'
            'reason = "times out on a busy agent"\n' + _issue(200 + i)
        )
    kinds = {
        "ignore": len(ignores),
        "skip": want["skip"],
        "deselect": len(chosen),
        "flaky": len(flaky),
    }
    if scale.mix == "wide":
        out.append(_hybrid_skip(sk, tree))
        kinds["skip"] += 1
        kinds["single"] = n_singles
        out += singles
    (sk / "platforms/rocm.toml").write_text("\n".join(out))
    return kinds


def _hybrid_skip(sk: Path, tree: _Tree) -> str:
    """A second marker's skip, through a second model list: the hybrid_model
    decoders most used, one in two of them."""
    used = sorted(tree.hybrids, key=lambda m: (-tree.hybrids[m], m))[::2]
    with (sk / "models.toml").open("a") as f:
        f.write(
            '\n[model_lists.hybrid-state]\ndescription = "hybrid state caches"\n'
            "models = [\n" + "".join(f'    "{m}",\n' for m in used) + "]\n"
        )
    return (
        '[[skip]]\nmarker = "hybrid_model"\nmodel_lists = ["hybrid-state"]\n'
        'reason = "the Mamba state cache is not implemented on ROCm"\n'
        + _issue(300)
        + 'fails = { error = "NotImplementedError", match = "state cache" }\n'
    )


def _singles(
    rng: random.Random, tree: _Tree, n: int
) -> tuple[list[str], int, list[str]]:
    """`n` single-test deselects spread over many functions (about one test in
    three of each, spread evenly): a table per function listing its tests, one
    function in four as a table per test, some for one variant. Returns the
    tables, how many tests they name and the functions they pick from."""
    functions = [(f, ids) for f, ids in tree.params if len(ids) >= 3]
    rng.shuffle(functions)
    out: list[str] = []
    picked: list[str] = []
    left = n
    for i, (function, ids) in enumerate(functions):
        if left <= 0:
            break
        take = min(left, max(1, len(ids) // 3))
        step = len(ids) / take
        tests = [f"{function}[{ids[int(j * step)]}]" for j in range(take)]
        left -= take
        picked.append(function)
        tail = 'reason = "wrong output on ROCm"\n' + _issue(400 + i % 60) + _variants(i)
        if i % 4 == 3:
            out += [f'[[deselect]]\ntest = "{t}"\n' + tail for t in tests]
        else:
            listed = "".join(f'    "{t}",\n' for t in tests)
            out.append(f"[[deselect]]\ntests = [\n{listed}]\n" + tail)
    return out, n - max(0, left), picked


def build_import_heavy(
    root: Path, files: int = 60, ignored: int = 50, import_ms: int = 40
) -> None:
    """A suite whose ignored modules are expensive to import (they build big tables at
    import time)."""
    if root.exists():
        shutil.rmtree(root)
    (root / "tests/heavy").mkdir(parents=True)
    (root / "skiplists/platforms").mkdir(parents=True)
    entries = ['[platform]\nhardware = "rocm"\n']
    for i in range(files):
        heavy = i < ignored
        setup = (
            "import time\n_t = time.perf_counter()\n"
            f"while time.perf_counter() - _t < {import_ms / 1000}:\n    pass\n"
            if heavy
            else ""
        )
        (root / f"tests/heavy/test_m{i:03d}.py").write_text(
            setup
            + "import pytest\n\n@pytest.mark.parametrize('x', range(20))\n"
            + "def test_x(x):\n    assert x >= 0\n"
        )
        if heavy:
            entries.append(
                f'[[ignore]]\nsuite = "heavy"\npath = "test_m{i:03d}.py"\n'
                'reason = "encoder-only"\n'
            )
    (root / "skiplists/suites.toml").write_text(
        '[suites.heavy]\npath = "tests/heavy"\n'
    )
    (root / "skiplists/platforms/rocm.toml").write_text("\n".join(entries))
    (root / "pytest.ini").write_text(
        f"[pytest]\npythonpath = {SRC}\n"
        "addopts = -p no:cacheprovider --import-mode=importlib\n"
    )
    (root / "conftest.py").write_text('pytest_plugins = ["testmatrix.plugin"]\n')


if __name__ == "__main__":  # python benchmarks/synth.py DIR [ITEMS] [ENTRIES]
    import sys

    where = Path(sys.argv[1])
    items = int(sys.argv[2]) if len(sys.argv) > 2 else Scale.items
    entries = int(sys.argv[3]) if len(sys.argv) > 3 else Scale.entries
    print(build(where, Scale(items=items, entries=entries)))


_PLUGIN_CONFTEST = 'pytest_plugins = ["testmatrix.plugin"]\n'


def _small_workspace(root: Path, rocm_entries: str, test_file: str, text: str) -> None:
    """A workspace of one test file and one suite, with cuda and rocm skiplists."""
    if root.exists():
        shutil.rmtree(root)
    (root / "tests").mkdir(parents=True)
    (root / "tests" / test_file).write_text(text)
    markers = "".join(f"    {name}: {doc}\n" for name, doc in MARKERS.items())
    (root / "pytest.ini").write_text(
        f"[pytest]\npythonpath = {SRC}\naddopts = --import-mode=importlib\n"
        f"markers =\n{markers}"
    )
    (root / "conftest.py").write_text(_PLUGIN_CONFTEST)
    if rocm_entries is None:
        return
    sk = root / "skiplists" / "platforms"
    sk.mkdir(parents=True)
    (root / "skiplists/suites.toml").write_text('[suites.unit]\npath = "tests"\n')
    (sk / "cuda.toml").write_text(
        '[platform]\ndescription = "NVIDIA"\nhardware = "cuda"\n'
    )
    (sk / "rocm.toml").write_text(
        '[platform]\ndescription = "AMD"\nhardware = "rocm"\n\n' + rocm_entries
    )


def build_one_test(root: Path, skiplists: bool) -> None:
    """One test; with `skiplists`, a workspace whose rocm skiplist has one deselect
    (of a test that does not exist): the smallest run the plugin applies to."""
    entry = (
        '[[deselect]]\ntests = ["tests/test_one.py::test_other"]\n'
        'reason = "the fixed cost of one entry"\n' + _issue(1)
    )
    text = "def test_one():\n    assert True\n"
    _small_workspace(root, entry if skiplists else None, "test_one.py", text)  # type: ignore[arg-type]


def build_one_function(root: Path, tests: int, deselects: int) -> None:
    """One function parametrized `tests` ways over model ids (one in ten marked
    encoder_decoder), `deselects` of its tests deselected one by one, spread
    evenly, and a skip of two of its encoder models."""
    text = (
        "import pytest\n\n"
        f"MODELS = [f'org/m-{{i:05d}}' for i in range({tests})]\n"
        "PARAMS = [\n"
        "    pytest.param(m, marks=pytest.mark.encoder_decoder) if i % 10 == 0 else m\n"
        "    for i, m in enumerate(MODELS)\n"
        "]\n\n\n"
        '@pytest.mark.parametrize("model", PARAMS)\n'
        "def test_generate(model):\n    assert model\n"
    )
    step = max(1, tests // max(1, deselects))
    ids = [
        f'    "tests/test_one_function.py::test_generate[org/m-{i:05d}]",\n'
        for i in range(1, tests, step)
    ][:deselects]
    entries = (
        f"[[deselect]]\ntests = [\n{''.join(ids)}]\n"
        'reason = "fails on ROCm, one test at a time"\n' + _issue(2) + "\n"
        f'[[skip]]\nmarker = "{ENCODER_MARKER}"\n'
        'models = ["org/m-00000", "org/m-00010"]\n'
        'reason = "encoder attention"\n' + _issue(3)
    )
    _small_workspace(root, entries, "test_one_function.py", text)
