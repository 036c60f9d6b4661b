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


def test_tests_left_out_are_counted_by_record_and_a_worker_hands_over_records(
    tmp_path,
):
    """What a collection leaves out may be records, acts or a `LeftOutBy` whose
    record is made when counted: each distinct one is counted once, in the order
    first left out, and a worker hands its controller plain records, which count
    the same there."""
    from testmatrix.core.fate import Fate, FateKind, deselected_record
    from testmatrix.core.made import MadeFates
    from testmatrix.core.model import DeselectEntry, Location
    from testmatrix.plugin.decide import Act, LeftOutBy

    entry = DeselectEntry(
        "rocm", "why", None, None, Location("s.toml", 3), nodeid="t.py::f[a]"
    )
    made = MadeFates("rocm")
    fate = made.deselected_fate(entry)
    by_entry = tuple.__new__(LeftOutBy, (entry, "rocm", made))
    act = Act(Fate(FateKind.NOT_IN_SUITE, "rocm"))
    plain = {"fate": "ignored", "target": "rocm"}
    state = _state(tmp_path)
    state.left_out = [by_entry, act, by_entry, plain, act, by_entry]
    counts = state.left_out_counts()
    assert counts == [
        (deselected_record("rocm", entry), 3),
        (act.record, 2),
        (plain, 1),
    ]
    assert by_entry.fate is fate and by_entry.record == fate.record()
    controller = _state(tmp_path)
    controller.add_collected(state.collected())
    assert all(isinstance(r, dict) for r in controller.left_out)
    assert controller.left_out[0] is controller.left_out[5]  # made once an entry
    assert sorted(
        (sorted(r.items()), n) for r, n in controller.left_out_counts()
    ) == sorted((sorted(r.items()), n) for r, n in counts)
