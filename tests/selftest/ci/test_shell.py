"""The shell command parser behind `testmatrix import`: pure functions over strings."""

from __future__ import annotations

import pytest

from testmatrix.ci.shell import (
    SELECTION_UNMAPPED,
    PytestCall,
    Shell,
    exports,
    parse_pytest,
    pytest_argv,
    pytest_call,
    pytest_runner,
    read_pytest,
    split_commands,
    under_root,
)


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        (
            "pip install -e . && pytest -v tests/a",
            ["pip install -e .", "pytest -v tests/a"],
        ),
        ("pytest a || true", ["pytest a", "true"]),
        ("cd tests; pytest a\npytest b", ["cd tests", "pytest a", "pytest b"]),
        # each command of a pipe is a command of its own
        ("pytest t | tee log.txt", ["pytest t", "tee log.txt"]),
        # separators inside quotes belong to the argument
        ("pytest -k 'a && b' t", ["pytest -k 'a && b' t"]),
        ('pytest -m "x; y|z" t', ['pytest -m "x; y|z" t']),
        ("", []),
        (" ; && \n", []),
    ],
)
def test_split_commands_at_separators(text, commands):
    assert split_commands(text) == commands


def test_split_commands_joins_backslash_continuations():
    text = "pytest tests \\\n  --ignore=a.py \\\n  --ignore=b.py\necho done"
    (pytest_cmd, echo) = split_commands(text)
    assert pytest_cmd.split() == ["pytest", "tests", "--ignore=a.py", "--ignore=b.py"]
    assert echo == "echo done"


def test_split_commands_joins_continuations_yaml_already_folded():
    # in a plain YAML scalar the newline after the backslash is already a space
    assert split_commands("pytest tests \\ --ignore=a.py").pop().split() == [
        "pytest",
        "tests",
        "--ignore=a.py",
    ]


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("pytest -v tests", ["-v", "tests"]),
        ("pytest", []),
        (".venv/bin/pytest tests", ["tests"]),
        ("python -m pytest tests", ["tests"]),
        ("/usr/bin/python3.12 -m pytest tests", ["tests"]),
        # wrappers and runners in front of pytest
        ("timeout 30m pytest tests", ["tests"]),
        ("time nohup exec pytest tests", ["tests"]),
        ("uv run pytest tests", ["tests"]),
        ("poetry run python -m pytest tests", ["tests"]),
        # environment assignments, bare or behind env
        ("VAR=1 pytest -x tests", ["-x", "tests"]),
        ("env A=1 B=2 timeout 600 pytest tests", ["tests"]),
    ],
)
def test_pytest_argv_behind_wrappers(command, argv):
    assert pytest_argv(command) == argv


@pytest.mark.parametrize(
    "command",
    [
        "python -m pip install x",
        "echo pytest",
        "VAR=1",
        "timeout 30m",
        "",
        "pytest 'unclosed",  # not shell: shlex cannot split it
    ],
)
def test_pytest_argv_none_when_not_pytest(command):
    assert pytest_argv(command) is None


@pytest.mark.parametrize(
    "command",
    [
        "pytest tests > log.txt 2>&1",
        "pytest tests >log.txt",
        "pytest tests >> log.txt",
        "pytest tests 2> err.txt",
        "pytest tests &> log.txt",
        "pytest tests < /dev/null",
    ],
)
def test_pytest_argv_drops_redirections(command):
    assert pytest_argv(command) == ["tests"]


def test_pytest_argv_drops_comments():
    assert pytest_argv("pytest tests # --ignore=tests/a.py") == ["tests"]


def test_pytest_argv_unescapes_template_quotes():
    # written for a template that wraps the command in "...": quotes when it runs
    assert pytest_argv('pytest -m \\"not vlm\\" tests') == ["-m", "not vlm", "tests"]


def test_parse_pytest_paths_ignores_and_unmapped_flags():
    argv = [
        "tests",
        "--ignore",
        "tests/a.py",
        "--ignore=tests/b",
        "-k",
        "x or y",
        "-m=slow",
        "--shard-id=1",
        "--num-shards",
        "4",
        "-n",
        "8",
        "-v",
        "--ignore-glob",
        "*.py",
        "--deselect",
        "tests/c.py::test_x",
    ]
    assert parse_pytest(argv) == (
        ["tests"],
        ["tests/a.py", "tests/b"],
        [
            "-k x or y",
            "-m=slow",
            "--shard-id=1",
            "--num-shards 4",
            "--ignore-glob *.py",
            "--deselect tests/c.py::test_x",
        ],
    )


def test_parse_pytest_option_values_are_not_paths():
    assert parse_pytest(["-n", "8", "--tb", "short", "-x", "a", "b"]) == (
        ["a", "b"],
        [],
        [],
    )


def test_parse_pytest_flag_without_its_value():
    assert parse_pytest(["--ignore"]) == ([], [""], [])
    assert parse_pytest(["-k"]) == ([], [], ["-k"])


def test_shell_follows_cd_pushd_popd():
    shell = Shell("tests", "/ws")
    assert shell.run("cd models")
    assert shell.cwd == "tests/models"
    assert shell.run("pushd ../kernels")
    assert (shell.cwd, shell.stack) == ("tests/kernels", ["tests/models"])
    assert shell.run("popd")
    assert (shell.cwd, shell.stack) == ("tests/models", [])
    assert shell.run("cd /ws/benchmarks")  # absolute, under the checkout root
    assert shell.cwd == "benchmarks"
    assert shell.lost == ""


