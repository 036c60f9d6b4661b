"""A session's results read from its summary's `results` are the results its JUnit
file gives, test by test, on a real run with every outcome; and a summary whose
`results` are of the wrong shape is one located line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testmatrix import errors
from testmatrix.history.artifacts import read_artifacts
from testmatrix.history.outcomes import Outcome

TESTS = """
    import os
    import pytest

    @pytest.fixture
    def broken():
        raise RuntimeError("no server")

    @pytest.fixture
    def leaky():
        yield 1
        raise ValueError("port still bound")

    def test_passes():
        pass

    def test_fails():
        assert 1 == 2, "one is not two\\nsecond line"

    def test_setup_error(broken):
        pass

    def test_teardown_error(leaky):
        pass

    def test_fails_then_teardown(leaky):
        raise KeyError("k")

    def test_skips_itself():
        pytest.skip("Need at least 4 GPUs")

    @pytest.mark.xfail(reason="known bug")
    def test_xfails():
        assert False

    @pytest.mark.xfail(strict=True)
    def test_xpasses_strictly():
        pass

    @pytest.mark.encoder_decoder
    @pytest.mark.parametrize("model", ["BAAI/bge-m3", "facebook/opt-125m"])
    def test_by_model(model):
        pass

    def test_expected():
        raise NotImplementedError("Encoder self-attention is not implemented")

    def test_stale():
        pass

    def test_differently():
        raise KeyError("other")

    def test_flaky(tmp_path_factory):
        mark = tmp_path_factory.getbasetemp().parent / "flaky-ran"
        if not mark.exists():
            mark.write_text("once")
            assert False, "first run"

    @pytest.mark.parametrize("x", ["a&b", "<c>", 'q"'])
    def test_params(x):
        assert x != "<c>"

    class TestK:
        def test_method(self):
            pass
"""

ROCM = """
    [platform]
    hardware = "rocm"

    [[skip]]
    marker = "encoder_decoder"
    models = ["BAAI/bge-m3"]
    reason = "not on rocm"
    issue = "https://example.org/1"

    [[deselect]]
    tests = [
        "tests/unit/test_all.py::test_expected",
        "tests/unit/test_all.py::test_stale",
        "tests/unit/test_all.py::test_differently",
    ]
    reason = "encoder attention"
    fails = { error = "NotImplementedError", match = "Encoder self-attention" }

    [[flaky]]
    test = "tests/unit/test_all.py::test_flaky"
    reruns = 2
    reason = "races the server"
