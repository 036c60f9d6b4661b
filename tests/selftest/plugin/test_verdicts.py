"""Right verdicts in real pytest runs (in-process): teardown errors under `fails`,
overlapping entries, bare pytest beside sessions, markers only skiplists name, the
decision after every other collection hook, and models in records and constants."""

from __future__ import annotations

import json

import pytest

from selftest.helpers import REPO

ENCODER = "Encoder self-attention is not implemented"

TEARDOWN_TESTS = f"""
    import pytest

    @pytest.fixture
    def server():
        yield "up"
        raise NotImplementedError("{ENCODER} for RocmAttentionImpl")

    @pytest.fixture
    def leaky():
        yield "up"
        raise ValueError("port still bound")

    def test_fails_at_teardown(server):
        assert server == "up"

    def test_fails_otherwise_at_teardown(leaky):
        assert leaky == "up"

    def test_fixed_now():
        assert True

    def test_plain_teardown_error(leaky):
        assert leaky
"""

TEARDOWN_ROCM = f"""
    [platform]
    hardware = "rocm"

    [[deselect]]
    tests = [
        "tests/unit/test_td.py::test_fails_at_teardown",
        "tests/unit/test_td.py::test_fails_otherwise_at_teardown",
        "tests/unit/test_td.py::test_fixed_now",
    ]
    reason = "encoder attention on ROCm"
    fails = {{ error = "NotImplementedError", match = "{ENCODER}" }}
"""


def test_a_teardown_raising_the_recorded_error_is_an_expected_failure(
    inprocess, tiny, tmp_path
):
    root = tiny(
        {
            "tests/unit/test_td.py": TEARDOWN_TESTS,
            "skiplists/platforms/rocm.toml": TEARDOWN_ROCM,
        }
    )
    summary = tmp_path / "summary.json"
    result = inprocess(
        root, "tests/unit", "--platform=rocm", "-rxfE", f"--summary-json={summary}"
    )
    assert result.returncode == 1, result.output
    # pytest's own count: one expected failure (at teardown), one stale entry, two
    # teardown errors (one failing differently, one under no entry)
    assert result.counts() == {"xfailed": 1, "failed": 1, "passed": 2, "errors": 2}
    assert "test_fails_at_teardown - expected on rocm: NotImplementedError" in (
        result.stdout
    )
    assert "at teardown" in result.stdout
    assert "test_fixed_now passes on rocm" in result.stdout
    assert "test_fails_at_teardown passes on rocm" not in result.stdout
    assert "fails differently on rocm at teardown" in result.stdout
    counts = json.loads(summary.read_text())["counts"]
    assert counts["expected_fail"] == 1  # still needed: failed as recorded
    assert counts["unexpected_pass"] == 1  # test_fixed_now: the entry is stale
    assert counts["fails_differently"] == 1
    assert counts["errors"] == 2  # the teardown errors, as pytest counts them


def test_summary_counts_setup_and_teardown_errors_as_pytest_does(
    inprocess, tiny, tmp_path
):
    root = tiny(
        {
            "tests/unit/test_e.py": """
                import pytest

                @pytest.fixture
                def broken():
                    raise RuntimeError("setup")

                @pytest.fixture
                def leaky():
                    yield
                    raise RuntimeError("teardown")

                def test_setup(broken):
                    pass

                def test_teardown(leaky):
                    pass

                def test_fails(leaky):
                    assert False
            """
        }
    )
    summary = tmp_path / "s.json"
    result = inprocess(
        root, "tests/unit", "--platform=cuda", f"--summary-json={summary}"
    )
    assert result.counts() == {"failed": 1, "passed": 1, "errors": 3}
    counts = json.loads(summary.read_text())["counts"]
    assert (counts["failed"], counts["passed"], counts["errors"]) == (1, 1, 3)


OVERLAP_TESTS = """
    import pytest

    @pytest.mark.encoder_decoder
    @pytest.mark.parametrize("model", ["org/crashes", "org/fine"])
    def test_model(model):
        raise NotImplementedError("encoder")

    def test_plain():
        raise NotImplementedError("encoder")
"""

