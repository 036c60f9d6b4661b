"""Rules.fate decides one test on one platform; session_argv builds a session's
pytest command."""

from __future__ import annotations

from dataclasses import replace

import pytest

from selftest.helpers import REPO
from testmatrix.config.loader import load_workspace
from testmatrix.core.fate import FateKind, MarkerUse, TestCase
from testmatrix.core.model import frozen_map
from testmatrix.core.rules import Rules
from testmatrix.core.session import session_argv
from testmatrix.errors import UsageError


def _as_plain_entries(workspace):
    """The bundled ROCm entries record their error (their tests run as expected
    failures); the decisions tested here are ignore and skip, so read them plain."""
    rocm = workspace.platforms["rocm"]
    plain = {
        kind: tuple(replace(e, fails=None) for e in getattr(rocm, kind))
        for kind in ("ignores", "skips", "deselects")
    }
    platforms = {**workspace.platforms, "rocm": replace(rocm, **plain)}
    return replace(workspace, platforms=frozen_map(platforms))


BUNDLED = load_workspace(REPO)
WS = _as_plain_entries(BUNDLED)
ROCM = Rules(WS, WS.platforms["rocm"])
CUDA = Rules(WS, WS.platforms["cuda"])
EMB = "tests/models/language/pooling/test_embedding.py"
MARK = (MarkerUse("encoder_decoder"),)


def case(params=(), markers=MARK, path=EMB, name="test_models", param="model"):
    nodeid = f"{path}::{name}[{'-'.join(params)}]"
    return TestCase(nodeid, path, markers, tuple(params), (param,) * len(params))


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
def test_marked_test_without_a_model_runs_and_says_so(params):
    # as a test whose model is on no list runs: removing a model from a list never
    # turns its tests into errors
    fate = ROCM.fate(case(params))
    assert fate.kind is FateKind.RUN
    assert fate.no_model is not None and fate.no_model.marker == "encoder_decoder"
    assert fate.record()["no_model"] == str(fate.no_model.location)
    assert (
        "cannot be determined" in fate.message
        and "so it runs on rocm" in fate.message
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


DATASET = "D4nt3/esb-datasets-earnings22-validation-tiny-filtered"


def test_a_dataset_id_is_never_taken_for_the_model():
    # shaped like org/name, but its parameter does not carry a model: the marked
    # test must ask for its model instead of running on ROCm
    fate = ROCM.fate(case([DATASET], param="dataset"))
    assert fate.kind is FateKind.RUN and "cannot be determined" in fate.message
    assert fate.model is None


def test_a_listed_model_counts_under_any_parameter():
    fate = ROCM.fate(case(["intfloat/e5-small"], param="engine_args"))
    assert fate.kind is FateKind.SKIPPED
    assert fate.model_from == "parameter 'engine_args', listed in the skiplists"


@pytest.mark.parametrize(
    "param", ["model", "model_name", "model_info.name", "config.model", "server"]
)
def test_an_unlisted_model_counts_under_a_model_parameter(param):
    fate = ROCM.fate(case(["google/gemma-3n-E2B-it"], param=param))
    assert fate.kind is FateKind.RUN and fate.model == "google/gemma-3n-E2B-it"
    what = "record field" if "." in param else "parameter"  # model_info.name
    assert fate.model_from == f"{what} '{param}'"


def test_explain_says_which_value_was_taken_and_why():
    from testmatrix.tools.explain import Row, render

    params = (DATASET, "google/gemma-3n-E2B-it")
    test = TestCase(f"{EMB}::test_x", EMB, MARK, params, ("dataset", "model_name"))
    text = render([Row("rocm", "language", test, ROCM.fate(test))])
    assert "(google/gemma-3n-E2B-it: parameter 'model_name')" in text


def test_the_bundled_encoder_entries_expect_their_error():
    rules = Rules(BUNDLED, BUNDLED.platforms["rocm"])
    fate = rules.fate(case(["intfloat/e5-small"]))
    assert fate.kind is FateKind.EXPECTED_FAIL and fate.model == "intfloat/e5-small"
    assert "expected to fail on rocm with NotImplementedError: Encoder" in fate.message
    ignored = "tests/entrypoints/pooling/openai/test_score.py"
    fate = rules.fate(case([], markers=(), path=ignored, name="test_x"))
    assert fate.kind is FateKind.EXPECTED_FAIL  # collected and run, not --ignore'd
    argv = session_argv(BUNDLED, "rocm", "pooling")
    assert not any(a.startswith("--ignore=") for a in argv)
