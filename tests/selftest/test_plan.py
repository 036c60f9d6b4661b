"""Rules.fate decides one test on one platform; session_argv builds a session's
pytest command."""

from __future__ import annotations

import pytest

from selftest.helpers import REPO
from testmatrix.config import load_workspace
from testmatrix.errors import UsageError
from testmatrix.plan import FateKind, MarkerUse, Rules, TestCase, session_argv

WS = load_workspace(REPO)
ROCM = Rules(WS, WS.platforms["rocm"])
CUDA = Rules(WS, WS.platforms["cuda"])
EMB = "tests/models/language/pooling/test_embedding.py"
MARK = (MarkerUse("encoder_decoder"),)


def case(params=(), markers=MARK, path=EMB, name="test_models"):
    return TestCase(f"{path}::{name}[{'-'.join(params)}]", path, markers, tuple(params))


def test_marked_listed_model_is_skipped_with_a_citing_reason():
    fate = ROCM.fate(case(["intfloat/multilingual-e5-small"]))
    assert (
        fate.kind is FateKind.SKIPPED and fate.model == "intfloat/multilingual-e5-small"
    )
    for part in (
        "intfloat/multilingual-e5-small",
        "rocm",
        "encoder/decoder",
        "issues/27442",
        "skiplists/platforms/rocm.toml:",
    ):
        assert part in fate.message


def test_models_match_exactly_not_by_substring():
    assert ROCM.fate(case(["intfloat/e5-small-v2"])).kind is FateKind.RUN
    assert ROCM.fate(case(["intfloat/e5-small"])).kind is FateKind.SKIPPED


def test_decoder_variant_of_a_marked_test_runs():
    assert ROCM.fate(case(["google/gemma-3n-E2B-it"])).kind is FateKind.RUN


def test_unmarked_test_with_listed_model_runs():
    assert ROCM.fate(case(["intfloat/e5-small"], markers=())).kind is FateKind.RUN


def test_model_named_on_the_marker_decides():
    named = (MarkerUse("encoder_decoder", ("openai/whisper-small",)),)
    assert ROCM.fate(case(["TRITON_ATTN"], markers=named)).kind is FateKind.SKIPPED
    decoder = (MarkerUse("encoder_decoder", ("google/gemma-3n-E2B-it",)),)
    assert ROCM.fate(case(["TRITON_ATTN"], markers=decoder)).kind is FateKind.RUN


@pytest.mark.parametrize("params", [["default"], ["TRITON_ATTN"], []])
def test_marked_test_without_a_model_is_an_error(params):
    fate = ROCM.fate(case(params))
    assert fate.kind is FateKind.ERROR
    assert (
        "cannot be determined" in fate.message
        and '@pytest.mark.encoder_decoder(model="org/name")' in fate.message
    )


def test_marked_test_without_a_model_runs_where_no_entry_uses_the_marker():
    assert CUDA.fate(case(["default"])).kind is FateKind.RUN


def test_ignore_covers_files_and_everything_below_a_directory(tmp_path):
    fate = ROCM.fate(
        case(
            [],
            markers=(),
            path="tests/entrypoints/pooling/openai/test_score.py",
            name="test_x",
        )
    )
    assert fate.kind is FateKind.IGNORED and fate.entry.path == "openai/test_score.py"
    assert ROCM.ignore_for("tests/entrypoints/pooling/openai/test_scores.py") is None


def test_ignore_wins_over_a_model_skip():
    fate = ROCM.fate(
        case(
            ["intfloat/e5-small"],
            path="tests/entrypoints/pooling/llm/test_embedding.py",
        )
    )
    assert fate.kind is FateKind.IGNORED


def test_rules_off_decide_nothing():
    off = Rules(WS, WS.platforms["rocm"], apply=False)
    assert off.fate(case(["intfloat/e5-small"])).kind is FateKind.RUN


def test_session_argv_carries_the_suites_ignores_only():
    argv = session_argv(WS, "rocm", "api-server")
    assert argv == [
        "tests/entrypoints/openai",
        "--testmatrix-platform=rocm",
        "--testmatrix-suite=api-server",
        "--ignore=tests/entrypoints/openai/test_vision.py",
    ]
    assert (
        len(
            [
                a
                for a in session_argv(WS, "rocm", "pooling")
                if a.startswith("--ignore=")
            ]
        )
        == 11
    )
    assert session_argv(WS, "cuda", "pooling") == [
        "tests/entrypoints/pooling",
        "--testmatrix-platform=cuda",
        "--testmatrix-suite=pooling",
    ]
    assert session_argv(WS, "rocm", "pooling", apply=False) == [
        "tests/entrypoints/pooling",
        "--testmatrix-platform=rocm",
        "--testmatrix-suite=pooling",
        "--testmatrix-no-skiplist",
    ]


@pytest.mark.parametrize(
    "platform, suite, message",
    [
        (
            "rokm",
            "pooling",
            "unknown platform 'rokm' (did you mean 'rocm'?); known: cuda, none, rocm",
        ),
        (
            "rocm",
            "polling",
            "unknown suite 'polling' (did you mean 'pooling'?); "
            "known: aiter, api-server, kernels, kernels-multi-gpu, language, pooling",
        ),
    ],
)
def test_unknown_names_on_the_command_line(platform, suite, message):
    with pytest.raises(
        UsageError,
        match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?"),
    ):
        session_argv(WS, platform, suite)
