"""Reading JUnit files: the streamed events read what ElementTree's tree holds;
node ids from pytest's JUnit addresses, corrected by the summary where a name
misleads; and a real pytest run of the bundled suite, recorded as its own summary
counts it."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from selftest.helpers import clean_env
from selftest.history import histgen as gen
from testmatrix import errors
from testmatrix.history import junit, open_store, status
from testmatrix.history.artifacts import read_artifacts
from testmatrix.history.ingest import BuildInfo, ingest

ODD = """<?xml version="1.0" encoding="utf-8"?>
<!-- a comment: <testcase name="not-a-test"/> -->
<testsuites>
 <testsuite name="a">
  <properties><property name="suite_prop" value="not a test's"/></properties>
  <testcase classname="tests.test_x"
    name="test_amp[a&amp;b &quot;c&quot;&#10;d]" time="1.5">
   <properties>
    <property name="testmatrix_fate" value="expected-fail"/>
    <property name="testmatrix_entry" value="skiplists/rocm.toml:3"/>
    <property name="testmatrix_reason" value="r&#233;sum&#233; &lt;x&gt;"/>
   </properties>
   <failure>
   <![CDATA[E   ValueError: boom <here>]]>
   second line</failure>
   <system-out><![CDATA[<failure message="inside text"/>]]></system-out>
  </testcase>
  <testcase classname="tests.test_x.TestK" name="test_teardown" time="x">
   <error message="teardown broke" type="RuntimeError"/>
   <failure message="assert 1 == 2" type="AssertionError">tb</failure>
  </testcase>
  <testcase classname="tests.test_x" name="test_text_then_child" time="-1">
   <failure>AssertionError: first<b>not this</b> nor this</failure>
  </testcase>
  <testcase classname="tests.test_x" name="test_xfail" time="0.1">
   <skipped type="pytest.xfail" message="known"/>
  </testcase>
  <testcase classname="tests.test_x" name="test_rerun">
   <rerunFailure message="m"/></testcase>
  <testcase classname="tests.test_x" name="test_skip">
   <skipped message="Need at least 4 GPUs">why</skipped></testcase>
 </testsuite>
 <testsuite name="b">
  <testcase classname="" name="bare"/>
  <properties><property name="testmatrix_target" value="after the cases"/></properties>
 </testsuite>
</testsuites>
"""


def _by_tree(path: Path) -> list[junit.Result]:
    """The same file read through ElementTree's tree, independently of the event
    handlers: each test case's direct children, as the JUnit schema nests them."""
    cases = []
    for n, case in enumerate(ET.parse(path).getroot().iter("testcase")):
        props: dict[str, str] = {}
        tag = kind = text = None
        reran = False
        for child in case:
            if child.tag == "properties":
                props = {p.get("name", ""): p.get("value", "") for p in child}
            elif child.tag in ("failure", "error", "skipped"):
                if tag is None or child.tag == "failure":
                    tag, kind = child.tag, child.get("type")
                    text = child.get("message") or child.text or ""
            elif child.tag in junit.RERUN_TAGS:
                reran = True
        attrs = dict(case.attrib)
        cases.append(junit._result(attrs, props, tag, kind, text, reran, path, n))
    return cases


@pytest.mark.parametrize("chunk", [1, 7, junit.CHUNK])
def test_events_read_what_the_element_tree_holds(
    tmp_path: Path, monkeypatch, chunk: int
) -> None:
    """The streamed reader against ElementTree's tree: odd files (entities, CDATA,
    comments, text before a child, a failing teardown, properties outside test
    cases) and a generated build, fed in chunks that split every token."""
    gen.write_build(gen.generate(builds=1)[0], tmp_path)
    (tmp_path / "odd-junit.xml").write_text(ODD, encoding="utf-8")
    files = sorted(tmp_path.rglob("*junit*.xml"))
    monkeypatch.setattr(junit, "CHUNK", chunk)
    for path in files:
        assert junit.read_junit(path) == _by_tree(path), path
    odd = junit.read_junit(tmp_path / "odd-junit.xml")
    assert [(r.outcome.value, r.error_type, r.message) for r in odd] == [
        ("failed", "", "E   ValueError: boom <here>"),
        ("failed", "AssertionError", "assert 1 == 2"),
        ("failed", "AssertionError", "AssertionError: first"),
        ("expected_fail", "pytest.xfail", "known"),
        ("rerun_passed", "", ""),
        ("skipped_in_code", "skip", "Need at least 4 GPUs"),
        ("passed", "", ""),
    ]
    assert odd[0].nodeid == 'tests/test_x.py::test_amp[a&b "c"\nd]'
    assert odd[0].entry == junit.Entry("skiplists/rocm.toml:3", "", "résumé <x>", "")
    assert (odd[0].duration, odd[1].duration, odd[2].duration) == (1.5, None, None)
    assert odd[-1].target == ""  # the suite's properties are no test's


