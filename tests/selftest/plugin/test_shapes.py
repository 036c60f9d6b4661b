"""The plugin's fast paths on shapes the synthetic suite does not have: tuple
parameters with ids that hide the model, indirect fixtures, pytest_generate_tests
(in a conftest and in a module), inherited test classes and nested classes, ids
holding '[' and ']', and thousands of single-test deselects in one function. On
every target each kept test's report properties and each left-out test's record
are what Rules.fate gives the test's reference reading (pytest's iter_markers and
callspec, no caches)."""

from __future__ import annotations

from pathlib import Path

import pytest

from selftest.plugin.test_items import (
    assert_reference_fates,
    on_target,
    reference_case,
)

ENCODERS = ["org/enc-a", "org/enc-b", "org/enc-c"]
DECODERS = ["org/dec-a", "org/dec-b"]
WIDE = 1200  # one function's parametrizations, every other one deselected

CONFTEST = f"""
import pytest

MODELS = {ENCODERS + DECODERS!r}


def pytest_generate_tests(metafunc):
    if "gen_model" in metafunc.fixturenames:
        metafunc.parametrize("gen_model", MODELS)


@pytest.fixture
def llm(request):
    return request.param


@pytest.fixture(params=["default", "TRITON_ATTN"])
def backend(request):
    return request.param
"""

TEST_TUPLES = f"""
import pytest

PAIRS = [(m, d) for m in {ENCODERS + DECODERS!r} for d in ("half", "bf16")]


@pytest.mark.encoder_decoder
@pytest.mark.parametrize("model,dtype", PAIRS)
def test_tuple_params(model, dtype):
    pass


@pytest.mark.encoder_decoder
@pytest.mark.parametrize(
    ("model", "tp"),
    [("org/enc-a", 1), ("org/dec-a", 2), pytest.param("org/enc-b", 2, id="hidden")],
    ids=["a]b", "x[y", None],
)
def test_ids_hide_the_model(model, tp):
    pass


@pytest.mark.encoder_decoder
@pytest.mark.parametrize("llm", ["org/enc-c", "org/dec-b"], indirect=True)
def test_indirect(llm, backend):
    pass


@pytest.mark.encoder_decoder
def test_generated(gen_model):
    pass
"""

TEST_CLASSES = """
import pytest


class Base:
    @pytest.mark.parametrize("model", ["org/enc-a", "org/dec-a"])
    def test_inherited(self, model):
        pass


@pytest.mark.encoder_decoder
class TestChild(Base):
    class TestNested:
        @pytest.mark.parametrize("model", ["org/enc-b", "org/dec-b"])
        def test_deep(self, model):
            pass

    def test_no_model(self):
        pass


class TestPlain(Base):
    pass
"""

TEST_MODULE_GEN = f"""
import pytest

pytestmark = pytest.mark.encoder_decoder


def pytest_generate_tests(metafunc):
    if "which" in metafunc.fixturenames:
        metafunc.parametrize(
            "which", {ENCODERS!r} + ["org/dec-a"], ids=lambda m: m.split("/")[1]
        )


def test_module_generated(which):
    pass
"""

TEST_WIDE = f"""
import pytest


@pytest.mark.parametrize("i", range({WIDE}))
def test_wide(i):
    pass
"""

