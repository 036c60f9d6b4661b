"""`testmatrix propose` on a generated history: the edits a careful maintainer would
make, and nothing else in the files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from selftest.propose import propgen
from testmatrix.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROCM = Path("skiplists/platforms/rocm.toml")


def propose(root: Path, *args: str) -> int:
    return main(["--root", str(root), "propose", "--quiet", "4", *args])


def _entries(text: str) -> dict[str, list[dict]]:
    return {k: v for k, v in tomllib.loads(text).items() if isinstance(v, list)}


def test_the_diff_adds_one_entry_per_signature_and_removes_stale_entries(
    history_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (history_ws / ROCM).read_text()
    assert propose(history_ws) == 0
    out = capsys.readouterr().out
    assert (history_ws / ROCM).read_text() == before  # a diff only: nothing written
    assert out.startswith("# add 5 entries to skiplists/platforms/rocm.toml\n")
    # every removal says why and the builds that prove it
    assert (
        f"# remove {propgen.E_FIXED} [[deselect]]: its tests passed in each of the "
        "last builds\n#   evidence: rocm:mi300: builds 204, 205, 206; rocm:mi355: "
        "builds 204, 205, 206\n" in out
    )
    assert f"# remove {propgen.E_CALM} [[flaky]]: no flake in the last builds" in out
    assert f"# remove {propgen.E_GONE} [[deselect]]: none of its tests" in out
    assert f"# remove {propgen.E_VANISH} [[deselect]]: none of its tests" in out
    assert propgen.E_HELD not in out  # still failing as recorded: stays
    assert propgen.E_CRASH not in out  # never reported, but its test is still here
    assert "test_c.py" not in out  # two error signatures: no entry
    assert "test_late.py" not in out  # failing in 2 builds, 3 needed
    assert propose(history_ws, "--json") == 0
    (edit,) = json.loads(capsys.readouterr().out)["files"]
    assert edit["diff"] == out
    new = _entries("\n".join(edit["add"]))
    a, alt, b = new["deselect"]
    assert (alt["test"], alt["variants"]) == (
        "tests/lang/test_alt.py::test_alt",
        ["mi355"],
    )
    assert alt["fails"] == {"error": "RuntimeError", "match": "lost"}
    assert a == {
        "test": "tests/lang/test_a.py",  # the whole file, not three test ids
        "variants": ["mi300"],
        "reason": "fails with RuntimeError: HIP out of memory at <addr>",
        "issue": "https://issues.invalid/file-an-issue",
        "fails": {"error": "RuntimeError", "match": "HIP out of memory at"},
    }
    # the parametrization, not test_other (which passes) nor each parameter
    assert b["test"] == "tests/lang/test_b.py::test_param["
    assert b["variants"] == ["mi300", "mi355"]
    assert b["fails"] == {"error": "KeyError"}
    flaky, flip = new["flaky"]
    assert flaky["test"] == "tests/lang/test_wobble.py::test_wobble"
    assert (flaky["reruns"], flaky["variants"]) == (2, ["mi300"])
    # red in the last three builds, but flaky before: a flaky entry, not an expected
    # failure that its next pass would turn red
    assert (flip["test"], flip["variants"]) == (
        "tests/lang/test_flip.py::test_flip",
        ["mi355"],
    )
    assert all("test_flip" not in e.get("test", "") for e in new["deselect"])


def test_write_changes_only_the_proposed_lines_and_a_second_run_has_nothing(
    history_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert propose(history_ws, "--write") == 0
    after = (history_ws / ROCM).read_text()
    # the three stale entries gone with their comments, one blank line between
    # what is left, every other byte as it was, the new entries after it
    kept = propgen.ROCM.split("# fixed upstream")[0] + (
        "# still failing: stays\n"
        + propgen.ROCM.split("# still failing: stays\n")[1].split("[[flaky]]")[0]
        + "# end of the hand-kept part\n"
    )
    expected_head = kept
    assert after.startswith(expected_head)
    assert "# a comment after a value" in after
    assert after[len(expected_head) :].startswith("\n# 3 tests fail alike on rocm")
    capsys.readouterr()
    assert propose(history_ws) == 0
    assert capsys.readouterr().out == "testmatrix propose: nothing to propose\n"


@pytest.mark.slow
def test_the_diff_applies_with_git_apply_to_what_write_writes(
    history_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil
    import subprocess

    copy = tmp_path / "copy"
    shutil.copytree(history_ws / "skiplists", copy / "skiplists")
    propose(history_ws)
    diff = capsys.readouterr().out
    (tmp_path / "proposal.diff").write_text(diff)
    subprocess.run(
        ["git", "apply", "--unidiff-zero", str(tmp_path / "proposal.diff")],
        cwd=copy,
        check=True,
    )
    propose(history_ws, "--write")
    assert (copy / ROCM).read_text() == (history_ws / ROCM).read_text()


def test_thresholds_are_options(
    history_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # two builds in a row suffice: test_late (red in the last two) gets an entry
    assert propose(history_ws, "--failing", "2") == 0
    out = capsys.readouterr().out
    assert '+test = "tests/lang/test_late.py::test_late"' in out
    # with 30 quiet builds needed, six builds cannot show a flaky entry quiet
    assert main(["--root", str(history_ws), "propose", "--quiet", "30"]) == 0
    assert "[[flaky]]: no flake" not in capsys.readouterr().out


def test_json_lists_each_file_with_its_additions_and_removals(
    history_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert propose(history_ws, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    (edit,) = data["files"]
    assert edit["file"] == "skiplists/platforms/rocm.toml" and not edit["new"]
    assert len(edit["add"]) == 5
    assert sorted(r["evidence"] for r in edit["remove"]) == [
        "no_tests",
        "no_tests",
        "passed",
        "quiet_flaky",
    ]
    assert data["simulated_targets"] == []


def test_nothing_is_proposed_for_simulated_targets(
    history_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from selftest.history import histgen as gen

    newest = propgen.history()[-1]
    newest.name = "207"
    folder = gen.write_build(newest, tmp_path / "207")
    propgen.mark_simulated(folder, ("rocm:mi300",))
    assert propose(history_ws, "--reports", str(folder)) == 0
    out = capsys.readouterr().out
    assert "test_a.py" not in out  # fails on mi300 only: simulated there
    assert 'variants = ["mi355"]' in out  # test_b's entry holds on mi355 alone
    assert "test_wobble" not in out


def test_bad_input_is_one_line_and_exit_2(
    history_ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert propose(history_ws, "--reports", str(history_ws / "nope")) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("nope: not a folder of build reports")
    assert len(err.strip().splitlines()) == 1
    assert propose(history_ws, "--failing", "0") == 2
    assert "--failing 0: give 1 to 100 builds" in capsys.readouterr().err
    assert propose(history_ws, "--json", "--failing", "0") == 2
    assert json.loads(capsys.readouterr().out) == {
        "error": "--failing 0: give 1 to 100 builds"
    }


def test_without_a_history_it_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESTMATRIX_HISTORY_DB", raising=False)
    root = propgen.workspace(tmp_path / "ws")
    assert main(["--root", str(root), "propose"]) == 2
    assert "no history database here" in capsys.readouterr().err


@pytest.mark.slow
def test_a_postgresql_history_gives_the_same_proposal(
    history_ws: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from selftest.history.conftest import new_database
    from testmatrix.history import ingest, open_store
    from testmatrix.history.artifacts import read_artifacts
    from testmatrix.history.ingest import BuildInfo

    url = new_database(request, "postgresql", tmp_path)
    store = open_store(url, create=True)
    try:
        for build in propgen.history():
            jobs = read_artifacts(tmp_path / "artifacts" / build.name, None, {}).jobs
            ingest(store, BuildInfo(build.name, build.commit, build.date), jobs)
    finally:
        store.close()
    assert propose(history_ws, "--json") == 0
    on_sqlite = json.loads(capsys.readouterr().out)
    assert propose(history_ws, "--json", "--db", url) == 0
    assert json.loads(capsys.readouterr().out) == on_sqlite
    assert len(on_sqlite["files"][0]["add"]) == 5


def test_reports_of_an_undeclared_platform_create_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from selftest.history import histgen as gen
    from selftest.history.histgen import BuildSpec, JobSpec, Res
    from testmatrix.config.loader import load_workspace

    monkeypatch.delenv("TESTMATRIX_HISTORY_DB", raising=False)
    monkeypatch.setenv("TESTMATRIX_NO_CACHE", "1")
    root = propgen.workspace(tmp_path / "ws")
    job = JobSpec("mi400", "lang", None, False, "reports/mi400-lang")
    job.results = [
        Res(
            "tests/lang/test_b.py::test_param[x]",
            "error",
            message="OSError: no /dev/kfd",
        ),
        Res(
            "tests/lang/test_b.py::test_param[y]",
            "error",
            message="OSError: no /dev/kfd",
        ),
        Res(
            "tests/lang/test_b.py::test_param[z]",
            "error",
            message="OSError: no /dev/kfd",
        ),
        Res("tests/lang/test_b.py::test_other", "passed"),
    ]
    build = BuildSpec("1", "c", "2026-04-01T00:00:00+00:00", [job])
    folder = gen.write_build(build, tmp_path / "run")
    assert propose(root, "--reports", str(folder), "--write") == 0
    assert capsys.readouterr().out == "wrote skiplists/platforms/mi400.toml\n"
    assert not (root / ".testmatrix").exists()  # no history was made or written
    workspace = load_workspace(root, check_paths=False)  # rocm.toml has a gone file
    (entry,) = workspace.platforms["mi400"].entries
    assert (
        entry.kind == "deselect" and entry.nodeid == "tests/lang/test_b.py::test_param["
    )
    assert (entry.fails.error, entry.fails.match) == ("OSError", "no /dev/kfd")
    # the reports' build is named by its folder
    assert (
        "on mi400 in build run\n"
        in (root / "skiplists/platforms/mi400.toml").read_text()
    )


def test_a_target_that_is_no_platform_name_never_becomes_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from selftest.history import histgen as gen
    from selftest.history.histgen import BuildSpec, JobSpec, Res

    monkeypatch.delenv("TESTMATRIX_HISTORY_DB", raising=False)
    root = propgen.workspace(tmp_path / "ws")
    job = JobSpec("../../evil", "lang", None, False, "reports/evil")
    job.results = [Res("tests/lang/test_c.py::test_mixed", "failed", message="E: x")]
    folder = gen.write_build(BuildSpec("1", "c", "2026-04-01", [job]), tmp_path / "r")
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert propose(root, "--reports", str(folder), "--write") == 0
    out, err = capsys.readouterr()
    assert out == "testmatrix propose: nothing to propose\n"
    assert "target '../../evil' is not a platform[:variant] name: left out" in err
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before


def test_a_target_the_history_recorded_as_simulated_is_left_out(
    history_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from selftest.history import histgen as gen

    newest = propgen.history()[-1]
    newest.name, newest.date = "207", "2026-04-07T04:00:00+00:00"
    folder = gen.write_build(newest, tmp_path / "207")
    propgen.mark_simulated(folder, ("rocm:mi300",))
    db = str(history_ws / ".testmatrix" / "history.sqlite")
    args = ["history", "ingest", str(folder), "--build", "207", "--db", db]
    assert main(["--root", str(history_ws), *args]) == 0
    capsys.readouterr()
    assert propose(history_ws, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["simulated_targets"] == ["rocm:mi300"]
    added = "\n".join(data["files"][0]["add"])
    assert "test_a.py" not in added and "test_wobble" not in added
    assert 'variants = ["mi355"]' in added  # test_b's entry: mi355's evidence alone
    # --include-simulated: a dry run proposes for it too
    assert propose(history_ws, "--json", "--include-simulated") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["simulated_targets"] == []
    assert '"tests/lang/test_a.py"' in "\n".join(data["files"][0]["add"])