OVERLAP_SIM = """
    [[deselect]]
    tests = ["tests/unit/test_o.py::test_model"]
    reason = "encoder attention"
    fails = { error = "NotImplementedError" }

    [[skip]]
    marker = "encoder_decoder"
    models = ["org/crashes"]
    reason = "crashes the GPU"

    [[ignore]]
    suite = "unit"
    path = "test_o.py"
    reason = "encoder attention"
    fails = { error = "NotImplementedError" }

    [[deselect]]
    tests = ["tests/unit/test_o.py::test_plain"]
    reason = "hangs"
"""


def test_an_entry_that_keeps_a_test_out_wins_over_an_expectation(inprocess, tiny):
    root = tiny(
        {
            "tests/unit/test_o.py": OVERLAP_TESTS,
            "skiplists/platforms/sim.toml": OVERLAP_SIM,
        }
    )
    result = inprocess(root, "tests/unit", "--platform=sim", "-rsx")
    assert result.returncode == 0, result.output
    # the crashing model is skipped (the skip wins over the deselect's `fails`),
    # the other one runs and fails as recorded; the hanging test stays deselected
    # although its file's ignore expects it to fail
    assert result.counts() == {"skipped": 1, "xfailed": 1, "deselected": 1}
    assert "org/crashes" in result.stdout and "crashes the GPU" in result.stdout


def test_lint_reports_overlapping_entries(tiny, capsys, monkeypatch):
    from testmatrix.cli import main

    root = tiny(
        {
            "tests/unit/test_o.py": OVERLAP_TESTS,
            "skiplists/platforms/sim.toml": OVERLAP_SIM,
        }
    )
    monkeypatch.chdir(root)
    main(["lint"])
    out = capsys.readouterr().out
    lines = (root / "skiplists/platforms/sim.toml").read_text().splitlines()
    # where each entry is declared: an ignore's path, a skip's table, a test id
    ignore, skip, hang = (
        next(i for i, t in enumerate(lines, 1) if text in t)
        for text in ('path = "test_o.py"', "[[skip]]", "::test_plain")
    )
    sim = "skiplists/platforms/sim.toml"
    assert (
        f"{sim}:{ignore}: warning: tests/unit/test_o.py::test_model[org/crashes]: "
        f"this ignore expects it to fail, but the skip at {sim}:{skip} keeps it from "
        "running, which wins: the expectation is never checked; remove one of them"
    ) in out
    assert (
        f"{sim}:{ignore}: warning: tests/unit/test_o.py::test_plain: this ignore "
        f"expects it to fail, but the deselect at {sim}:{hang} keeps it"
    ) in out
    assert "dead entry" not in out


def test_bare_pytest_keeps_out_a_suite_with_no_session_on_the_platform(inprocess, tiny):
    """The fast tier's version of the next test, on a small workspace."""
    root = tiny(
        {
            "skiplists/suites.toml": """
                [suites.unit]
                path = "tests/unit"
                exclude = ["amd"]
                exclude_reason = "suite amd runs them"

                [suites.amd]
                path = "tests/unit/amd"
                platforms = ["rocm"]
                platforms_reason = "AMD's kernels"
            """,
            "skiplists/platforms/rocm.toml": '[platform]\nhardware = "rocm"\n',
            "tests/unit/test_a.py": "def test_a():\n    pass\n",
            "tests/unit/amd/test_k.py": "def test_k1():\n    pass\n"
            "def test_k2():\n    pass\n",
        }
    )
    result = inprocess(root, "tests/unit", "--platform=cuda", "-q", "--co")
    assert result.returncode == 0, result.output
    assert "tests/unit/test_a.py::test_a" in result.stdout
    assert "tests/unit/amd" not in result.stdout
    assert (
        "2 tests left out: no session on cuda runs them (suite amd has none "
        "here); as the sessions do, --suite or --no-skiplist runs them"
    ) in result.stdout
    rocm = inprocess(root, "tests/unit", "--platform=rocm", "-q", "--co")
    assert "tests/unit/amd/test_k.py::test_k1" in rocm.stdout
    asked = inprocess(root, "tests/unit/amd", "--platform=cuda", "--suite=amd")
    assert asked.returncode == 0, asked.output
    assert "no session on cuda" not in asked.stdout


