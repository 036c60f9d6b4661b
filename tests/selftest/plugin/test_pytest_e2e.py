"""pytest runs, in this process (pytester): a bare `pytest --platform X` behaves
exactly like the nox session. One subprocess run per session (slow) checks that a real
process agrees."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from typing import NamedTuple

import pytest

from selftest.helpers import REPO, collected_ids, run_pytest
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_argv, sessions

WS = load_workspace(REPO)


class Expected(NamedTuple):
    """What a session's real run counts."""

    passed: int
    skipped: int = 0  # by model entries
    ignored_files: int = 0
    inside_ignored: int = 0  # tests in the ignored files
    deselected: int = 0  # by entries, or by the suite's own -m
    xfailed: int = 0  # expected failures: ROCm's encoder entries record their error


EXPECTED = {
    "cuda-api-server": Expected(34),
    "cuda-pooling": Expected(42),
    "cuda-language": Expected(18),
    "cuda-kernels": Expected(7, deselected=2),
    "cuda-kernels-multi-gpu": Expected(2, deselected=7),
    "rocm-api-server": Expected(18, xfailed=16),
    "rocm-pooling": Expected(7, xfailed=35),
    "rocm-language": Expected(14, xfailed=4),
    "rocm-kernels": Expected(7, deselected=2),
    "rocm-kernels-multi-gpu": Expected(2, deselected=7),
    "rocm-aiter": Expected(2),
    # MI355 only: fused MoE has no gfx950 configuration
    "rocm-mi355-kernels": Expected(5, deselected=4),
    "rocm-mi355-kernels-multi-gpu": Expected(1, deselected=8),
}
SESSIONS = sessions(WS)
# the three suites of vLLM's encoder problem, whose bare runs need no --suite
ENCODER_SUITES = ("api-server", "pooling", "language")
PLATFORM_WIDE = [f"{p}-{s}" for p in WS.platforms for s in ENCODER_SUITES]
ENCODER_ERROR = (
    "NotImplementedError: Encoder self-attention and encoder/decoder cross-attention "
    "are not implemented for"
)


def expected(name: str) -> Expected:
    """A variant's session runs what the platform-wide one runs, unless listed."""
    key = SESSIONS[name]
    return EXPECTED.get(name) or EXPECTED[f"{key.platform}-{key.suite}"]


def target_args(name: str) -> list[str]:
    key = SESSIONS[name]
    variant = [f"--variant={key.variant}"] if key.variant else []
    return [f"--platform={key.platform}", *variant, f"--suite={key.suite}"]


# The fast tier's samples of the runs below, each two runs of pytest over the bundled
# suite in this process (the full tier runs every session): pooling's session, with
# most of ROCm's ignored files; language's, whose encoder tests are expected to fail;
# and an MI355 variant's, whose entries deselect tests.
FAST_SAMPLE = ("rocm-pooling", "rocm-language", "rocm-mi355-kernels")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow if name != FAST_SAMPLE[0] else ())
        for name in PLATFORM_WIDE
    ],
)
def test_plugin_selects_exactly_what_the_nox_argv_selects(inprocess, name):
    """Without --suite, the plugin applies every suite's ignores of the platform.

    Every platform-wide session in the full tier, rocm-pooling in the fast tier."""
    key = SESSIONS[name]
    argv = session_argv(WS, key.platform, key.suite)
    flags_only = [a for a in argv if not a.startswith(("--platform=", "--suite="))]
    by_flags = inprocess(REPO, "--collect-only", "-q", *flags_only, "--platform=none")
    by_plugin = inprocess(
        REPO,
        "--collect-only",
        "-q",
        WS.suites[key.suite].path,
        f"--platform={key.platform}",
    )
    assert by_flags.returncode == by_plugin.returncode == 0, (
        by_flags.output + by_plugin.output
    )
    assert collected_ids(by_flags) == collected_ids(by_plugin)
    assert collected_ids(by_plugin)  # the comparison is over real tests


