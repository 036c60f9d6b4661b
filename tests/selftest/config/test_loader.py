"""The skiplists load into a typed workspace, and every kind of bad input is one
located line."""

from __future__ import annotations

import re
import shutil

import pytest

from selftest.helpers import REPO, write
from testmatrix.config.loader import load_workspace
from testmatrix.errors import ConfigError

ROCM_IGNORES = {
    "api-server": {"test_vision.py"},
    "pooling": {
        "correctness/test_mteb_score.py",
        "correctness/test_mteb_embed.py",
        "llm/test_embedding.py",
        "llm/test_encode.py",
        "openai/test_embedding.py",
        "openai/test_embedding_dimensions.py",
        "openai/test_embedding_long_text.py",
        "openai/test_rerank.py",
        "openai/test_score.py",
        "openai/test_truncation.py",
        "openai/test_vision_embedding.py",
    },
}
ENCODER_MODELS = {
    "openai/whisper-small",
    "openai/whisper-large-v3-turbo",
    "mistralai/Voxtral-Mini-3B-2507",
    "microsoft/Phi-3.5-vision-instruct",
    "cross-encoder/ms-marco-MiniLM-L-6-v2",
    "intfloat/e5-small",
    "intfloat/multilingual-e5-small",
    "BAAI/bge-reranker-base",
    "BAAI/bge-reranker-v2-m3",
    "BAAI/bge-base-en-v1.5",
    "TIGER-Lab/VLM2Vec-Full",
    "Snowflake/snowflake-arctic-embed-m-v1.5",
    "sentence-transformers/all-MiniLM-L12-v2",
    "sentence-transformers/stsb-roberta-base-v2",
}


def test_bundled_skiplists_hold_the_real_rocm_data():
    ws = load_workspace(REPO)
    assert {n: s.paths for n, s in ws.suites.items()} == {
        "api-server": ("tests/entrypoints/openai",),
        "pooling": ("tests/entrypoints/pooling",),
        "language": ("tests/models/language",),
        "kernels": ("tests/kernels",),
        "kernels-multi-gpu": ("tests/kernels",),
        "aiter": ("tests/kernels/aiter",),
    }
    assert set(ws.platforms) == {"rocm", "cuda"}
    rocm = ws.platforms["rocm"]
    assert list(rocm.variants) == ["mi300", "mi355"]
    assert [v.match for v in rocm.variants.values()] == [("gfx942",), ("gfx950",)]
    assert {d.variants for d in rocm.deselects} == {("mi355",)}
    assert ws.suites["kernels-multi-gpu"].gpus == 2
    assert ws.suites["aiter"].runs_on == ("rocm",)
    found: dict[str, set[str]] = {}
    for entry in rocm.ignores:
        found.setdefault(entry.suite, set()).add(entry.path)
        assert (
            entry.reason
            and entry.issue == "https://github.com/vllm-project/vllm/issues/27442"
        )
    assert found == ROCM_IGNORES
    assert len(rocm.ignores) == 12
    (skip,) = rocm.skips
    assert skip.marker == "encoder_decoder" and skip.models == ENCODER_MODELS
    assert ws.platforms["cuda"].entries == ()


def test_entries_know_their_file_and_line():
    ws = load_workspace(REPO)
    text = (REPO / "skiplists/platforms/rocm.toml").read_text().splitlines()
    for entry in ws.platforms["rocm"].entries:
        assert entry.location.file.endswith("skiplists/platforms/rocm.toml")
        line = text[entry.location.line - 1]
        named = getattr(entry, "path", None) or getattr(entry, "nodeid", None)
        assert (named or "[[skip]]") in line


def _problem(root, relpath: str, text: str) -> str:
    write(root, {relpath: text})
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    return str(info.value)


@pytest.fixture
def ws(tmp_path, monkeypatch):
    root = tmp_path / "ws"
    # no __pycache__: this checkout's cached workspaces must not seed the copy's
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "skiplists", root / "skiplists", ignore=skip)
    shutil.copytree(
        REPO / "tests",
        root / "tests",
        ignore=shutil.ignore_patterns("selftest", "__pycache__"),
    )
    monkeypatch.chdir(root)  # errors name files relative to where the user stands
    return root


def test_malformed_toml_names_file_and_line(ws):
    message = _problem(
        ws,
        "skiplists/platforms/rocm.toml",
        '[platform]\nhardware = "rocm"\n\n[[ignore]\nsuite = "pooling"\n',
    )
    assert message.startswith("skiplists/platforms/rocm.toml:4: invalid TOML")
    assert "\n" not in message