"""


def _fields(job):  # type: ignore[no-untyped-def]
    """Each result but its duration, in the order read."""
    return [
        (r.nodeid, r.outcome, r.entry, r.error_type, r.message) for r in job.results
    ]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_summary_gives_the_results_its_junit_file_gives(
    inprocess, tiny, tmp_path, workers
):
    root = tiny(
        {"tests/unit/test_all.py": TESTS, "skiplists/platforms/rocm.toml": ROCM}
    )
    reports = tmp_path / "artifacts" / "reports" / "rocm-unit"
    result = inprocess(
        root,
        "tests/unit",
        "--platform=rocm",
        f"--junitxml={reports}/junit.xml",
        f"--summary-json={reports}/summary.json",
        *workers,  # xdist's controller writes the summary from its workers' reports
    )
    assert result.returncode == 1, result.output
    summary_path = reports / "summary.json"
    summary = json.loads(summary_path.read_text())
    assert "results" in summary
    [from_summary] = read_artifacts(tmp_path / "artifacts", None, {}).jobs
    assert from_summary.source == "reports/rocm-unit/summary.json"
    del summary["results"]  # what an older plugin wrote: the JUnit file is read
    summary_path.write_text(json.dumps(summary))
    [from_junit] = read_artifacts(tmp_path / "artifacts", None, {}).jobs
    assert from_junit.source == "reports/rocm-unit/junit.xml"
    got, want = _fields(from_summary), _fields(from_junit)
    # newer pytest-rerunfailures (16, not 14) have junitxml write each attempt as a
    # testcase of its own, the same result again: read as one, as the summary has it
    assert sorted(got, key=repr) == sorted(want, key=repr)
    outcomes = {r[0].split("::", 1)[1]: r[1] for r in got}
    assert outcomes == {
        "test_passes": Outcome.PASSED,
        "test_fails": Outcome.FAILED,
        "test_setup_error": Outcome.ERROR,
        "test_teardown_error": Outcome.ERROR,
        # junitxml's second testcase: the teardown's error (the failure before it)
        "test_fails_then_teardown": Outcome.ERROR,
        "test_skips_itself": Outcome.SKIPPED_IN_CODE,
        "test_xfails": Outcome.EXPECTED_FAIL,
        "test_xpasses_strictly": Outcome.FAILED,
        "test_by_model[BAAI/bge-m3]": Outcome.SKIPPED_BY_ENTRY,
        "test_by_model[facebook/opt-125m]": Outcome.PASSED,
        "test_expected": Outcome.EXPECTED_FAIL,
        "test_stale": Outcome.UNEXPECTED_PASS,
        "test_differently": Outcome.FAILS_DIFFERENTLY,
        "test_flaky": Outcome.RERUN_PASSED,
        "test_params[a&b]": Outcome.PASSED,
        "test_params[<c>]": Outcome.FAILED,
        'test_params[q"]': Outcome.PASSED,
        "TestK::test_method": Outcome.PASSED,
    }
    assert len(got) == len(outcomes) + 1  # the failure before that error
    by_name = {r[0].split("::", 1)[1]: r[1:] for r in got}
    assert by_name["test_fails"][2:] == (
        "AssertionError",
        "AssertionError: one is not two",
    )
    assert by_name["test_setup_error"][3].startswith(
        'failed on setup with "RuntimeError'
    )
    assert by_name["test_skips_itself"][2:] == ("pytest.skip", "Need at least 4 GPUs")
    assert by_name["test_flaky"][1].kind == "flaky"
    assert by_name["test_by_model[BAAI/bge-m3]"][1].issue == "https://example.org/1"
    # durations: the summary's are the call's, JUnit's the whole test's (the
    # second testcase of a teardown error has none in the summary)
    junit_seconds: dict[str, float] = {}
    for r in from_junit.results:
        assert r.duration is not None
        junit_seconds[r.nodeid] = max(r.duration, junit_seconds.get(r.nodeid, 0.0))
    timed = [r for r in from_summary.results if r.duration is not None]
    assert len(timed) == len(from_summary.results) - 1
    assert all(r.duration <= junit_seconds[r.nodeid] + 2e-3 for r in timed)


BASE = {
    "platform": "rocm",
    "target": "rocm",
    "suite": "unit",
    "counts": {},
    "exitstatus": 1,
    "durations": {"t.py::a": 0.5, "t.py::b": 1},
    "flaky": [],
}


@pytest.mark.parametrize(
    ("results", "durations", "says"),
    [
        ([], None, "summary's 'results' must be a table"),
        ({"tests": {}}, None, "must hold 'records' (a list) and 'tests'"),
        ({"records": [{"entry": 3}], "tests": {}}, None, "'results.records[0]'"),
        (
            {"records": [], "tests": {"t.py::a": ["failure", None, "m"]}},
            None,
            "'results.tests.t.py::a' must be [element, type, message, record]",
        ),
        (
            {"records": [], "tests": {"t.py::a": ["<b>", None, "m", None]}},
            None,
            "no JUnit result element '<b>'",
        ),
        (
            {"records": [], "tests": {"t.py::a": ["failure", None, "m", 0]}},
            None,
            "record 0 is no index of 'records'",
        ),
        (
            {"records": [], "tests": {"t.py::a": ["failure", 7, "m", None]}},
            None,
            "a type or message must be text",
        ),
        ({"records": [], "tests": {}}, {"t.py::a": "fast"}, "'durations.t.py::a'"),
        ({"records": [], "tests": {}}, {"": 1.0}, "test id '' is not text"),
        (
            {"records": [], "tests": {"t.py::a": ["failure", None, "m\0", None]}},
            None,
            "with no NUL",
        ),
        ({"records": [], "tests": {}}, {"t.py::\0": 1.0}, "is not text of 1 to"),
    ],
)
def test_results_of_the_wrong_shape_are_one_located_line(
    tmp_path: Path, results: object, durations: object, says: str
) -> None:
    folder = tmp_path / "reports" / "rocm-unit"
    folder.mkdir(parents=True)
    summary = {**BASE, "results": results}
    if durations is not None:
        summary["durations"] = durations
    (folder / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(errors.TestmatrixError) as caught:
        read_artifacts(tmp_path, None, {})
    assert str(caught.value).startswith(f"{folder / 'summary.json'}:1: ")
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_tests_the_durations_name_passed_unless_results_say_otherwise(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "reports" / "rocm-unit"
    folder.mkdir(parents=True)
    record = {"fate": "runs", "entry": "skiplists/platforms/rocm.toml:9",
              "entry_kind": "flaky", "reason": "r", "issue": ""}  # fmt: skip
    results = {
        "records": [record],
        "tests": {
            "t.py::b": ["failure", None, "AssertionError: no\nmore", None],
            "t.py::c": ["error", None, 'failed on teardown with "x"', 0],
        },
    }
    summary = {**BASE, "results": results, "flaky": ["t.py::a"]}
    (folder / "summary.json").write_text(json.dumps(summary))
    [job] = read_artifacts(tmp_path, None, {}).jobs
    assert [(r.nodeid, r.outcome, r.duration) for r in job.results] == [
        ("t.py::a", Outcome.RERUN_PASSED, 0.5),
        ("t.py::b", Outcome.FAILED, 1),
        ("t.py::c", Outcome.ERROR, None),  # in no durations: still a result
    ]
    assert job.results[1].message == "AssertionError: no"
    assert job.results[2].entry is not None
    assert job.results[2].entry.location == "skiplists/platforms/rocm.toml:9"
