"""The run's State: paths pytest collects made workspace-relative (the fast cut of
the root's prefix agrees with items.relpath), and the probes run only when asked."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from testmatrix.core.facts import Detection
from testmatrix.plugin.items import relpath
from testmatrix.plugin.state import State


def _state(root: Path, detect=lambda: Detection("none", 0, "none")) -> State:
    workspace = SimpleNamespace(root=root)  # State reads only its root here
    return State(workspace, rules=None, detect=detect, strict=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "below",
    ["tests", "tests/models/test_a.py", "tests/a b/ü.py", "conftest.py"],
)
def test_paths_below_the_root_are_workspace_relative_as_relpath_says(tmp_path, below):
    path = tmp_path / below
    assert _state(tmp_path).relpath(path) == below == relpath(path, tmp_path)


@pytest.mark.parametrize("other", ["", "..", "../sibling/test_a.py"])
def test_the_root_and_paths_outside_it_are_answered_by_relpath(tmp_path, other):
    root = tmp_path / "ws"
    path = (root / other).resolve() if other else root
    assert _state(root).relpath(path) == relpath(path, root)


def test_a_sibling_sharing_the_roots_name_as_prefix_is_outside(tmp_path):
    root = tmp_path / "ws"
    assert _state(root).relpath(tmp_path / "ws-other" / "test_a.py") is None


def test_detection_runs_only_when_asked(tmp_path):
    calls = []

    def detect() -> Detection:
        calls.append(1)
        return Detection("rocm", 2, "driver files")

    state = _state(tmp_path, detect)
    assert calls == []  # made without probing the hardware
    assert state.detection.hardware == "rocm" and state.detection.devices == 2
    assert calls  # asked: the probes ran (load_state hands State a cached detect)
