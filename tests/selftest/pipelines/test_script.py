"""A step's shell script into commands: comments, directories, environments, and the
wrappers that run a command elsewhere."""

from __future__ import annotations

from testmatrix.ci.yamlsrc import Source
from testmatrix.pipelines.script import Builder, Item
from testmatrix.vllm.jobs import Command


def commands(script: str, *, cwd: str = "/w", wrappers: tuple[str, ...] = ()) -> list:
    """The commands of a script written as a YAML block under `run: |`."""
    lines = ["run: |", *(f"  {line}" for line in script.strip("\n").split("\n"))]
    source = Source("\n".join(lines) + "\n")
    item = Item(script.strip("\n") + "\n", 0, len(lines) - 1)
    return Builder(source, wrappers).script([item], cwd, {"BASE": "1"})


def pytest_of(found: list[Command]) -> list[Command]:
    return [c for c in found if c.kind == "pytest"]


def test_comment_lines_are_the_note_above_the_next_command() -> None:
    found = commands(
        """
        # flaky on MI300, https://example.com/i/1
        pytest tests --ignore=tests/a.py  # beside
        pytest other
        """
    )
    first, second = pytest_of(found)
    assert first.above == ("flaky on MI300, https://example.com/i/1",)
    assert first.comment == "beside"
    assert first.flags[0].value == "tests/a.py" and first.flags[0].line == 3
    assert second.above == () and second.line == 4


def test_cd_and_export_hold_for_the_commands_after_them() -> None:
    found = commands(
        """
        cd tests && export MODE=fast
        MORE=2 pytest kernels
        """
    )
    (run,) = pytest_of(found)
    assert run.cwd == "/w/tests"
    assert dict(run.env) == {"BASE": "1", "MODE": "fast", "MORE": "2"}


def test_backslash_continuations_make_one_command() -> None:
    found = commands(
        """
        pytest -v tests \\
          --ignore=tests/a.py \\
          -m "not slow"
        """
    )
    (run,) = pytest_of(found)
    assert run.call is not None
    assert run.call.paths == ("tests",) and run.call.markexpr == "not slow"
    assert run.flags[0].line == 3


def test_docker_exec_runs_in_its_workdir_with_its_env() -> None:
    found = commands(
        "docker exec -w /ck/kernel/tests -e HIP_X=1 ci_box python3 -m pytest test_a.py"
    )
    (run,) = pytest_of(found)
    assert run.cwd == "/ck/kernel/tests"
    assert run.env["HIP_X"] == "1" and run.call and run.call.paths == ("test_a.py",)
    assert run.text.startswith("python3 -m pytest")


def test_bash_c_is_a_subshell_whose_cd_stays_inside() -> None:
    found = commands(
        """
        bash -c 'cd tests && pytest unit'
        pytest later
        """
    )
    inner, later = pytest_of(found)
    assert inner.cwd == "/w/tests" and later.cwd == "/w"


def test_a_named_wrapper_runs_the_command_after_it() -> None:
    found = commands(
        "bash ci/exec.sh -e FLAG=0 python3 -m pytest tests/x.py",
        wrappers=("ci/exec.sh",),
    )
    (run,) = pytest_of(found)
    assert run.env["FLAG"] == "0" and run.call and run.call.paths == ("tests/x.py",)
    unnamed = commands("bash ci/exec.sh python3 -m pytest tests/x.py")
    assert pytest_of(unnamed) == []


def test_a_pytest_inside_an_if_block_is_kept_with_why() -> None:
    found = commands(
        """
        if [ -n "$NIGHTLY" ]; then
          pytest slow_tests
        fi
        pytest always
        """
    )
    kept = [c for c in found if "slow_tests" in c.text]
    assert kept and kept[0].kind == "other" and "if/for/while" in kept[0].why
    assert [c.call.paths for c in pytest_of(found) if c.call] == [("always",)]


def test_github_env_lines_are_collected_for_later_steps() -> None:
    source = Source('run: echo "MODE=fast" >> $GITHUB_ENV\n')
    builder = Builder(source)
    builder.script([Item('echo "MODE=fast" >> $GITHUB_ENV', 0, 0)], "/w", {})
    assert builder.exported == {"MODE": "fast"}


def test_hostile_text_stays_text() -> None:
    found = commands(
        """
        pytest "tests/$(rm -rf /)" -k 'not x' ; echo "unbalanced
        """
    )
    (run,) = pytest_of(found)
    assert run.call is not None and run.call.paths == ("tests/$(rm -rf /)",)
    broken = [c for c in found if c.text.startswith("echo")]
    assert broken and broken[0].parsed is False


def test_known_variables_are_filled_in_as_the_shell_would() -> None:
    found = commands(
        """
        TESTS=tests/unit
        export MARK=gpu
        pytest ${TESTS} -m $MARK --shard-id=$$BUILDKITE_PARALLEL_JOB
        pytest $UNKNOWN/x
        pytest '$TESTS'
        """
    )
    first, unknown, quoted = pytest_of(found)
    assert first.call is not None
    assert first.call.paths == ("tests/unit",) and first.call.markexpr == "gpu"
    assert first.call.shard == ("--shard-id=$$BUILDKITE_PARALLEL_JOB",)
    assert first.text == "pytest ${TESTS} -m $MARK --shard-id=$$BUILDKITE_PARALLEL_JOB"
    assert unknown.call is not None and unknown.call.paths == ("$UNKNOWN/x",)
    assert quoted.call is not None and quoted.call.paths == ("$TESTS",)
    assert "TESTS" not in first.env  # a shell variable, not exported


def test_docker_run_maps_its_mounted_workdir_back_to_the_checkout() -> None:
    found = commands(
        """
        docker run --rm -v $(pwd):/ws -w /ws/tests --device=/dev/kfd img pytest unit
        docker run --rm img pytest /abs/tests
        """
    )
    mounted, unknown = pytest_of(found)
    assert mounted.cwd == "/w/tests"
    assert unknown.cwd is None and "no -w" in unknown.lost


def test_a_subshell_and_conda_run_are_read_through() -> None:
    found = commands(
        """
        (set -o pipefail && pytest -n 4 -m "cuda" tests | tee log.txt)
        micromamba run -p ./.venv pytest tests/other
        """
    )
    first, second = pytest_of(found)
    assert first.call is not None and first.call.markexpr == "cuda"
    assert second.call is not None and second.call.paths == ("tests/other",)