def test_unknown_key_suggests_the_right_one(ws):
    message = _problem(
        ws,
        "skiplists/platforms/rocm.toml",
        """
        [platform]
        hardware = "rocm"

        [[ignore]]
        suite = "pooling"
        path = "llm/test_encode.py"
        reson = "typo"
    """,
    )
    assert (
        "skiplists/platforms/rocm.toml:7: unknown key 'reson' in [[ignore]] entry "
        "(did you mean 'reason'?)" in message
    )
    assert (
        "skiplists/platforms/rocm.toml:4: [[ignore]] entry has no 'reason'" in message
    )


def test_entry_without_reason_is_refused(ws):
    message = _problem(
        ws,
        "skiplists/platforms/rocm.toml",
        """
        [[skip]]
        marker = "encoder_decoder"
        models = ["intfloat/e5-small"]
    """,
    )
    assert message == "skiplists/platforms/rocm.toml:1: [[skip]] entry has no 'reason'"


def test_ignored_path_that_does_not_exist(ws):
    message = _problem(
        ws,
        "skiplists/platforms/rocm.toml",
        """
        [[ignore]]
        suite = "pooling"
        paths = [
            "llm/test_encode.py",
            "openai/test_scores.py",
        ]
        reason = "renamed upstream"
    """,
    )
    assert message == (
        "skiplists/platforms/rocm.toml:5: ignored path 'openai/test_scores.py' "
        "does not exist in suite 'pooling' "
        "(tests/entrypoints/pooling/openai/test_scores.py); "
        "was it renamed or deleted? (did you mean 'openai/test_score.py'?)"
    )


def test_reference_to_unknown_model_list(ws):
    message = _problem(
        ws,
        "skiplists/platforms/rocm.toml",
        """
        [[skip]]
        marker = "encoder_decoder"
        model_lists = ["encoder-atention"]
        reason = "r"
    """,
    )
    assert message == (
        "skiplists/platforms/rocm.toml:3: unknown model list 'encoder-atention' "
        "(did you mean 'encoder-attention'?); known: encoder-attention"
    )


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            """
            [[ignore]]
            suite = "pooling"
            path = "llm/test_encode.py"
            reason = "a"

            [[ignore]]
            suite = "pooling"
            path = "./llm/test_encode.py"
            reason = "b"
            """,
            "skiplists/platforms/rocm.toml:8: duplicate ignore of "
            "'tests/entrypoints/pooling/llm/test_encode.py' "
            "(first at skiplists/platforms/rocm.toml:3)",
        ),
        (
            """
            [[skip]]
            marker = "encoder_decoder"
            models = ["intfloat/e5-small"]
            model_lists = ["encoder-attention"]
            reason = "a"
            """,
            "skiplists/platforms/rocm.toml:3: duplicate model 'intfloat/e5-small' "
            "in [[skip]] entry",
        ),
        (
            """
            [[deselect]]
            tests = [
                "tests/models/language/pooling/test_reward.py::test_rewards_are_probabilities",
                "tests/models/language/pooling/test_reward.py::test_rewards_are_probabilities",
            ]
            reason = "a"
            """,
            "skiplists/platforms/rocm.toml:4: duplicate test id "
            "'tests/models/language/pooling/test_reward.py::test_rewards_are_probabilities'"
            " (first at skiplists/platforms/rocm.toml:3)",
        ),
    ],
    ids=["ignore", "model", "test-id"],
)
def test_duplicate_entries(ws, body, expected):
    assert _problem(ws, "skiplists/platforms/rocm.toml", body) == expected