def test_shell_ignores_other_commands():
    shell = Shell("tests", None)
    assert not shell.run("pytest models")
    assert not shell.run("echo cd models")
    assert not shell.run("cd 'unclosed")
    assert shell.cwd == "tests"


def test_shell_loses_the_directory_outside_the_root_and_keeps_the_cause():
    shell = Shell("tests", "/ws")
    assert shell.run("cd /elsewhere")
    assert (shell.cwd, shell.lost) == (None, "cd /elsewhere")
    # a relative cd from an unknown directory is still unknown; the cause stays
    assert shell.run("cd tests")
    assert (shell.cwd, shell.lost) == (None, "cd /elsewhere")


@pytest.mark.parametrize("command", ["cd", "cd -", "cd ~/x", "cd $HOME", "popd"])
def test_shell_directory_unknown(command):
    shell = Shell("tests", None)
    assert shell.run(command)
    assert (shell.cwd, shell.lost) == (None, command)


@pytest.mark.parametrize(
    ("path", "root", "relative"),
    [
        ("/ws/tests", "/ws", "tests"),
        ("/ws", "/ws", "."),
        ("/ws/a/../b/", "/ws/", "b"),
        ("/wsx/a", "/ws", None),  # a sibling that shares the prefix
        ("/ws/../x", "/ws", None),
        ("/a/b", None, "a/b"),  # no root: the file system root
    ],
)
def test_under_root(path, root, relative):
    assert under_root(path, root) == relative


def test_pytest_call_keeps_the_assignments_in_front_of_pytest():
    call = pytest_call("A=1 B='x y' timeout 30 env C=2 pytest -v t > log.txt 2>&1")
    assert call == PytestCall((("A", "1"), ("B", "x y"), ("C", "2")), ("-v", "t"))
    assert pytest_call("A=1 python3 tool.py") is None


@pytest.mark.parametrize(
    ("command", "found"),
    [
        ("export A=1", {"A": "1"}),
        ("export A=1 B='x y'", {"A": "1", "B": "x y"}),
        (
            "export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True",
            {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"},
        ),
        ("export A", {}),  # a shell variable: its value is not known here
        ("A=1", None),  # not exported
        ("echo export A=1", None),
    ],
)
def test_exports(command, found):
    assert exports(command) == found


@pytest.mark.parametrize(
    ("command", "runner"),
    [
        ("xargs -0 -n1 -I{} pytest -s -v '{}'", "xargs"),
        ("find compile/ -name 'test_*.py' -exec pytest -s -v {} \\\\;", "find"),
        ('./run.sh /ws 2 2 "A=1 pytest -v x && b"', "./run.sh"),
        ("pip install pytest-asyncio", None),
        ("bash standalone_tests/python_only_compile.sh", None),
    ],
)
def test_pytest_runner_names_what_runs_pytest_inside(command, runner):
    assert pytest_runner(command) == runner


def test_read_pytest_sorts_every_argument():
    argv = [
        "-v", "-s", "kernels/moe", "--ignore=kernels/moe/a.py", "--ignore",
        "kernels/moe/b", "--deselect", "kernels/moe/c.py::t", "-m", "not slow",
        "-m", "core_model", "-k", "x or y",
        "--shard-id=$$BUILDKITE_PARALLEL_JOB", "--num-shards", "4",
        "-x", "-vs", "-rA", "--tb=short", "--durations", "10", "--maxfail=3",
        "-n", "8", "--config-list-file=configs/a.txt", "--forked",
        "--ignore-glob=*_slow.py", "kernels/test_x.py",
    ]  # fmt: skip
    found = read_pytest(argv)
    assert found.paths == ("kernels/moe", "kernels/test_x.py")
    assert found.ignores == ("kernels/moe/a.py", "kernels/moe/b")
    assert found.deselects == ("kernels/moe/c.py::t",)
    assert (found.markexpr, found.keyword) == ("core_model", "x or y")  # last wins
    assert found.shard == ("--shard-id=$$BUILDKITE_PARALLEL_JOB", "--num-shards 4")
    assert found.kept == ("-n", "8", "--config-list-file=configs/a.txt", "--forked")
    assert found.dropped == (
        "-v", "-s", "-x", "-vs", "-rA", "--tb=short", "--durations 10",
        "--maxfail=3",
    )  # fmt: skip
    assert found.unmapped == (
        ("--ignore-glob=*_slow.py", SELECTION_UNMAPPED["--ignore-glob"]),
    )


def test_read_pytest_attached_expressions():
    assert read_pytest(["-mslow", "-k=abc"]).markexpr == "slow"
    assert read_pytest(["-mslow", "-k=abc"]).keyword == "abc"


def test_read_pytest_a_custom_options_value_is_no_path():
    argv = ["tests/evals/test_x.py", "--model", "org/m", "--metric", "0.5", "--forked"]
    assert read_pytest(argv).paths == ("tests/evals/test_x.py", "org/m", "0.5")
    known = read_pytest(argv, is_path=lambda word: word.startswith("tests/"))
    assert known.paths == ("tests/evals/test_x.py",)
    assert known.kept == ("--model", "org/m", "--metric", "0.5", "--forked")