@pytest.mark.parametrize(
    "runner, name",
    [
        pytest.param(
            runner,
            name,
            id=f"{name}-{label}",
            # one real process per session, and the in-process runs but the fast
            # tier's samples, are the full tier's
            marks=(
                pytest.mark.slow
                if runner == "subprocess" or name not in FAST_SAMPLE[1:]
                else ()
            ),
        )
        for name in SESSIONS
        for runner, label in (("inprocess", "in-process"), ("subprocess", "subprocess"))
    ],
)
def test_bare_pytest_counts(request, runner, name):
    """A bare `pytest --platform ...` counts what the session's real run counts:
    every session in and out of process in the full tier, FAST_SAMPLE[1:] in
    process in the fast tier."""
    passed, skipped, ignored_files, _, deselected, xfailed = expected(name)
    run = request.getfixturevalue("inprocess") if runner == "inprocess" else run_pytest
    paths = WS.suites[SESSIONS[name].suite].paths
    result = run(REPO, *paths, *target_args(name))
    assert result.returncode == 0, result.output[-3000:]
    counts = result.counts()
    assert counts.get("passed") == passed
    assert counts.get("skipped", 0) == skipped
    assert counts.get("deselected", 0) == deselected
    assert counts.get("xfailed", 0) == xfailed
    if SESSIONS[name].platform == "rocm":
        assert (
            f"{ignored_files} paths ignored, {skipped} tests skipped by model entries"
            in result.stdout
        )


def test_the_fast_samples_are_sessions_of_each_kind():
    pooling, language, mi355 = FAST_SAMPLE
    assert set(FAST_SAMPLE) <= set(SESSIONS)
    assert len(WS.platforms["rocm"].entries) > 1
    assert expected(language).xfailed and expected(pooling).xfailed
    assert expected(mi355).deselected and SESSIONS[mi355].variant == "mi355"


def test_ignored_and_skipped_tests_are_what_cuda_runs_beyond_rocm():
    for suite in ENCODER_SUITES:
        cuda = EXPECTED[f"cuda-{suite}"].passed
        rocm = EXPECTED[f"rocm-{suite}"]
        assert cuda == rocm.passed + rocm.skipped + rocm.inside_ignored + rocm.xfailed


def test_header_says_rocm_is_simulated_on_other_hardware(inprocess):
    result = inprocess(
        REPO, "--collect-only", "tests/models/language", "--platform=rocm"
    )
    assert (
        "testmatrix: target platform: rocm (SIMULATED: this machine is not rocm); "
        "detected hardware: none" in result.stdout
    )


def test_strict_platform_refuses_to_run_on_other_hardware(inprocess):
    result = inprocess(
        REPO, "tests/models/language", "--platform=rocm", "--strict-platform"
    )
    assert result.returncode == 4
    assert (
        "ERROR: --strict-platform: target platform 'rocm' needs rocm hardware, "
        "but this machine has none" in result.stderr
    )
    assert "passed" not in result.stdout and "collected" not in result.stdout


@pytest.mark.slow  # every encoder test of the suite runs and fails: a second
def test_without_skiplist_rocm_reproduces_issue_27442(inprocess, tmp_path):
    junit = tmp_path / "junit.xml"
    result = inprocess(
        REPO,
        "tests/entrypoints",
        "tests/models",
        "--platform=rocm",
        "--no-skiplist",
        f"--junitxml={junit}",
    )
    assert result.returncode == 1
    problems = [
        child.get("message", "")
        for case in ET.parse(junit).getroot().iter("testcase")
        for child in case
        if child.tag in ("failure", "error")
    ]
    counts = result.counts()
    assert len(problems) == counts["failed"] + counts["errors"] == 55
    assert all(ENCODER_ERROR in message for message in problems)
    assert counts["passed"] == sum(EXPECTED[f"rocm-{s}"].passed for s in ENCODER_SUITES)


def test_unknown_platform_stops_before_any_test(inprocess):
    result = inprocess(REPO, "tests/models/language", "--platform=rokm")
    assert result.returncode == 4
    assert result.stderr.strip() == (
        "ERROR: unknown platform 'rokm' (did you mean 'rocm'?); known: cuda, none, rocm"
    )