@pytest.mark.slow  # three runs over the bundled suite (the one above: a tiny workspace)
def test_bare_pytest_keeps_out_what_no_session_on_the_platform_runs(inprocess):
    result = inprocess(REPO, "tests/kernels", "--platform=cuda", "-q", "--co")
    assert result.returncode == 0, result.output
    assert "tests/kernels/aiter" not in result.stdout
    assert (
        "2 tests left out: no session on cuda runs them (suite aiter has none "
        "here); as the sessions do, --suite or --no-skiplist runs them"
    ) in result.stdout
    # on ROCm its suite has a session: bare pytest runs it there
    rocm = inprocess(REPO, "tests/kernels", "--platform=rocm", "-q", "--co")
    assert "tests/kernels/aiter/test_aiter_rmsnorm.py::" in rocm.stdout
    asked = inprocess(REPO, "tests/kernels/aiter", "--platform=cuda", "--suite=aiter")
    assert "no session on cuda" not in asked.stdout


def test_a_marker_only_skip_entries_name_is_registered(inprocess, tiny):
    # --strict-markers (tiny's pytest.ini) and a marker the project never declared
    root = tiny(
        {
            "skiplists/platforms/sim.toml": (
                '[[skip]]\nmarker = "encoder_only"\nmodels = ["a/b"]\nreason = "r"\n'
            ),
            "tests/unit/test_x.py": """
                import pytest

                @pytest.mark.encoder_only
                @pytest.mark.parametrize("model", ["a/b", "c/d"])
                def test_x(model):
                    pass
            """,
        }
    )
    result = inprocess(root, "tests/unit", "--platform=sim")
    assert result.returncode == 0, result.output
    assert result.counts() == {"passed": 1, "skipped": 1}
    markers = inprocess(root, "--markers", "--platform=sim")
    assert "@pytest.mark.encoder_only: named by testmatrix skip entries" in (
        markers.stdout
    )


def test_lint_reports_a_marker_no_test_carries(tiny, capsys, monkeypatch):
    from testmatrix.cli import main

    root = tiny(
        {
            "skiplists/platforms/sim.toml": (
                '[[skip]]\nmarker = "encodr_only"\nmodels = ["a/b"]\nreason = "r"\n'
            ),
            "tests/unit/test_x.py": "def test_x():\n    pass\n",
        }
    )
    monkeypatch.chdir(root)
    assert main(["lint"]) == 1
    assert (
        "skiplists/platforms/sim.toml:1: error: skip entry names marker "
        "'encodr_only', which no collected test carries (misspelt, or no longer "
        "used?)"
    ) in capsys.readouterr().out


CONFTEST_MARKS = """
    import pytest

    pytest_plugins = ["testmatrix.plugin"]

    def pytest_collection_modifyitems(items):
        # vLLM-style: a conftest marks tests at collection time
        for item in items:
            if "encoder" in item.name:
                item.add_marker(pytest.mark.encoder_decoder(model="org/enc"))
"""


def test_the_plugin_decides_after_conftest_collection_hooks(inprocess, tiny):
    root = tiny(
        {
            "conftest.py": CONFTEST_MARKS,
            "skiplists/platforms/sim.toml": (
                '[[skip]]\nmarker = "encoder_decoder"\nmodels = ["org/enc"]\n'
                'reason = "r"\n'
            ),
            "tests/unit/test_c.py": """
                def test_encoder():
                    pass

                def test_decoder():
                    pass
            """,
        },
        conftest=False,
    )
    result = inprocess(root, "tests/unit", "--platform=sim")
    assert result.counts() == {"passed": 1, "skipped": 1}, result.output