ROCM = f"""
[platform]
hardware = "rocm"

[variants.mi355]
match = ["gfx950"]

[[skip]]
marker = "encoder_decoder"
models = {ENCODERS[:2]!r}
reason = "no encoder attention"
fails = {{ error = "NotImplementedError", match = "Encoder self-attention" }}

[[skip]]
marker = "encoder_decoder"
models = ["{ENCODERS[2]}"]
reason = "crashes the server"
variants = ["mi355"]

[[deselect]]
tests = [
    "tests/test_tuples.py::test_ids_hide_the_model[a]b]",
    "tests/test_classes.py::TestPlain::test_inherited[org/dec-a]",
    "tests/test_classes.py::TestChild::TestNested",
]
reason = "hangs"

[[deselect]]
tests = {[f"tests/test_wide.py::test_wide[{i}]" for i in range(0, WIDE, 2)]!r}
reason = "one by one"

[[deselect]]
test = "tests/test_tuples.py::test_indirect[default-"
reason = "an open prefix of [params]"
variants = ["mi355"]
"""


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    (root / "tests").mkdir()
    for name, text in {
        "conftest.py": CONFTEST,
        "test_tuples.py": TEST_TUPLES,
        "test_classes.py": TEST_CLASSES,
        "test_gen.py": TEST_MODULE_GEN,
        "test_wide.py": TEST_WIDE,
    }.items():
        (root / "tests" / name).write_text(text)
    (root / "pytest.ini").write_text("[pytest]\nmarkers =\n    encoder_decoder\n")
    (root / "conftest.py").write_text('pytest_plugins = ["testmatrix.plugin"]\n')
    sk = root / "skiplists"
    (sk / "platforms").mkdir(parents=True)
    (sk / "suites.toml").write_text('[suites.all]\npath = "tests"\n')
    (sk / "platforms/cuda.toml").write_text('[platform]\nhardware = "cuda"\n')
    (sk / "platforms/rocm.toml").write_text(ROCM)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("target", ["rocm", "rocm:mi355", "cuda"])
def test_every_test_gets_the_fate_rules_give_its_reference_reading(shapes, target):
    ran, rules, relevant = on_target(shapes, target)
    platform, _, variant = target.partition(":")
    kinds = assert_reference_fates(ran, rules, shapes, relevant)
    collected = len(ran.items) + len(ran.deselected)
    assert collected > WIDE + 30  # every shape was collected
    if platform == "cuda":
        assert kinds == {"runs": collected}
        return
    # the shapes reach every kind: expected failures through tuple, indirect,
    # generated, inherited and nested parameters; deselects by id, class and prefix
    # enc-a and enc-b: 4 tuple pairs, the id "hidden", 2 generated in the conftest,
    # TestChild's inherited [org/enc-a], 2 generated in the module
    assert kinds["expected-fail"] == 10, kinds
    assert len(ran.deselected) >= WIDE // 2 + 4
    ids = {i.nodeid for i in ran.deselected}
    assert "tests/test_tuples.py::test_ids_hide_the_model[a]b]" in ids
    assert "tests/test_classes.py::TestChild::TestNested::test_deep[org/enc-b]" in ids
    assert ("tests/test_tuples.py::test_indirect[default-org/dec-b]" in ids) == (
        variant == "mi355"
    )
    # org/enc-c on mi355 only: 2 tuple pairs, indirect (TRITON_ATTN: the prefix
    # deselects [default-...]), generated in the conftest and in the module
    assert kinds.get("skipped", 0) == (5 if variant == "mi355" else 0), kinds


# shapes of the collection's decision by models (Decider.by_models): two files
# whose marked tests share their acts (the same marker uses, the same file fate),
# a model named only in a module constant, a listed model on the marker beside
# parameters that name others, and a record parameter
TEST_MODELS_A = f"""
import dataclasses

import pytest

pytestmark = pytest.mark.encoder_decoder
MODEL = "{ENCODERS[0]}"
OTHER = "{ENCODERS[2]}"


@dataclasses.dataclass(frozen=True)
class Info:
    name: str
    dtype: str


@pytest.mark.parametrize("model", {ENCODERS + DECODERS!r})
@pytest.mark.parametrize("dtype", ["half", "bf16"])
def test_shared(model, dtype):
    pass


def test_constant():
    assert MODEL


def test_other_constant():
    assert OTHER


@pytest.mark.parametrize("n", [1, 2])
def test_constant_params(n):
    assert MODEL and n


@pytest.mark.parametrize(
    "model_info", [Info("{ENCODERS[1]}", "half"), Info("{DECODERS[0]}", "bf16")]
)
def test_record(model_info):
    pass
"""

