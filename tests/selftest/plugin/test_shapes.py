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

from selftest.plugin.test_items import PROPERTY, collect, reference_case
from testmatrix.config.loader import load_workspace
from testmatrix.core import options as opt
from testmatrix.core.rules import Rules

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
    platform, _, variant = target.partition(":")
    flags = [opt.PLATFORM.flag(platform)]
    if variant:
        flags.append(opt.VARIANT.flag(variant))
    ran = collect(shapes, *flags)
    workspace = load_workspace(shapes)
    rules = Rules(workspace, workspace.platforms[platform], variant=variant or None)
    relevant = frozenset(rules.skips)
    kinds: dict[str, int] = {}
    for item in ran.items:
        record = {
            k[len(PROPERTY) :]: v
            for k, v in ran.properties[item.nodeid]
            if k.startswith(PROPERTY)
        }
        expected = rules.fate(reference_case(item, shapes, relevant)).record()
        assert record == {k: v for k, v in expected.items() if v}, item.nodeid
        kinds[record["fate"]] = kinds.get(record["fate"], 0) + 1
    assert len(ran.left_out) == len(ran.deselected)
    for item, record in zip(ran.deselected, ran.left_out, strict=True):
        expected = rules.fate(reference_case(item, shapes, relevant)).record()
        assert record == expected, item.nodeid
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
