"""Explain, lint and audit: every skip earns its place."""

from __future__ import annotations

import json
import sys

import pytest

from selftest.helpers import REPO, clean_env, run, run_pytest
from selftest.plugin.test_pytest_e2e import EXPECTED, SESSIONS
from testmatrix.config.loader import load_workspace
from testmatrix.tools.collect import collect

pytestmark = pytest.mark.slow  # every test starts the testmatrix command (or nox)


def cli(cwd, *args, env=None):
    return run([sys.executable, "-m", "testmatrix", *args], cwd, env)


def test_explain_agrees_with_real_runs():
    """Explain's counts per session are what the real runs (EXPECTED) counted."""
    result = cli(REPO, "explain", "--json")
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    summary = {(row["target"], row["suite"]): row for row in report["summary"]}
    # tests under a suite's excluded paths are never collected: pytest counts none
    excluded: dict[tuple[str, str], int] = {}
    for row in report["tests"]:
        if row["fate"] == "not-in-suite" and " is excluded " in row["message"]:
            key = (row["target"], row["suite"])
            excluded[key] = excluded.get(key, 0) + 1
    for name, (passed, skipped, _, inside, deselected, xfailed) in EXPECTED.items():
        key = SESSIONS[name]
        row = summary[(key.target, key.suite)]
        counted = (row["runs"], row["skipped"], row["ignored"], row["error"])
        assert counted == (passed, skipped, inside, 0)
        assert row["expected-fail"] == xfailed
        left_out = row["deselected"] + row["not-in-suite"]
        assert left_out == deselected + excluded.get((key.target, key.suite), 0)
    # a suite with no session on a platform says so for each of its tests
    assert summary[("cuda", "aiter")]["no-session"] == EXPECTED["rocm-aiter"].passed


def test_explain_names_the_deciding_entry_for_one_test():
    test = (
        "tests/models/language/pooling/test_embedding.py"
        "::test_models[BAAI/bge-base-en-v1.5]"
    )
    rows = json.loads(cli(REPO, "explain", test, "--json").stdout)["tests"]
    fates = {r["platform"]: r for r in rows}
    assert fates["cuda"]["fate"] == "runs" and fates["cuda"]["entry"] is None
    rocm = fates["rocm"]
    # the entry records the encoder error: the test runs as an expected failure
    assert rocm["fate"] == "expected-fail" and rocm["model"] == "BAAI/bge-base-en-v1.5"
    assert rocm["entry"].startswith("skiplists/platforms/rocm.toml:") and rocm[
        "issue"
    ].endswith("/27442")


def test_explain_k_narrows_and_unknown_id_is_an_error():
    narrowed = json.loads(cli(REPO, "explain", "-k", "rerank", "--json").stdout)[
        "tests"
    ]
    assert narrowed and all("rerank" in r["test"] for r in narrowed)
    rocm = {r["fate"] for r in narrowed if r["platform"] == "rocm"}
    assert rocm == {"expected-fail"}  # an ignore recording its error: collected, run
    bad = cli(REPO, "explain", "tests/models/language/test_gone.py::test_x")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "testmatrix: error: unknown test id "
        "'tests/models/language/test_gone.py::test_x': no collected test matches it"
    )


def test_own_skiplists_lint_clean():
    result = cli(REPO, "lint")
    assert result.returncode == 0, result.output
    tests = len(collect(load_workspace(REPO)).cases)
    assert f"0 errors, 0 warnings ({tests} collected tests)" in result.stderr