def test_bad_skiplist_stops_pytest_before_any_test(inprocess, workspace):
    rocm = workspace / "skiplists/platforms/rocm.toml"
    text = rocm.read_text().replace('reason = "Phi-3.5', 'reson = "Phi-3.5')
    rocm.write_text(text)
    line = (
        text.splitlines().index(
            next(row for row in text.splitlines() if row.startswith("reson"))
        )
        + 1
    )
    result = inprocess(workspace, "tests/entrypoints/openai", "--platform=rocm")
    assert result.returncode == 4
    assert result.stderr.splitlines()[0] == (
        f"ERROR: skiplists/platforms/rocm.toml:{line}: unknown key 'reson' in "
        "[[ignore]] entry (did you mean 'reason'?)"
    )
    assert all(
        line.startswith("ERROR: skiplists/platforms/rocm.toml:")
        for line in result.stderr.strip().splitlines()
    )
    assert "passed" not in result.stdout


UNSEEN_PLATFORM = {
    "skiplists/platforms/sim.toml": """
        [[skip]]
        marker = "encoder_decoder"
        models = ["intfloat/e5-small", "openai/whisper-small"]
        reason = "encoder attention unsupported"
        issue = "https://example.org/issues/1"
    """,
}


def test_models_match_exactly_on_unseen_files(inprocess, tiny):
    root = tiny(
        {
            **UNSEEN_PLATFORM,
            "tests/unit/test_exact.py": """
        import pytest

        @pytest.mark.encoder_decoder
        @pytest.mark.parametrize(
            "model_name",
            ["intfloat/e5-small", "intfloat/e5-small-v2", "intfloat/e5-small-v2-large"],
        )
        def test_embed(model_name):
            assert model_name.startswith("intfloat/")
    """,
        }
    )
    result = inprocess(root, "tests/unit", "--platform=sim", "-rs")
    assert result.counts() == {"passed": 2, "skipped": 1}
    assert (
        "intfloat/e5-small (parameter 'model_name', listed in the skiplists) is "
        "skipped on sim "
        "(encoder_decoder): encoder attention unsupported "
        "(https://example.org/issues/1)" in result.stdout
    )


def test_model_from_a_module_scoped_fixture_param(inprocess, tiny):
    root = tiny(
        {
            **UNSEEN_PLATFORM,
            "tests/unit/test_server.py": """
        import pytest

        pytestmark = pytest.mark.encoder_decoder

        @pytest.fixture(
            scope="module", params=["openai/whisper-small", "google/gemma-3n-E2B-it"]
        )
        def server(request):
            return request.param

        def test_one(server):
            assert "/" in server

        def test_two(server):
            assert server
    """,
        }
    )
    result = inprocess(root, "tests/unit", "--platform=sim", "-v")
    assert result.counts() == {"passed": 2, "skipped": 2}
    assert "test_one[google/gemma-3n-E2B-it] PASSED" in result.stdout
    assert "test_one[openai/whisper-small] SKIPPED" in result.stdout


def test_model_from_a_model_info_record(inprocess, tiny):
    # vLLM's pooling tests parametrize by records, not by names
    root = tiny(
        {
            **UNSEEN_PLATFORM,
            "tests/unit/test_records.py": """
        from dataclasses import dataclass
        import pytest

        @dataclass(frozen=True)
        class EmbedModelInfo:
            name: str
            dim: int = 384

        MODELS = [
            EmbedModelInfo("intfloat/e5-small"),
            EmbedModelInfo("intfloat/e5-small-v2"),
            EmbedModelInfo("Qwen/Qwen3-Embedding-0.6B", 1024),
        ]

        @pytest.mark.encoder_decoder
        @pytest.mark.parametrize("model_info", MODELS)
        def test_mteb(model_info):
            assert model_info.dim > 0

        @pytest.mark.encoder_decoder
        @pytest.mark.parametrize(
            "config",
            [{"model": "openai/whisper-small"}, {"model": "google/gemma-3n-E2B-it"}],
        )
        def test_config(config):
            assert config["model"]
    """,
        }
    )
    result = inprocess(root, "tests/unit", "--platform=sim", "-v")
    assert result.counts() == {"passed": 3, "skipped": 2}
    assert (
        "test_mteb[model_info0] SKIPPED" in result.stdout
        and "test_config[config0] SKIPPED" in result.stdout
    )