def test_counts_are_the_suites_in_every_shard_after_k(inprocess, tiny, tmp_path):
    # what the skiplist leaves out is counted over the whole collection, whatever
    # -k took first; testmatrix's sharder splits the decided list
    tests = "\n".join(f"def test_{i}():\n    pass\n" for i in range(8))
    root = tiny(
        {
            "tests/unit/test_s.py": tests,
            "skiplists/platforms/sim.toml": (
                '[[deselect]]\ntests = ["tests/unit/test_s.py::test_0", '
                '"tests/unit/test_s.py::test_1"]\nreason = "r"\n'
            ),
        }
    )
    ran = set()
    for shard in (0, 1):
        summary = tmp_path / f"s{shard}.json"
        result = inprocess(
            root,
            "tests/unit",
            "--platform=sim",
            "-k",
            "not test_7",
            "--testmatrix-num-shards=2",
            f"--testmatrix-shard-id={shard}",
            f"--summary-json={summary}",
            "-v",
        )
        assert result.returncode == 0, result.output
        assert json.loads(summary.read_text())["counts"]["deselected"] == 2
        ran |= {
            line.split(" ")[0]
            for line in result.stdout.splitlines()
            if "PASSED" in line
        }
    assert ran == {f"tests/unit/test_s.py::test_{i}" for i in range(2, 7)}


MODELS_TESTS = """
    from typing import NamedTuple

    import pytest

    MODEL_NAME = "org/constant"
    OTHER = "org/unused"

    class ModelInfo(NamedTuple):
        name: str
        dtype: str = "half"

    @pytest.fixture
    def llm():
        return MODEL_NAME

    @pytest.mark.encoder_decoder
    @pytest.mark.parametrize(
        "model_info", [ModelInfo("org/record"), ModelInfo("org/fine")]
    )
    def test_record(model_info):
        pass

    @pytest.mark.encoder_decoder
    def test_constant_in_body():
        assert MODEL_NAME

    @pytest.mark.encoder_decoder
    def test_constant_in_fixture(llm):
        assert llm

    @pytest.mark.encoder_decoder
    def test_no_model():
        pass
"""


def test_models_in_records_and_module_constants_are_found(inprocess, tiny):
    root = tiny(
        {
            "tests/unit/test_m.py": MODELS_TESTS,
            "skiplists/platforms/sim.toml": (
                '[[skip]]\nmarker = "encoder_decoder"\n'
                'models = ["org/record", "org/constant"]\nreason = "r"\n'
            ),
        }
    )
    result = inprocess(root, "tests/unit", "--platform=sim", "-rs")
    assert result.returncode == 0, result.output
    # record org/record, the constant in the body and in the fixture: skipped;
    # org/fine and the test with no model run
    assert result.counts() == {"skipped": 3, "passed": 2}
    assert (
        "org/record (record field 'model_info.name', listed in the skiplists)"
        in result.stdout
    )
    assert "org/constant (module constant MODEL_NAME at tests/unit/test_m.py:5)" in (
        result.stdout
    )
    assert "1 tests are marked but their model was not found" in result.stdout


def test_explain_says_where_the_model_was_found(tiny, capsys, monkeypatch):
    from testmatrix.cli import main

    root = tiny(
        {
            "tests/unit/test_m.py": MODELS_TESTS,
            "skiplists/platforms/sim.toml": (
                '[[skip]]\nmarker = "encoder_decoder"\n'
                'models = ["org/record", "org/constant"]\nreason = "r"\n'
            ),
        }
    )
    monkeypatch.chdir(root)
    main(["explain", "tests/unit/test_m.py::test_constant_in_fixture"])
    out = capsys.readouterr().out
    assert "(org/constant: module constant MODEL_NAME at tests/unit/test_m.py:5)" in out


def test_a_constant_a_conftest_fixture_names_is_found(inprocess, tiny):
    root = tiny(
        {
            "tests/unit/conftest.py": """
                import pytest

                SERVER_MODEL = "org/served"

                @pytest.fixture(name="server")
                def remote_server():
                    return SERVER_MODEL
            """,
            "tests/unit/test_srv.py": """
                import pytest

                @pytest.mark.encoder_decoder
                def test_served(server):
                    assert server
            """,
            "skiplists/platforms/sim.toml": (
                '[[skip]]\nmarker = "encoder_decoder"\nmodels = ["org/served"]\n'
                'reason = "r"\n'
            ),
        }
    )
    result = inprocess(root, "tests/unit", "--platform=sim", "-rs")
    assert result.counts() == {"skipped": 1}, result.output
    assert "module constant SERVER_MODEL at tests/unit/conftest.py:3" in result.stdout