TREE = {
    "pytest.ini": None,  # filled by tiny()
    "tests/unit/test_mixed.py": """
        import pytest

        @pytest.mark.parametrize(
            "model", ["intfloat/e5-small", "google/gemma-3n-E2B-it"]
        )
        def test_unmarked(model):
            assert model

        @pytest.mark.encoder_decoder
        @pytest.mark.parametrize("backend", ["default", "TRITON_ATTN"])
        def test_backend(backend):
            assert backend
    """,
    "tests/unit/test_decoder_only.py": """
        import pytest

        @pytest.mark.parametrize(
            "model", ["facebook/opt-125m", "Qwen/Qwen2.5-0.5B-Instruct"]
        )
        def test_generate(model):
            assert model
    """,
    "tests/unit/test_all_encoder.py": """
        import pytest

        @pytest.mark.encoder_decoder
        @pytest.mark.parametrize("model", ["intfloat/e5-small"])
        def test_embed(model):
            assert model
    """,
    "tests/unit/test_helpers_only.py": "HELPER = 1\n",
    "skiplists/platforms/sim.toml": """
        [[ignore]]
        suite = "unit"
        path = "test_decoder_only.py"
        reason = "wrongly ignored: these models are decoders"
        issue = "https://example.org/1"

        [[ignore]]
        suite = "unit"
        path = "test_helpers_only.py"
        reason = "holds no tests"
        issue = "https://example.org/2"

        [[skip]]
        marker = "encoder_decoder"
        models = ["intfloat/e5-small"]
        reason = "encoder attention"

        [[deselect]]
        test = "tests/unit/test_mixed.py::test_renamed_long_ago"
        reason = "flaky"
        issue = "https://example.org/3"
        expires = 2020-01-01
    """,
}


@pytest.fixture
def unseen(tiny):
    return tiny({k: v for k, v in TREE.items() if v is not None})


def test_lint_finds_every_kind_of_rot_on_an_unseen_tree(unseen):
    result = cli(unseen, "lint")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    sim = "skiplists/platforms/sim.toml"

    def has(fragment):
        return any(fragment in line and line.startswith(sim + ":") for line in lines)

    assert has(
        "error: tests/unit/test_mixed.py::test_unmarked[intfloat/e5-small] uses "
        "intfloat/e5-small but lacks @pytest.mark.encoder_decoder"
    )
    assert not has("test_unmarked[google/gemma-3n-E2B-it] uses")
    assert has(
        "error: tests/unit/test_mixed.py::test_backend[default] is marked "
        "'encoder_decoder' but names no model"
    )
    assert has(
        "warning: ignore of 'tests/unit/test_decoder_only.py' throws away 2 tests "
        "that would run on sim"
    )
    assert has(
        "error: ignore of 'tests/unit/test_helpers_only.py' matches no file that "
        "defines tests (dead entry)"
    )
    assert has(
        "error: deselect entry 'tests/unit/test_mixed.py::test_renamed_long_ago' "
        "matches no collected test on sim (dead entry)"
    )
    assert has("error: deselect entry expired on 2020-01-01")
    assert has("warning: skip entry has no issue link")
    assert has(
        "warning: all 1 tests of tests/unit/test_all_encoder.py are skipped on sim "
        "by model entries"
    )


def test_lint_of_a_renamed_file_names_the_entry(unseen):
    (unseen / "tests/unit/test_decoder_only.py").rename(
        unseen / "tests/unit/test_generation.py"
    )
    result = cli(unseen, "lint", "--paths-only")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "skiplists/platforms/sim.toml:3: error: ignored path 'test_decoder_only.py' "
        "does not exist in suite 'unit' (tests/unit/test_decoder_only.py); "
        "was it renamed or deleted?"
    )


def test_lint_says_where_a_moved_file_went(unseen):
    (unseen / "tests/unit/generation").mkdir()
    (unseen / "tests/unit/test_decoder_only.py").rename(
        unseen / "tests/unit/generation/test_decoder_only.py"
    )
    result = cli(unseen, "lint", "--paths-only")
    assert result.stdout.splitlines()[0].endswith(
        "was it renamed or deleted? (did you mean 'generation/test_decoder_only.py'?)"
    )


def test_lint_of_a_renamed_file_still_lints_everything_else(unseen):
    (unseen / "tests/unit/test_decoder_only.py").rename(
        unseen / "tests/unit/test_generation.py"
    )
    result = cli(unseen, "lint")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    renamed = [
        line for line in lines if line.startswith("skiplists/platforms/sim.toml:3:")
    ]
    # one finding for the missing path, not a second one calling it dead
    assert renamed == [
        "skiplists/platforms/sim.toml:3: error: ignored path 'test_decoder_only.py' "
        "does not exist in suite 'unit' (tests/unit/test_decoder_only.py); "
        "was it renamed or deleted?"
    ]
    assert any(
        "test_unmarked[intfloat/e5-small] uses intfloat/e5-small but lacks" in line
        for line in lines
    )
    assert any(
        "test_backend[default] is marked 'encoder_decoder' but names no model" in line
        for line in lines
    )
    assert (
        "collected tests)" in result.stderr
        and "(0 collected tests)" not in result.stderr
    )


