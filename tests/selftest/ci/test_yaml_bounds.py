"""A CI file whose aliases expand without bound, or into themselves, is one line,
not a hang (issue 20: bounded everything): check-vllm, import and the vLLM export
read no further."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from testmatrix import errors
from testmatrix.ci.yamlsrc import MAX_EXPANDED, check_expansion, compose


def bomb(levels: int) -> str:
    """A "billion laughs" pipeline: each anchor lists the one before it nine times."""
    lines = ['a0: &a0 ["pytest tests", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    steps = f"steps:\n- label: x\n  agent_pool: mi300_1\n  commands: *a{levels}\n"
    return "\n".join(lines) + "\n" + steps


def test_aliases_that_expand_past_the_bound_are_refused_at_once(tmp_path: Path):
    path = tmp_path / "test-amd.yaml"
    path.write_text(bomb(8))  # 9**9 commands once expanded
    started = time.monotonic()
    _, root = compose(path)
    with pytest.raises(errors.TestmatrixError) as info:
        check_expansion(root, "test-amd.yaml")
    assert str(info.value) == (
        f"test-amd.yaml: its aliases expand to more than {MAX_EXPANDED} nodes; not read"
    )
    assert time.monotonic() - started < 2


def test_aliases_within_the_bound_are_read(tmp_path: Path):
    path = tmp_path / "test-amd.yaml"
    path.write_text(bomb(3))  # 9**4 nodes: fine
    _, root = compose(path)
    check_expansion(root, "test-amd.yaml")  # no error


def test_an_alias_to_the_node_holding_it_is_refused(tmp_path: Path):
    path = tmp_path / "test-amd.yaml"
    path.write_text("steps: &a\n- label: x\n  agent_pool: mi300_1\n  commands: *a\n")
    _, root = compose(path)
    with pytest.raises(errors.TestmatrixError) as info:
        check_expansion(root, "test-amd.yaml")
    assert str(info.value) == (
        "test-amd.yaml:1: an alias refers to the node that holds it (a recursive "
        "structure); not read"
    )


def test_check_vllm_refuses_the_bomb_in_one_line(tmp_path: Path, tiny):
    from selftest.vllm.test_format import cli

    root = tiny({})
    (root / "test-amd.yaml").write_text(bomb(8))
    result = cli(root, "check-vllm", "test-amd.yaml")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"testmatrix: error: test-amd.yaml: its aliases expand to more than "
        f"{MAX_EXPANDED} nodes; not read\n"
    )


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_ci_file_that_never_ends_is_refused_not_read(tmp_path: Path, kind):
    path = tmp_path / "test-amd.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # no writer: opening it to read would wait forever
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(errors.TestmatrixError) as info:
        compose(path, "test-amd.yaml")
    assert str(info.value) == "test-amd.yaml: pipeline is not a regular file"
