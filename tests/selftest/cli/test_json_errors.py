"""Bad input with --json is one JSON object on stdout, the exit code unchanged; and
the hostile inputs that still gave a traceback are one located line (issue 20)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from selftest.helpers import Result
from testmatrix import errors
from testmatrix.cli import main
from testmatrix.jsonio import read_bytes, read_json


def cli(cwd: Path, *args: object) -> Result:
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        os.chdir(here)
    return Result(code, out.getvalue(), err.getvalue())


def json_error(result: Result) -> dict:
    assert result.stderr == "", result.stderr
    [line] = result.stdout.splitlines()  # one object, one line
    data = json.loads(line)
    assert set(data) == {"error", "lines"} and data["error"] == data["lines"][0]
    return data


NO_WORKSPACE = "no skiplists/suites.toml here or in any parent directory"


@pytest.mark.parametrize(
    "command",
    [
        ["sessions", "--json"],
        ["argv", "--json", "cuda-unit"],
        ["explain", "--json", "tests/x.py"],
        ["audit", "--json", "--platform", "cuda"],
        ["check-vllm", "--json", "test-amd.yaml"],
    ],
    ids=lambda c: c[0],
)
def test_a_workspace_error_under_json_is_a_json_object(tmp_path, command):
    (tmp_path / "test-amd.yaml").write_text("steps: []\n")
    result = cli(tmp_path, "--root", tmp_path, *command)
    assert result.returncode == 2
    assert json_error(result) == {
        "error": f"{tmp_path}: {NO_WORKSPACE}",
        "lines": [f"{tmp_path}: {NO_WORKSPACE}"],
    }


@pytest.mark.parametrize(
    "command",
    [
        ["import", "--json", "gone.yaml"],
        ["check-vllm", "--json", "gone.yaml"],
        ["export", "--format", "vllm", "--check", "--json", "gone.yaml"],
    ],
    ids=["import", "check-vllm", "export"],
)
def test_a_missing_ci_file_under_json_is_a_json_object(tiny, command):
    root = tiny({})
    result = cli(root, *command)
    assert result.returncode == 2
    assert json_error(result)["error"] == "gone.yaml: no such file or directory"


def test_every_line_of_a_multi_line_error_is_kept(tiny):
    root = tiny(
        {
            "skiplists/suites.toml": """
                [suites.unit]
                path = "tests/unit"
                gpus = "two"
                markexpr = 5
            """
        }
    )
    plain = cli(root, "sessions")
    result = cli(root, "sessions", "--json")
    assert result.returncode == plain.returncode == 2
    data = json_error(result)
    assert len(data["lines"]) == 2
    assert plain.stderr.splitlines() == [
        f"testmatrix: error: {x}" for x in data["lines"]
    ]


def test_a_usage_error_under_json_is_a_json_object(tmp_path):
    result = cli(tmp_path, "sessions", "--json", "--bogus")
    assert result.returncode == 2
    assert json_error(result) == {
        "error": "unrecognized arguments: --bogus",
        "lines": ["unrecognized arguments: --bogus"],
    }


def test_without_json_errors_stay_lines_on_stderr(tmp_path):
    result = cli(tmp_path, "--root", tmp_path, "sessions")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"testmatrix: error: {tmp_path}: {NO_WORKSPACE}\n"


# -- hostile inputs: one located line ----------------------------------------------


def test_deeply_nested_json_is_one_line_not_a_recursion_error(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("[" * 100_000)
    with pytest.raises(errors.TestmatrixError) as info:
        read_json(path, "testmatrix summary")
    assert (
        str(info.value) == f"{path}: testmatrix summary is not JSON: nested too deeply"
    )


def test_a_json_input_over_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "durations.json"
    path.write_text(json.dumps({"a": "x" * 2048}))
    with pytest.raises(errors.TestmatrixError) as info:
        read_json(path, "durations file", limit=1024 * 1024 // 1024)
    assert str(info.value) == f"{path}: durations file is bigger than 0 MiB; not read"
    assert read_json(path, "durations file") == {"a": "x" * 2048}


@pytest.mark.parametrize("size", [0, 1, 1023, 1024])
def test_a_file_up_to_the_limit_is_read_whole_and_one_byte_more_refused(tmp_path, size):
    path = tmp_path / "data"
    path.write_bytes(b"x" * size)
    assert read_bytes(path, "data", limit=1024) == b"x" * size
    path.write_bytes(b"x" * 1025)
    with pytest.raises(errors.TestmatrixError, match="bigger than"):
        read_bytes(path, "data", limit=1024)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_an_endless_json_input_is_refused_not_read_forever(tmp_path, kind):
    path = tmp_path / "summary.json"
    if kind == "fifo":
        os.mkfifo(path)  # no writer: opening it to read would wait forever
    else:
        path.symlink_to("/dev/zero")  # would read forever
    result = cli(tmp_path, "report", path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"testmatrix: error: {path}: testmatrix summary is not a regular file"
    )


@pytest.mark.parametrize("entry", [[1], "x", 5])
def test_a_summary_entry_that_is_not_a_table_is_one_line(tmp_path, entry):
    path = tmp_path / "summary.json"
    summary = {"platform": "rocm", "suite": "s", "exitstatus": 0, "counts": {}}
    path.write_text(json.dumps({**summary, "entries": {"rocm.toml:3": entry}}))
    result = cli(tmp_path, "report", path)
    assert result.returncode == 2 and "Traceback" not in result.output
    assert result.stderr == (
        f"testmatrix: error: {path}:1: 'entries.rocm.toml:3' must be a table (the "
        "entry's record)\n"
    )


@pytest.mark.parametrize(
    "key, value, line",
    [
        ("env", '{ A = "x\\u0000y" }', "'env' in [suites.unit] 'A' holds a NUL byte"),
        ("args", '["-k", "a\\u0000"]', "'args' in [suites.unit] holds a NUL byte"),
    ],
)
def test_a_nul_byte_in_a_suite_is_one_located_line(tiny, key, value, line):
    suites = f'[suites.unit]\npath = "tests/unit"\n{key} = {value}\n'
    root = tiny({"skiplists/suites.toml": suites})
    result = cli(root, "argv", "cuda-unit")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(
        f"testmatrix: error: skiplists/suites.toml:3: {line}"
    )
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_skiplist_that_never_ends_is_one_line_not_a_hang(tiny, kind):
    root = tiny({})
    path = root / "skiplists" / "platforms" / "rocm.toml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    result = cli(root, "sessions")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "testmatrix: error: skiplists/platforms/rocm.toml: skiplist is not a regular "
        "file\n"
    )
