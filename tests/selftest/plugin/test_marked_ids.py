"""Marked tests of a function some of whose tests deselects name: while collecting,
each one's node id is looked up by the rest of its id past the function part
(`Rules.marked_ids`), and the others share their function's plan. Every test's
fate and every left-out test's record are what Rules.fate gives its reference
reading, on every target, and the function-level path is the one taken."""

from __future__ import annotations

import pytest

from selftest.plugin.test_items import assert_reference_fates, on_target
from testmatrix.plugin.plans import IdsFirst

MODELS = ["org/enc-a", "org/enc-b", "org/dec-c", "org/dec-d", "org/dec-e"]

TESTS = f"""
import pytest

MODELS = {MODELS!r}


@pytest.mark.encoder_only
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dtype", ["half", "float"])
def test_models(model, dtype):
    pass


class TestServing:
    pytestmark = pytest.mark.encoder_only

    @pytest.mark.parametrize("model", MODELS)
    def test_serve(self, model):
        pass


@pytest.mark.encoder_only
@pytest.mark.parametrize("model", MODELS)
def test_flaky_here(model):
    pass


@pytest.mark.encoder_only
def test_plain():
    pass
"""

ROCM = """
[platform]
hardware = "rocm"

[variants.mi300]
match = ["gfx942"]

[[skip]]
marker = "encoder_only"
models = ["org/enc-a", "org/enc-b"]
reason = "encoder self-attention is not implemented"

[[deselect]]
tests = [
    "tests/unit/test_m.py::test_models[half-org/dec-c]",
    "tests/unit/test_m.py::test_models[float-org/enc-a]",
    "tests/unit/test_m.py::TestServing::test_serve[org/dec-d]",
]
reason = "wrong output"

[[deselect]]
test = "tests/unit/test_m.py::test_models[float-org/dec-d]"
variants = ["mi300"]
reason = "wrong output on MI300"

[[deselect]]
test = "tests/unit/test_m.py::test_models[half-org/dec-e"
reason = "an open prefix"

[[deselect]]
test = "tests/unit/test_m.py::TestServing::test_serve[org/dec-e]"
reason = "fails with its own error"
fails = { error = "RuntimeError" }

[[flaky]]
test = "tests/unit/test_m.py::test_flaky_here*"
reason = "times out"
"""


class _Plans:
    def __init__(self) -> None:
        self.plans: list[object] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from testmatrix.plugin.state import STATE

        self.plans = list(session.config.stash[STATE].decider.plans.values())


@pytest.mark.parametrize("target", ["rocm", "rocm:mi300"])
def test_marked_tests_named_by_deselects_get_rules_fate(tiny, target):
    root = tiny(
        {
            "tests/unit/test_m.py": TESTS,
            "skiplists/platforms/rocm.toml": ROCM,
        }
    )
    plans = _Plans()
    ran, rules, relevant = on_target(root, target, plugins=(plans,))
    kinds = assert_reference_fates(ran, rules, root, relevant)
    left_out = {i.nodeid.rsplit("::", 1)[1] for i in ran.left_out_items}
    expected = {"test_models[half-org/dec-c]", "test_models[float-org/enc-a]"}
    expected |= {"test_serve[org/dec-d]", "test_models[half-org/dec-e]"}
    if target == "rocm:mi300":
        expected.add("test_models[float-org/dec-d]")
    assert left_out == expected
    assert {"runs", "skipped", "expected-fail"} <= set(kinds)
    # the function-level path decided test_models and test_serve; the function
    # a flaky pattern may name was read test by test
    assert sum(isinstance(p, IdsFirst) for p in plans.plans) == 2