TEST_MODELS_B = f"""
import pytest

pytestmark = pytest.mark.encoder_decoder


@pytest.mark.parametrize("model", {ENCODERS + DECODERS!r})
def test_shared_too(model):
    pass


@pytest.mark.encoder_decoder(model="{ENCODERS[0]}")
@pytest.mark.parametrize("model", {DECODERS!r})
def test_marker_names(model):
    pass


@pytest.mark.parametrize("model", ["org/unlisted-x", "{ENCODERS[2]}"])
@pytest.mark.parametrize("count", [1, 2])
def test_ints_and_models(model, count):
    pass
"""


@pytest.fixture(scope="module")
def model_shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("model_shapes")
    (root / "tests" / "sub").mkdir(parents=True)
    # basenames of their own: this process imports the other shapes' modules too
    (root / "tests" / "test_by_models_a.py").write_text(TEST_MODELS_A)
    (root / "tests" / "sub" / "test_by_models_b.py").write_text(TEST_MODELS_B)
    (root / "pytest.ini").write_text("[pytest]\nmarkers =\n    encoder_decoder\n")
    (root / "conftest.py").write_text('pytest_plugins = ["testmatrix.plugin"]\n')
    sk = root / "skiplists"
    (sk / "platforms").mkdir(parents=True)
    (sk / "suites.toml").write_text('[suites.all]\npath = "tests"\n')
    skips = ROCM.split("[[deselect]]", 1)[0]  # the deselects name the other files
    (sk / "platforms/rocm.toml").write_text(skips)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("target", ["rocm", "rocm:mi355"])
@pytest.mark.parametrize("tree", ["shapes", "model_shapes"])
def test_the_collection_decides_marked_tests_by_models_as_the_reference(
    request, tree, target
):
    """While collecting, each test is left out, or kept with the marks, that
    Rules.fate gives its reference reading (pytest's iter_markers and callspec),
    on tuple, indirect, generated, inherited, record and constant shapes; the
    marked tests of two files share their acts."""
    from selftest.plugin.test_items import _Collected
    from testmatrix.plugin.decide import Act, MarkedFunction

    root = request.getfixturevalue(tree)
    variant = target.partition(":")[2]
    seen = _Collected()
    _, rules, relevant = on_target(root, target, plugins=(seen,))
    kinds: dict[str, int] = {}
    for item, fast, full in seen.pairs:
        expected = Act(rules.fate(reference_case(item, root, relevant)))
        assert fast.left_out == full.left_out == expected.left_out, item.nodeid
        if expected.left_out:
            assert fast.record == expected.record, item.nodeid
        else:
            marks = [str(m.mark) for m in expected.marks]
            assert [str(m.mark) for m in fast.marks] == marks, item.nodeid
            assert full.record == expected.record, item.nodeid
        kind = expected.record["fate"]
        kinds[kind] = kinds.get(kind, 0) + 1
    plans = [p for p in seen.decider.plans.values() if isinstance(p, MarkedFunction)]
    assert plans  # the marked tests were decided by their models
    mi355 = variant == "mi355"
    if tree == "shapes":  # as test_every_test_gets_the_fate_rules_give_...
        assert kinds["expected-fail"] == 10, kinds
        assert kinds.get("skipped", 0) == (5 if mi355 else 0), kinds
        return
    # enc-a and enc-b fail as expected: 4 in test_shared, 1 + 2 by the constant,
    # 1 by a record's field, 2 in test_shared_too, 2 named on the marker; enc-c is
    # skipped on mi355: 2 in test_shared, 1 by the other constant, 1 in
    # test_shared_too, 2 beside integers
    assert kinds["expected-fail"] == 12, kinds
    assert kinds.get("skipped", 0) == (6 if mi355 else 0), kinds
    shared = [{p.path for p in plans if p.acts is q.acts} for q in plans]
    both = {"tests/test_by_models_a.py", "tests/sub/test_by_models_b.py"}
    assert any(both <= paths for paths in shared)  # read once for both files