def test_a_testcase_inside_a_testcase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(
        '<testsuite>\n<testcase name="a">\n<testcase name="b"/></testcase></testsuite>'
    )
    with pytest.raises(errors.TestmatrixError, match=r"junit.xml:3: a testcase inside"):
        junit.read_junit(path)


def test_a_class_named_like_a_module_gets_its_id_from_the_summary(
    tmp_path: Path,
) -> None:
    nodeid = "tests/unit/test_mod.py::test_suite_class::test_one"
    job = gen.JobSpec("rocm", "unit", None, False, "reports/rocm-unit")
    job.results.append(gen.Res(nodeid, "passed"))
    gen.write_build(gen.BuildSpec("1", "c", "d", [job]), tmp_path)
    [found] = read_artifacts(tmp_path, None, {}).jobs
    assert [r.nodeid for r in found.results] == [nodeid]
    # without the summary, pytest's address alone reads the class as the module
    (tmp_path / "reports/rocm-unit/summary.json").unlink()
    [plain] = read_artifacts(tmp_path, "rocm", {}).jobs
    assert [r.nodeid for r in plain.results] == [
        "tests/unit/test_mod/test_suite_class.py::test_one"
    ]


@pytest.mark.slow
def test_a_real_session_is_recorded_as_its_summary_counts(
    workspace: Path, tmp_path: Path
) -> None:
    """The bundled suite run by pytest with the plugin on rocm:mi300 (its encoder
    models expected to fail), then ingested: every outcome counted as the plugin's
    own summary counts it."""
    session = "reports/rocm-mi300-language"
    argv = [
        sys.executable, "-m", "pytest", "tests/models/language", "-q", "-p",
        "no:cacheprovider", "--testmatrix-platform=rocm",
        "--testmatrix-variant=mi300", "--testmatrix-suite=language",
        f"--junitxml={session}/junit.xml",
        f"--testmatrix-summary-json={session}/summary.json",
    ]  # fmt: skip
    done = subprocess.run(
        argv, cwd=workspace, env=clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((workspace / session / "summary.json").read_text())
    db = str(tmp_path / "h.sqlite")
    store = open_store(db, create=True)
    jobs = read_artifacts(workspace / "reports", None, {}).jobs
    ingest(store, BuildInfo("1", "c1", "2026-01-01"), jobs)
    rows = status(store)
    store.close()
    counted: dict[str, int] = {}
    for row in rows:
        counted[row.outcome] = counted.get(row.outcome, 0) + 1
    expected = {k: v for k, v in summary["counts"].items() if v and k in counted}
    assert counted == expected and counted["expected_fail"] > 0
    assert {r.test for r in rows} == set(summary["durations"])
    assert {(r.target, r.suite) for r in rows} == {("rocm:mi300", "language")}
    failing = [r for r in rows if r.outcome == "expected_fail"]
    assert all(
        r.entry and r.entry.startswith("skiplists/platforms/rocm.toml:")
        for r in failing
    )


def test_an_expected_failures_property_says_how_it_went(tmp_path: Path) -> None:
    """The `testmatrix_expectation` property decides; a report's words only where
    an older plugin wrote none."""
    case = """<testcase classname="tests.test_x" name="{name}"><properties>
    <property name="testmatrix_fate" value="expected-fail"/>{prop}</properties>
    <failure message="{message}"/></testcase>"""
    words = "t passes on rocm, but the entry is stale"
    cases = [
        ("stale_by_property", '<property name="testmatrix_expectation" '
         'value="stale"/>', "AssertionError: x"),
        ("different_despite_words", '<property name="testmatrix_expectation" '
         'value="fails-differently"/>', words),
        ("stale_by_words", "", words),
        ("failed", "", "AssertionError: x"),
    ]  # fmt: skip
    path = tmp_path / "junit.xml"
    path.write_text(
        "<testsuite>"
        + "".join(case.format(name=n, prop=p, message=m) for n, p, m in cases)
        + "</testsuite>"
    )
    assert [(r.nodeid.split("::")[1], r.outcome) for r in junit.read_junit(path)] == [
        ("stale_by_property", junit.Outcome.UNEXPECTED_PASS),
        ("different_despite_words", junit.Outcome.FAILS_DIFFERENTLY),
        ("stale_by_words", junit.Outcome.UNEXPECTED_PASS),
        ("failed", junit.Outcome.FAILED),
    ]
