"""What a session's fresh environment installs (nox's and tox's alike): the
workspace's `install` and the testmatrix running it, unless the workspace is a
testmatrix checkout, whose `install` installs it."""

from __future__ import annotations

from pathlib import Path

from testmatrix.config.loader import load_workspace
from testmatrix.core.facts import Origin
from testmatrix.core.session import install_args
from testmatrix.system.installed import is_own_project

ELSEWHERE = Origin("0.1.0", source=Path("/opt/testmatrix-checkout"))


def test_a_project_gets_the_running_testmatrix_beside_its_install(tiny):
    root = tiny({})
    assert not is_own_project(root)
    workspace = load_workspace(root)
    assert install_args(workspace, ELSEWHERE) == [
        ".",
        "pytest-testmatrix @ file:///opt/testmatrix-checkout",
    ]
    from_index = install_args(workspace, Origin("0.1.0"), extras="tox")
    assert from_index == [".", "pytest-testmatrix[tox]==0.1.0"]


def test_a_copy_of_testmatrix_installs_itself_only(workspace):
    """Two testmatrix requirements (the copy's `.` and the running one) conflict:
    the adapters probe whether the workspace is one and tell the core."""
    assert is_own_project(workspace)
    own = install_args(load_workspace(workspace), ELSEWHERE, own_project=True)
    assert own == ["."]