NO_MODEL = """
    import pytest

    MODEL_NAME = "openai/whisper-small"

    @pytest.mark.encoder_decoder{marker_args}
    @pytest.mark.parametrize("backend", ["default", "TRITON_ATTN"])
    def test_backend(backend):
        assert backend
"""


def test_marked_test_without_a_model_runs_and_says_so(inprocess, tiny):
    # as a test whose model is on no list: it runs, and the run says why it could
    # not be decided (lint reports it too)
    root = tiny(
        {
            **UNSEEN_PLATFORM,
            "tests/unit/test_backends.py": NO_MODEL.format(marker_args=""),
        }
    )
    result = inprocess(root, "tests/unit", "--platform=sim")
    assert result.returncode == 0, result.output
    assert result.counts() == {"passed": 2}
    assert (
        "2 tests are marked but their model was not found: they ran; name it on the "
        "marker" in result.stdout
    )


def test_model_named_on_the_marker_settles_it(inprocess, tiny):
    root = tiny(
        {
            **UNSEEN_PLATFORM,
            "tests/unit/test_backends.py": NO_MODEL.format(
                marker_args="(model=MODEL_NAME)"
            ),
        }
    )
    assert inprocess(root, "tests/unit", "--platform=sim").counts() == {"skipped": 2}
    assert inprocess(root, "tests/unit", "--platform=cuda").counts() == {"passed": 2}


def test_inprocess_runs_see_their_own_workspace_not_this_runs_modules(inprocess, tiny):
    # this run imported the bundled suite's tests/conftest.py as `tests.conftest`; a
    # workspace's file of the same path must not be taken for it, nor change os.environ
    root = tiny(
        {
            "tests/conftest.py": """
        import pytest

        @pytest.fixture
        def answer():
            return 42
    """,
            "tests/unit/test_own.py": """
        import os

        def test_own(answer):
            assert answer == 42 and os.environ["TESTMATRIX_PLATFORM"] == "cuda"
    """,
        }
    )
    environ, ours = dict(os.environ), sys.modules["tests.conftest"]
    assert inprocess(root, "tests/unit", "--platform=cuda").counts() == {"passed": 1}
    assert dict(os.environ) == environ and sys.modules["tests.conftest"] is ours


def _ignoring(tiny, names: str, ignored: list[str], reason: str):
    """A tree of one passing test per name under tests/unit, whose sim platform
    ignores the files `ignored` names (paths in the unit suite)."""
    files = {f"tests/unit/test_{n}.py": f"def test_{n}(): pass\n" for n in names}
    paths = ", ".join(f'"{p}"' for p in ignored)
    platform = f"""
        [platform]
        hardware = "none"

        [[ignore]]
        suite = "unit"
        paths = [{paths}]
        reason = "{reason}"
    """
    return tiny({**files, "skiplists/platforms/sim.toml": platform})


def test_an_ignored_file_stays_out_however_pytest_is_given_its_folder(inprocess, tiny):
    """An ignore names a path in its suite: the folder given with '..', './' or
    '//' parts is the same folder, and the file stays out."""
    root = _ignoring(tiny, "ab", ["test_a.py"], "not here")
    for folder in ("tests/unit", "tests/unit/../unit", "./tests/./unit", "tests//unit"):
        result = inprocess(root, folder, "--platform=sim")
        assert result.counts() == {"passed": 1}, (folder, result.stdout)


def test_the_summary_cites_an_entry_once_for_all_its_ignored_files(inprocess, tiny):
    reason = "a long reason that used to be repeated once per ignored file"
    root = _ignoring(tiny, "abcd", ["test_a.py", "test_b.py", "test_c.py"], reason)
    result = inprocess(root, "tests/unit", "--platform=sim")
    out = result.stdout
    assert out.count("a long reason that used to be repeated") == 1
    assert "  ignored 3 paths: a long reason that used to be repeated" in out
    assert all(f"    tests/unit/test_{n}.py" in out for n in "abc")
    # -q: each reason with its count, not its paths
    quiet = inprocess(root, "tests/unit", "--platform=sim", "-q").stdout
    assert "  ignored 3 paths: a long reason that used to be repeated" in quiet
    assert "    tests/unit/test_a.py" not in quiet
