"""What a session's fresh environment installs (nox's and tox's alike): the
workspace's `install` and the testmatrix running it, unless the workspace is a
testmatrix checkout, whose `install` installs it."""

from __future__ import annotations

from pathlib import Path

from testmatrix.config import load_workspace
from testmatrix.installed import Origin
from testmatrix.plan import install_args

ELSEWHERE = Origin("0.1.0", source=Path("/opt/testmatrix-checkout"))


def test_a_project_gets_the_running_testmatrix_beside_its_install(tiny):
    workspace = load_workspace(tiny({}))
    assert install_args(workspace, ELSEWHERE) == [
        ".",
        "pytest-testmatrix @ file:///opt/testmatrix-checkout",
    ]
    from_index = install_args(workspace, Origin("0.1.0"), extras="tox")
    assert from_index == [".", "pytest-testmatrix[tox]==0.1.0"]


def test_a_copy_of_testmatrix_installs_itself_only(workspace):
    """Two testmatrix requirements (the copy's `.` and the running one) conflict."""
    assert install_args(load_workspace(workspace), ELSEWHERE) == ["."]
