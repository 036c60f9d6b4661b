"""What `export --format vllm` writes into vLLM's CI runs as the session does: vLLM's
pipeline hands AMD commands to run-amd-test.sh inside double quotes after the
upload's interpolation, so a pytest-style command that holds what those would read
($, backquotes, quotes, backslashes, newlines) is refused with its location; the
nox style names only the session."""

from __future__ import annotations

import re
import subprocess

import pytest

from selftest.buildkite.test_export_injection import hostile_workspace
from testmatrix import errors
from testmatrix.config.loader import load_workspace
from testmatrix.core.model import Target
from testmatrix.vllm.export import UNSAFE_IN_WRAPPER, _runs


def test_a_hostile_suite_is_refused_in_pytest_style_and_named_in_nox_style(tiny):
    workspace = load_workspace(hostile_workspace(tiny, None))
    target = Target(workspace.platforms["rocm"])
    suite = workspace.suites["unit"]
    with pytest.raises(errors.TestmatrixError) as refused:
        _runs(workspace, target, suite, "pytest")
    assert re.search(r"skiplists/suites\.toml:\d+: suite unit's", str(refused.value))
    assert "--style nox" in str(refused.value)
    assert _runs(workspace, target, suite, "nox") == "nox --no-venv -s rocm-unit"


@pytest.mark.slow
def test_a_plain_suite_reaches_pytest_intact_through_the_wrapper(tiny, tmp_path):
    """What is not refused survives vLLM's form: `bash -c "<command>"`."""
    root = tiny({"tests/unit/test_a.py": "def test_a():\n    pass\n"})
    workspace = load_workspace(root)
    command = _runs(
        workspace,
        Target(workspace.platforms["cuda"]),
        workspace.suites["unit"],
        "pytest",
    )
    assert not set(command) & UNSAFE_IN_WRAPPER
    record = tmp_path / "argv"
    fake = tmp_path / "pytest"
    fake.write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", "-c", f'bash -c "{command}"'],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert record.read_text().splitlines() == command.split()[1:]