def test_duplicate_model_across_entries(ws):
    message = _problem(
        ws,
        "skiplists/platforms/rocm.toml",
        """
        [[skip]]
        marker = "encoder_decoder"
        models = ["intfloat/e5-small"]
        reason = "a"

        [[skip]]
        marker = "encoder_decoder"
        models = ["intfloat/e5-small"]
        reason = "b"
    """,
    )
    assert message == (
        "skiplists/platforms/rocm.toml:8: duplicate entry: model 'intfloat/e5-small' "
        "with marker 'encoder_decoder' is already skipped at "
        "skiplists/platforms/rocm.toml:1"
    )


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            '[[ignore]]\nsuite = "polling"\npath = "x.py"\nreason = "r"\n',
            "skiplists/platforms/rocm.toml:2: unknown suite 'polling' "
            "(did you mean 'pooling'?); known: aiter, api-server, kernels, "
            "kernels-multi-gpu, language, pooling",
        ),
        (
            '[[ignore]]\nsuite = "pooling"\n'
            'path = "../openai/test_vision.py"\nreason = "r"\n',
            "skiplists/platforms/rocm.toml:3: ignored path '../openai/test_vision.py' "
            "is outside suite 'pooling' (tests/entrypoints/pooling)",
        ),
        (
            '[[skip]]\nmarker = "encoder_decoder"\nmodels = ["a/b"]\nreason = "r"\n'
            'issue = "#27442"\n',
            "skiplists/platforms/rocm.toml:5: 'issue' in [[skip]] entry must be a link "
            "(http:// or https://), got '#27442'",
        ),
        (
            '[[skip]]\nmarker = "encoder_decoder"\nmodels = ["a/b"]\nreason = "r"\n'
            'expires = "next week"\n',
            "skiplists/platforms/rocm.toml:5: 'expires' in [[skip]] entry must be a "
            "date (YYYY-MM-DD), got 'next week'",
        ),
        (
            '[[skip]]\nmarker = "encoder_decoder"\nreason = "r"\n',
            "skiplists/platforms/rocm.toml:1: [[skip]] entry names no models "
            "(give 'models' and/or 'model_lists')",
        ),
        (
            '[[deselect]]\ntest = "tests/models/language/test_gone.py::test_x"\n'
            'reason = "r"\n',
            "skiplists/platforms/rocm.toml:2: test id "
            "'tests/models/language/test_gone.py::test_x': file "
            "'tests/models/language/test_gone.py' does not exist; "
            "was it renamed or deleted?",
        ),
        (
            '[[skips]]\nmarker = "x"\n',
            "skiplists/platforms/rocm.toml:1: unknown table 'skips' "
            "(did you mean 'skip'?); expected [platform], [variants.NAME], "
            "[[ignore]], [[skip]], [[deselect]] or [[flaky]]",
        ),
        (
            '[platform]\nhardware = "rocm6"\n',
            "skiplists/platforms/rocm.toml:2: unknown hardware 'rocm6' "
            "(did you mean 'rocm'?); known: cuda, none, rocm",
        ),
    ],
    ids=[
        "unknown-suite",
        "escape",
        "issue-link",
        "expires",
        "no-models",
        "missing-test-file",
        "unknown-table",
        "hardware",
    ],
)
def test_each_bad_value_is_one_located_line(ws, body, expected):
    assert _problem(ws, "skiplists/platforms/rocm.toml", body) == expected


def test_suite_directory_must_exist(ws):
    message = _problem(
        ws,
        "skiplists/suites.toml",
        '[suites.api-server]\npath = "tests/entrypoints/openapi"\n',
    )
    assert message.splitlines()[0] == (
        "skiplists/suites.toml:2: suite 'api-server': "
        "directory 'tests/entrypoints/openapi' does not exist "
        "(did you mean 'tests/entrypoints/openai'?)"  # suite paths get hints too
    )


def test_every_problem_is_reported_at_once(ws):
    message = _problem(
        ws,
        "skiplists/platforms/rocm.toml",
        """
        [[ignore]]
        suite = "pooling"
        path = "gone.py"
        reason = "r"

        [[skip]]
        marker = "encoder_decoder"
        models = ["a/b"]
    """,
    )
    assert len(message.splitlines()) == 2


def test_cached_workspace_is_dropped_when_a_named_path_disappears(ws):
    first = load_workspace(ws)
    cache = ws / "skiplists/__pycache__"
    assert (cache / "testmatrix-workspace.json").is_file()
    assert load_workspace(ws) == first  # served from the cache
    (ws / "tests/entrypoints/pooling/llm/test_encode.py").rename(
        ws / "tests/entrypoints/pooling/llm/test_encoding.py"
    )
    with pytest.raises(
        ConfigError, match=re.escape("ignored path 'llm/test_encode.py' does not exist")
    ):
        load_workspace(ws)


def test_cached_workspace_is_dropped_when_a_skiplist_changes(ws):
    before = len(load_workspace(ws).platforms["rocm"].deselects)
    rocm = ws / "skiplists/platforms/rocm.toml"
    rocm.write_text(
        rocm.read_text() + "\n[[deselect]]\n"
        'test = "tests/models/language/pooling/test_reward.py"\nreason = "r"\n'
    )
    assert len(load_workspace(ws).platforms["rocm"].deselects) == before + 1