def test_lint_of_paths_alone_imports_no_test(unseen):
    (unseen / "tests/unit/test_explodes.py").write_text(
        "raise SystemExit('imported!')\n"
    )
    result = cli(unseen, "lint", "--paths-only")
    assert "imported!" not in result.output
    assert "(paths only)" in result.stderr
    assert "matches no file that defines tests (dead entry)" in result.stdout


def test_audit_refuses_hardware_that_is_not_the_targets():
    result = cli(REPO, "audit", "--platform", "rocm")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "testmatrix: error: audit of rocm needs its hardware, but this machine has none"
    )
    assert "--simulate runs them anyway, marked SIMULATED" in line


def test_audit_says_every_entry_is_still_needed():
    command = ("audit", "--platform", "rocm", "--simulate", "--json", "--strict")
    result = cli(REPO, *command)
    assert result.returncode == 0, result.output
    audits = json.loads(result.stdout)
    verdicts = {a["entry"]: a["verdict"] for a in audits}
    # the encoder entries record their error: it is still the error they fail with
    assert len(audits) == 15
    assert sorted(set(verdicts.values())) == ["needed", "still fails"]
    assert {a["simulated"] for a in audits} == {True}
    errors = [a["first_error"] for a in audits]
    encoder = [e for e in errors if "NotImplementedError: Encoder self-attention" in e]
    # the MI355-only entries run on MI355, where fused MoE still fails
    mi355 = [e for e in errors if "no tuned configuration for gfx950" in e]
    assert (len(encoder), len(mi355)) == (13, 2)
    assert "audit: running" in result.stderr  # progress, while it runs


def test_audit_reports_every_encoder_entry_stale_once_rocm_supports_encoders():
    env = clean_env(MINIVLLM_ROCM_ENCODER_SUPPORT="1")
    command = ("audit", "--platform", "rocm", "--simulate", "--strict")
    result = cli(REPO, *command, env=env)
    assert result.returncode == 1
    assert "13 stale, 2 still needed, 0 fail differently, 0 dead (SIMULATED" in (
        result.stdout
    )
    rows = result.stdout.splitlines()
    assert all(row.startswith("SIMULATED ") for row in rows[:-1])
    # and the plain run agrees: with support, the skipped tests pass
    assert (
        run_pytest(
            REPO, "tests/models/language", "--platform=rocm", "--no-skiplist", env=env
        ).returncode
        == 0
    )


def test_audit_reads_outcomes_by_node_id_and_judges_by_signature(tiny):
    """Ids holding '::' (classes) and folders with dots map back exactly; an entry
    with an error signature is told apart: same error, another error, stale."""
    tests = """
        class TestGroup:
            def test_passes(self):
                pass

            def test_same_error(self):
                raise NotImplementedError("encoder attention")

            def test_other_error(self):
                raise ValueError("shape")
    """
    rocm = """
        [platform]
        hardware = "none"  # a platform of no accelerator: audited right here

        [[deselect]]
        test = "tests/unit/v1.2/test_grp.py::TestGroup::test_passes"
        reason = "r"

        [[deselect]]
        test = "tests/unit/v1.2/test_grp.py::TestGroup::test_same_error"
        reason = "r"
        fails = { error = "NotImplementedError", match = "encoder" }

        [[deselect]]
        test = "tests/unit/v1.2/test_grp.py::TestGroup::test_other_error"
        reason = "r"
        fails = { error = "NotImplementedError" }
    """
    root = tiny(
        {
            "tests/unit/v1.2/test_grp.py": tests,
            "skiplists/platforms/sim.toml": rocm,
        }
    )
    result = cli(root, "audit", "--platform", "sim", "--json")
    assert result.returncode == 0, result.output
    verdicts = [(a["tests"], a["verdict"]) for a in json.loads(result.stdout)]
    assert verdicts == [(1, "stale"), (1, "still fails"), (1, "fails differently")]


def test_audit_of_unknown_platform():
    result = cli(REPO, "audit", "--platform", "rokm")
    assert (
        result.returncode == 2
        and "unknown platform 'rokm' (did you mean 'rocm'?)" in result.stderr
    )


def test_lint_session_runs_through_nox():
    result = run(
        [sys.executable, "-m", "nox", "--no-venv", "-s", "lint", "--", "--paths-only"],
        REPO,
    )
    assert result.returncode == 0, result.output
