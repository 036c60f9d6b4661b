"""Bad input, one table: each case is one line naming the file (and line where there
is one), a non-zero exit, and no traceback; before any test runs where that can be
known before."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from testmatrix import cli

SUMMARY = {"platform": "rocm", "suite": "unit", "counts": {"passed": 1}}


@dataclass(frozen=True)
class Case:
    setup: Callable[[Path], None]  # makes the bad input in a small workspace
    argv: tuple[str, ...]  # testmatrix's arguments
    expected: str  # the one line on stderr, from {root}


def _write(rel: str, data: bytes | str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)

    return setup


def _each(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for one in setups:
            one(root)

    return setup


def _link_out(root: Path) -> None:
    outside = root.parent / "elsewhere"
    outside.mkdir()
    (outside / "test_far.py").write_text("def test_far(): pass\n")
    (root / "tests/linked").symlink_to(outside)
    suites = root / "skiplists/suites.toml"
    suites.write_text(suites.read_text() + '\n[suites.far]\npath = "tests/linked"\n')


CASES = {
    "skiplist not UTF-8": Case(
        _write(
            "skiplists/platforms/cuda.toml",
            b'[platform]\nhardware = "cuda"\ndescription = "caf\xe9"\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/platforms/cuda.toml:3: skiplist is not UTF-8 "
        "text (byte 0xe9 at offset 47); save it as UTF-8",
    ),
    "summary not UTF-8": Case(
        _write("s.json", b'{"platform": "caf\xe9"}'),
        ("report", "s.json"),
        "testmatrix: error: s.json:1: testmatrix summary is not UTF-8 text (byte 0xe9 "
        "at offset 17); save it as UTF-8",
    ),
    "summary without exitstatus": Case(
        _write("s.json", json.dumps(SUMMARY)),
        ("report", "s.json"),
        "testmatrix: error: s.json:1: not a testmatrix summary (no 'exitstatus'); a "
        "session writes one with --summary-json",
    ),
    "summary not JSON": Case(
        _write("s.json", '{"platform": "rocm",\n  "counts": }'),
        ("report", "s.json"),
        "testmatrix: error: s.json:2: testmatrix summary is not JSON: Expecting value",
    ),
    "report into a missing folder": Case(
        _write("s.json", json.dumps({**SUMMARY, "exitstatus": 0})),
        ("report", "s.json", "-o", "no/such/matrix.md"),
        "testmatrix: error: no/such/matrix.md: folder 'no/such' does not exist",
    ),
    "export into a missing folder": Case(
        lambda root: None,
        ("export", "-o", "no/such/pipeline.yml"),
        "testmatrix: error: no/such/pipeline.yml: folder 'no/such' does not exist",
    ),
    "a suite path leading out through a symlink": Case(
        _link_out,
        ("sessions",),
        "testmatrix: error: skiplists/suites.toml:5: suite 'far': 'tests/linked' "
        "leads out of the workspace through a symbolic link (to {root.parent}"
        "/elsewhere)",
    ),
    "pipeline not UTF-8": Case(
        _write("p.yml", b'steps:\n- label: "caf\xe9"\n  command: pytest tests\n'),
        ("import", "p.yml", "--platform", "cuda"),
        "testmatrix: error: p.yml:2: pipeline is not UTF-8 text (byte 0xe9 at offset "
        "20); save it as UTF-8",
    ),
    "a NUL byte in a suite's env": Case(
        _write(
            "skiplists/suites.toml",
            '[suites.unit]\npath = "tests/unit"\nenv = { A = "x\\u0000y" }\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/suites.toml:3: 'env' in [suites.unit] 'A' holds "
        "a NUL byte, which no path, argument or environment variable can hold",
    ),
    "durations outside the workspace": Case(
        _write(
            "skiplists/suites.toml",
            '[suites.unit]\npath = "tests/unit"\ndurations = "../../d.json"\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/suites.toml:3: path '../../d.json' leaves the "
        "workspace",
    ),
    "a lease variable that hands out no devices": Case(
        _write(
            "skiplists/platforms/cuda.toml",
            '[platform]\nhardware = "cuda"\nvisible_devices_env = "PATH"\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/platforms/cuda.toml:3: 'visible_devices_env' in "
        "[platform] must name a device-visibility variable (upper case, with _VISIBLE_ "
        "in it, like CUDA_VISIBLE_DEVICES or HIP_VISIBLE_DEVICES), got 'PATH': a "
        "session sets it to the GPUs it leases",
    ),
    "a variant matching nothing": Case(
        _write("skiplists/platforms/cuda.toml", "[variants.h100]\nmatch = []\n"),
        ("sessions",),
        "testmatrix: error: skiplists/platforms/cuda.toml:2: 'match' in "
        "[variants.h100] must be a non-empty list of non-empty strings, got an empty "
        "array",
    ),
    "an ignore of no paths": Case(
        _write(
            "skiplists/platforms/cuda.toml",
            '[[ignore]]\nsuite = "unit"\npaths = []\nreason = "r"\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/platforms/cuda.toml:3: 'paths' in [[ignore]] "
        "entry must be a relative path or a non-empty list of relative paths, got an "
        "empty array",
    ),
    "a skip of no models": Case(
        _write(
            "skiplists/platforms/cuda.toml",
            '[[skip]]\nmarker = "m"\nmodels = []\nreason = "r"\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/platforms/cuda.toml:3: 'models' in [[skip]] "
        "entry must be a non-empty string or a non-empty list of non-empty strings, "
        "got an empty array",
    ),
    "a rerun delay of 1e308 seconds": Case(
        _write(
            "skiplists/platforms/cuda.toml",
            '[[flaky]]\ntest = "tests/unit"\ndelay = 1e308\nreason = "r"\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/platforms/cuda.toml:3: 'delay' in [[flaky]] "
        "entry must be a number of seconds from 0 to 3600, got 1e+308",
    ),
    "a broken glob in a flaky test": Case(
        _write(
            "skiplists/platforms/cuda.toml",
            '[[flaky]]\ntest = "tests/unit/*[a"\nreason = "r"\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/platforms/cuda.toml:2: 'test' in [[flaky]] entry "
        "is not a valid test glob: '[' at column 13 opens a class that is never "
        "closed (write '[[]' for a literal '[')",
    ),
    "a catastrophic fails.match": Case(
        _write(
            "skiplists/platforms/cuda.toml",
            '[[deselect]]\ntest = "tests/unit"\nreason = "r"\n'
            'fails = { error = "E", match = "(a+)+$" }\n',
        ),
        ("sessions",),
        "testmatrix: error: skiplists/platforms/cuda.toml:4: 'match' in 'fails' in "
        "[[deselect]] entry is not a safe message pattern: '(' (column 1): groups are "
        "not in the language (no groups, lookarounds or repeated groups); write \\( "
        "or \\) for the character",
    ),
    "a TOML syntax error, and nothing it entails": Case(
        _each(
            _write("skiplists/suites.toml", "[suites.unit\n"),
            _write("tests/unit/test_a.py", "def test_a(): pass\n"),
            _write(
                "skiplists/platforms/cuda.toml",
                '[[ignore]]\nsuite = "unit"\npath = "x.py"\nreason = "r"\n'
                '[[deselect]]\ntest = "tests/unit/test_a.py"\nreason = "r"\n',
            ),
        ),
        ("sessions",),
        "testmatrix: error: skiplists/suites.toml:1: invalid TOML: Expected ']' at the "
        "end of a table declaration",
    ),
    "an unknown session": Case(
        lambda root: None,
        ("argv", "cuda-unti"),
        "testmatrix: error: unknown session 'cuda-unti' (did you mean 'cuda-unit'?); "
        "known: cuda-unit",
    ),
}


def _run(root: Path, argv: tuple[str, ...]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_located_line(tiny, name):
    case = CASES[name]
    root = tiny({})
    case.setup(root)
    code, _, err = _run(root, case.argv)
    assert code == 2
    assert err.splitlines() == [case.expected.format(root=root)]


def test_a_missing_optional_extra_says_what_to_install(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    code, _, err = _run(tiny({}), ("export", "-o", "-"))
    assert code == 2
    assert err.startswith(
        "testmatrix: error: 'testmatrix export' needs the optional 'buildkite' "
        "dependencies (no module yaml): pip install '"
    )
    assert err.rstrip().endswith("[buildkite]'") and len(err.splitlines()) == 1


def test_version(tiny):
    from testmatrix import __version__

    with pytest.raises(SystemExit) as info, contextlib.redirect_stdout(io.StringIO()):
        cli.main(["--version"])
    assert info.value.code == 0
    assert __version__.count(".") == 2


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(tiny):
    import subprocess

    root = tiny({})
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line, as `| head -0`
    proc = subprocess.run(
        [sys.executable, "-m", "testmatrix", "sessions"],
        cwd=root,
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[2])},
    )
    os.close(write)
    assert proc.returncode == 141 and proc.stderr == ""


def test_a_dollar_in_a_path_reaches_pytest_as_written(tiny):
    """Buildkite interpolates $VAR at upload and bash at run time: a path holding a
    '$' must survive both, or its --ignore silently matches nothing."""
    import shlex

    from testmatrix.buildkite.export import build_pipeline
    from testmatrix.config.loader import load_workspace

    root = tiny(
        {
            "tests/unit/test_a$b.py": "def test_x(): pass\n",
            "tests/unit/test_c.py": "def test_y(): pass\n",
            "skiplists/platforms/cuda.toml": """
                [platform]
                hardware = "cuda"

                [[ignore]]
                suite = "unit"
                path = "test_a$b.py"
                reason = "r"
            """,
        }
    )
    pipeline = build_pipeline(load_workspace(root), style="pytest")
    (step,) = [s for g in pipeline["steps"] for s in g.get("steps", [])]
    uploaded = step["command"].replace("$$", "$")  # what Buildkite's upload leaves
    words = shlex.split(uploaded)  # what bash hands pytest: quotes keep the '$'
    assert "--ignore=tests/unit/test_a$b.py" in words


PYTEST_CASES = {
    "no shards": (
        ("--testmatrix-num-shards=0", "--testmatrix-shard-id=0"),
        "ERROR: --testmatrix-num-shards=0 must be at least 1",
    ),
    "a shard count without a shard": (
        ("--testmatrix-num-shards=3",),
        "ERROR: --testmatrix-num-shards and --testmatrix-shard-id go together: give "
        "both (shard K of N, 0-based)",
    ),
    "a durations file that never ends": (
        (
            "--testmatrix-num-shards=2",
            "--testmatrix-shard-id=0",
            "--testmatrix-shard-durations=/dev/zero",
        ),
        "ERROR: /dev/zero: durations file is not a regular file",
    ),
    "a summary under a file": (
        ("--summary-json=pytest.ini/summary.json",),
        "ERROR: pytest.ini/summary.json: cannot write the summary: 'pytest.ini' is a "
        "file, not a folder",
    ),
    "a JUnit report under a file": (
        ("--junitxml=pytest.ini/junit.xml",),
        "ERROR: pytest.ini/junit.xml: cannot write the JUnit report: 'pytest.ini' is "
        "a file, not a folder",
    ),
}


@pytest.mark.parametrize("name", list(PYTEST_CASES))
def test_bad_options_stop_pytest_before_any_test(inprocess, tiny, name):
    args, expected = PYTEST_CASES[name]
    root = tiny({"tests/unit/test_a.py": "def test_a(): pass\n"})
    result = inprocess(root, "tests/unit", "--platform=cuda", *args)
    assert result.returncode == 4
    assert [line for line in result.stderr.splitlines() if line] == [expected]
    assert "passed" not in result.stdout


def test_a_selection_the_skiplist_empties_passes_and_says_why(inprocess, tiny):
    root = tiny(
        {
            "tests/unit/test_a.py": "def test_a(): pass\n",
            "skiplists/platforms/cuda.toml": """
                [platform]
                hardware = "cuda"

                [[ignore]]
                suite = "unit"
                path = "test_a.py"
                reason = "r"
            """,
        }
    )
    result = inprocess(root, "tests/unit", "--platform=cuda")
    assert result.returncode == 0
    assert (
        "nothing to run here, and that is the plan: 1 paths ignored on cuda "
        "(exit 0, not pytest's 5)" in result.stdout
    )
    # an empty selection of the user's own making stays pytest's exit 5
    mine = inprocess(root, "tests/unit", "--platform=none", "-k", "nothing")
    assert mine.returncode == 5


def test_a_failed_shard_keeps_its_session_red_and_is_named(tiny):
    shard = {**SUMMARY, "target": "rocm", "suite": "unit"}
    summaries = {
        "s0.json": {**shard, "exitstatus": 0, "shard": {"id": 0, "count": 3}},
        "s2.json": {**shard, "exitstatus": 1, "shard": {"id": 2, "count": 3}},
    }
    root = tiny({name: json.dumps(data) for name, data in summaries.items()})
    code, out, _ = _run(root, ("report", "s0.json", "s2.json"))
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("| unit "))
    assert row.startswith(
        "| unit | :x: 2 passed, 2 of 3 shards reported, shard 2 failed"
    )
