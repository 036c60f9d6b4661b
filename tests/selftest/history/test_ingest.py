"""Ingest: once per build, all or nothing, bad files refused with one located line,
and the targets of plain JUnit files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from selftest.helpers import REPO, clean_env
from selftest.history import histgen as gen
from selftest.history.conftest import status_facts
from testmatrix.cli import main
from testmatrix.history import junit, open_store, status
from testmatrix.history.store import SCHEMA_VERSION

PLAIN = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="entrypoints.openai.test_chat" name="test_chat[tiny]" time="1.5"/>
<testcase classname="entrypoints.openai.test_chat.TestStream" name="test_stream">
<skipped type="pytest.skip" message="Need at least 4 GPUs">x:3: why</skipped>
</testcase></testsuite></testsuites>"""


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["--root", str(REPO), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def counts(url: str) -> tuple[int, ...]:
    store = open_store(url, create=False)
    try:
        return tuple(
            store.value(f"SELECT count(*) FROM {t}")
            for t in ("builds", "jobs", "results", "tests", "state")
        )
    finally:
        store.close()


def test_ingesting_a_build_twice_changes_nothing(
    db_url: str, tmp_path: Path, capsys
) -> None:
    build = gen.generate(builds=1)[0]
    folder = gen.write_build(build, tmp_path / "artifacts")
    args = ("history", "ingest", str(folder), "--build", "7", "--db", db_url)
    assert cli(capsys, *args, "--date", "2026-01-01")[0] == 0
    before = counts(db_url)
    code, out, _ = cli(capsys, *args, "--json")
    assert code == 0
    assert json.loads(out)["new"] is False
    assert counts(db_url) == before
    results = sum(len(j.results) for j in build.jobs)
    assert before[:3] == (1, len(build.jobs), results)


def test_plain_junit_gets_its_target_from_the_agent_pool_in_its_path(
    tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "artifacts" / "amd-mi300_2-entrypoints"
    folder.mkdir(parents=True)
    (folder / "test-results.xml").write_text(PLAIN)
    db = str(tmp_path / "h.sqlite")
    code, _, err = cli(
        capsys,
        "history",
        "ingest",
        str(tmp_path / "artifacts"),
        "--build",
        "1",
        "--db",
        db,
    )
    assert code == 0, err
    code, out, _ = cli(capsys, "history", "status", "--db", db, "--json")
    rows = json.loads(out)["tests"]
    assert {(r["target"], r["suite"], r["test"], r["outcome"]) for r in rows} == {
        (
            "rocm:mi300",
            "amd-mi300_2-entrypoints",
            "entrypoints/openai/test_chat.py::test_chat[tiny]",
            "passed",
        ),
        (
            "rocm:mi300",
            "amd-mi300_2-entrypoints",
            "entrypoints/openai/test_chat.py::TestStream::test_stream",
            "skipped_in_code",
        ),
    }
    code, out, _ = cli(capsys, "history", "skips", "--db", db)
    assert "rocm:mi300: 1 tests skip themselves: Need at least 4 GPUs" in out


def test_plain_junit_with_no_target_is_refused_in_one_line(
    tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "artifacts" / "somejob"
    folder.mkdir(parents=True)
    (folder / "junit.xml").write_text(PLAIN)
    db = tmp_path / "h.sqlite"
    code, _, err = cli(
        capsys,
        "history",
        "ingest",
        str(tmp_path / "artifacts"),
        "--build",
        "1",
        "--db",
        str(db),
    )
    assert code == 2
    assert (
        err.count("\n") == 1
        and f"{folder / 'junit.xml'}: a JUnit file with no summary" in err
    )
    assert not db.exists()
    code, _, _ = cli(
        capsys,
        "history",
        "ingest",
        str(tmp_path / "artifacts"),
        "--build",
        "1",
        "--db",
        str(db),
        "--target",
        "cuda",
    )
    assert code == 0


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "junit.xml",
            "<testsuites><testsuite><testcase name='a'></testsuite>",
            "junit.xml:1: not well-formed XML: mismatched tag",
        ),
        (
            "junit.xml",
            "<?xml version='1.0'?>\n<!DOCTYPE x [<!ENTITY a 'aaaa'>]><testsuites/>",
            "junit.xml:1: a JUnit file with a DTD",
        ),
        (
            "junit.xml",
            "<html><body/></html>",
            "junit.xml:1: not a JUnit report (its root is <html>)",
        ),
        (
            "summary.json",
            '{"platform": "rocm",\n "counts": }',
            "summary.json:2: testmatrix summary is not JSON",
        ),
        (
            "summary.json",
            '{"platform": "rocm"}',
            "summary.json:1: not a testmatrix summary",
        ),
    ],
)
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_a_bad_file_is_one_located_line_and_writes_nothing(
    tmp_path: Path, capsys, monkeypatch, name, text, expected, streamed
) -> None:
    if streamed:  # a few bytes at a time: errors found across chunks
        monkeypatch.setattr(junit, "CHUNK", 5)
    folder = tmp_path / "artifacts" / "reports" / "rocm-x"
    folder.mkdir(parents=True)
    (folder / "junit.xml").write_text(PLAIN)
    (folder / name).write_text(text)
    if name == "summary.json":
        pass
    else:
        (folder / "summary.json").write_text(
            json.dumps({"platform": "rocm", "counts": {}, "target": "rocm"})
        )
    db = tmp_path / "h.sqlite"
    code, out, err = cli(
        capsys,
        "history",
        "ingest",
        str(tmp_path / "artifacts"),
        "--build",
        "1",
        "--db",
        str(db),
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and expected in err, err
    assert not db.exists()
    code, out, _ = cli(
        capsys,
        "history",
        "ingest",
        str(tmp_path / "artifacts"),
        "--build",
        "1",
        "--db",
        str(db),
        "--json",
    )
    assert code == 2 and expected in json.loads(out)["error"]


def test_a_version_1_database_gains_the_simulated_column(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    open_store(str(db), create=True).close()
    with sqlite3.connect(db) as conn:  # as version 1 wrote it
        conn.execute("ALTER TABLE jobs DROP COLUMN simulated")
        conn.execute("UPDATE schema_version SET version = 1")
    open_store(str(db), create=False).close()
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(jobs)")]
        version = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    assert "simulated" in columns and version == (SCHEMA_VERSION,) == (3,)


def test_a_database_of_a_newer_schema_is_refused(tmp_path: Path, capsys) -> None:
    db = tmp_path / "h.sqlite"
    open_store(str(db), create=True).close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'testmatrix 9')")
    code, _, err = cli(capsys, "history", "status", "--db", str(db))
    assert code == 2
    assert err.strip() == (
        f"testmatrix: error: {db}: written by a newer testmatrix (history schema 99; "
        f"this one reads up to {SCHEMA_VERSION}): upgrade testmatrix"
    )


def test_queries_on_no_database_say_so(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TESTMATRIX_HISTORY_DB", str(tmp_path / "none.sqlite"))
    code, _, err = cli(capsys, "history", "flaky")
    assert code == 2 and "none.sqlite: no history database here" in err
    assert not (tmp_path / "none.sqlite").exists()


def test_unknown_build_and_target_are_one_line(tmp_path: Path, capsys) -> None:
    db = tmp_path / "h.sqlite"
    folder = gen.write_build(gen.generate(builds=1)[0], tmp_path / "a")
    cli(capsys, "history", "ingest", str(folder), "--build", "1", "--db", str(db))
    code, _, err = cli(capsys, "history", "diff", "1", "nope", "--db", str(db))
    assert code == 2 and "no build 'nope' in the history" in err
    code, _, err = cli(capsys, "history", "status", "--target", "tpu", "--db", str(db))
    assert (
        code == 2
        and "no target 'tpu' in the history (known: cuda, rocm:mi300, rocm:mi355)"
        in err
    )


def test_tables_escape_terminal_control_characters(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "a" / "gpu-h100-x"
    folder.mkdir(parents=True)
    # XML 1.0 allows C1 controls: U+009B is a terminal's CSI
    evil = PLAIN.replace("test_chat[tiny]", "test_chat[&#155;31mred]")
    (folder / "junit.xml").write_text(evil)
    db = str(tmp_path / "h.sqlite")
    cli(capsys, "history", "ingest", str(tmp_path / "a"), "--build", "1", "--db", db)
    code, out, _ = cli(capsys, "history", "status", "--db", db)
    assert code == 0 and "\x9b" not in out and "test_chat[\\x9b31mred]" in out


KILLED = """
import sys, time
from pathlib import Path
from testmatrix.history import rollup, open_store, ingest
from testmatrix.history.artifacts import read_artifacts
from testmatrix.history.ingest import BuildInfo

def stop(*args, **kwargs):  # the results are written; the transaction is open
    print("ready", flush=True)
    time.sleep(60)

rollup.append_build = stop
store = open_store(sys.argv[1], create=True)
jobs = read_artifacts(Path(sys.argv[2]), None, {r"gpu\\-h100": "cuda"}).jobs
ingest(store, BuildInfo("2", "c1", "2026-01-02"), jobs)
"""


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_trace(db_url: str, tmp_path: Path, capsys) -> None:
    first, second = gen.generate(builds=2)
    cli(
        capsys,
        "history",
        "ingest",
        str(gen.write_build(first, tmp_path / "1")),
        "--build",
        "1",
        "--db",
        db_url,
        "--date",
        "2026-01-01",
    )
    before = counts(db_url)
    folder = gen.write_build(second, tmp_path / "2")
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED))
    env = clean_env(PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen(
        [sys.executable, str(script), db_url, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        proc.kill()  # SIGKILL: no handler, no rollback of its own
    finally:
        proc.wait()
    assert counts(db_url) == before
    store = open_store(db_url, create=False)
    assert [s.last_seen_build for s in status(store)] == ["1"] * before[4]
    store.close()
    code, _, err = cli(
        capsys, "history", "ingest", str(folder), "--build", "2", "--db", db_url
    )
    assert code == 0, err
    assert counts(db_url)[0] == 2


def test_a_folder_with_no_reports_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "artifacts").mkdir()
    db = tmp_path / "h.sqlite"
    code, _, err = cli(
        capsys, "history", "ingest", str(tmp_path / "artifacts"), "--build", "1",
        "--db", str(db),
    )  # fmt: skip
    assert code == 2 and "no reports here" in err and not db.exists()


TEARDOWN = """<testsuites><testsuite name="pytest">
<testcase classname="tests.test_a" name="test_x" time="0.1">
<failure message="AssertionError: assert 1 == 2">trace</failure></testcase>
<testcase classname="tests.test_a" name="test_x" time="0.1">
<error message="RuntimeError: teardown broke">trace</error></testcase>
</testsuite></testsuites>"""


def test_a_test_reported_twice_by_one_job_shows_the_worse(tmp_path: Path) -> None:
    """pytest writes a failing test whose teardown errs as two test cases: both
    are recorded, and its outcome in the build is the worse."""
    folder = tmp_path / "a" / "job"
    folder.mkdir(parents=True)
    (folder / "junit.xml").write_text(TEARDOWN)
    store = open_store(str(tmp_path / "h.sqlite"), create=True)
    from testmatrix.history.artifacts import read_artifacts
    from testmatrix.history.ingest import BuildInfo, ingest

    ingest(store, BuildInfo("1"), read_artifacts(tmp_path / "a", "cuda", {}).jobs)
    [row] = status(store)
    assert (row.test, row.outcome, row.message) == (
        "tests/test_a.py::test_x",
        "error",
        "RuntimeError: teardown broke",
    )
    assert store.value("SELECT count(*) FROM results") == 2
    store.close()


def _plain(classname: str, name: str) -> str:
    return (
        f'<testsuites><testsuite><testcase classname="{classname}" name="{name}" '
        'time="1"/></testsuite></testsuites>'
    )


def test_ignores_are_judged_by_their_tests_on_other_targets(
    tmp_path: Path, capsys
) -> None:
    """The repository's rocm ignores: one whose file still runs on cuda has no
    finding; one whose file no job reported has no tests."""
    artifacts = tmp_path / "a"
    for folder, text in (
        (
            "gpu-h100-pooling",
            _plain("tests.entrypoints.pooling.openai.test_score", "t"),
        ),
        ("amd-mi325-kernels", _plain("tests.kernels.test_attention", "t")),
    ):
        (artifacts / folder).mkdir(parents=True)
        (artifacts / folder / "junit.xml").write_text(text)
    db = str(tmp_path / "h.sqlite")
    code, _, err = cli(capsys, "history", "ingest", str(artifacts), "--build", "1",
                       "--db", db)  # fmt: skip
    assert code == 0, err
    code, out, _ = cli(capsys, "history", "entries", "--db", db, "--json")
    found = {
        (f["entry"], f["target"], f["evidence"], tuple(f["tests"]))
        for f in json.loads(out)["findings"]
        if f["kind"] == "ignore" and f["target"] == "rocm"
    }
    # rocm.toml:46 ignores openai/test_rerank.py, :47 openai/test_score.py
    assert ("skiplists/platforms/rocm.toml:46", "rocm", "no_tests", ()) in found
    score = [f for f in found if f[0] == "skiplists/platforms/rocm.toml:47"]
    assert score == []  # test_score.py ran on cuda in the newest build


def _cases(*cases: str) -> str:
    return f"<testsuites><testsuite>{''.join(cases)}</testsuite></testsuites>"


def test_a_build_writes_the_state_of_changed_and_missing_tests_only(
    tmp_path: Path,
) -> None:
    """Of three nightlies: a test that passes throughout keeps the row its first
    build wrote, and still reads as a streak of three; one that starts failing, and
    one that goes missing, are written, and read as the builds said."""
    from testmatrix.history.artifacts import read_artifacts
    from testmatrix.history.ingest import BuildInfo, ingest

    same = '<testcase classname="test_a" name="test_same" time="1"/>'
    turns = '<testcase classname="test_a" name="test_turns" time="1"/>'
    failing = (
        '<testcase classname="test_a" name="test_turns" time="1">'
        '<failure message="AssertionError: no">x</failure></testcase>'
    )
    goes = '<testcase classname="test_a" name="test_goes" time="1"/>'
    nights = [_cases(same, turns, goes), _cases(same, turns, goes),
              _cases(same, failing)]  # fmt: skip
    store = open_store(str(tmp_path / "h.sqlite"), create=True)
    rows = []
    for n, xml in enumerate(nights):
        folder = tmp_path / f"night{n}" / "job"
        folder.mkdir(parents=True)
        (folder / "junit.xml").write_text(xml)
        jobs = read_artifacts(folder.parent, "cuda", {}).jobs
        ingest(store, BuildInfo(f"n{n}", date=f"2026-01-0{n + 1}"), jobs)
        rows.append(
            {r[0]: r[1:] for r in store.rows(
                "SELECT t.nodeid, s.* FROM state s JOIN tests t ON t.id = s.test_id")}
        )  # fmt: skip
    same_id, turns_id, goes_id = (
        f"test_a.py::{n}" for n in ("test_same", "test_turns", "test_goes")
    )
    assert rows[0][same_id] == rows[1][same_id] == rows[2][same_id]
    assert rows[1][turns_id] == rows[0][turns_id] != rows[2][turns_id]
    assert rows[1][goes_id] == rows[0][goes_id] != rows[2][goes_id]
    got = status_facts(store)
    store.close()
    assert got == {
        ("cuda", same_id): ("passed", "n0", 3, "n2", "n2", 0, None),
        ("cuda", turns_id): ("failed", "n2", 1, "n1", "n2", 1, None),
        ("cuda", goes_id): ("passed", "n0", 2, "n1", "n1", 0, None),
    }
