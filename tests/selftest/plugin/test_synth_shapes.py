"""The benchmark's wide mix (benchmarks/synth.py): the tests it writes are the tests
it counts, its single-test deselects name collected tests, and on a small tree
holding every shape (tuple parameters, indirect fixtures, pytest_generate_tests in
the conftest and in modules, nested and inherited classes with class-level marks,
thousands of single-test deselects at scale) the plugin gives each test the fate
the core gives its reference reading, and deselects exactly the tests the
skiplist's node ids name (a prefix match of the TOML, as `--deselect` reads it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the backport the package depends on there
    import tomli as tomllib

from selftest.helpers import REPO
from selftest.plugin.test_items import (
    PROPERTY,
    assert_reference_fates,
    collect,
    on_target,
)

sys.path.insert(0, str(REPO / "benchmarks"))
import synth
from synth import Scale, build

SMALL = Scale(items=600, entries=40, models=30, suites=10, singles=120)
NEW_KINDS = {"tuples", "indirect", "generated", "nested_classes"}
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("synth-shapes")]


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("wide")
    return root, build(root, SMALL)


def _deselects(root: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Each node id the rocm skiplist deselects, with the variants it holds on."""
    doc = tomllib.loads((root / "skiplists/platforms/rocm.toml").read_text())
    out = []
    for entry in doc.get("deselect", []):
        tests = entry.get("tests") or [entry["test"]]
        out += [(t, tuple(entry.get("variants", ()))) for t in tests]
    return out


@pytest.mark.parametrize("mix", ["wide", "classic"])
def test_the_generator_writes_the_tests_it_counts(tmp_path, mix):
    info = build(tmp_path, Scale(items=900, entries=60, models=30, mix=mix))
    ran = collect(tmp_path, "-p", "no:testmatrix.plugin")
    assert len(ran.items) == info["items"]
    for size in (10_000, 30_000, 120_000, 300_000):  # the benchmark's sizes
        assert abs(synth._tree(Scale(items=size, mix=mix)).items - size) <= size // 1000
    assert (set(info["shapes"]) >= NEW_KINDS) == (mix == "wide")
    collected = {i.nodeid for i in ran.items}
    singles = [t for t, _ in _deselects(tmp_path) if "[" in t]
    assert all(t in collected for t in singles), set(singles) - collected
    if mix == "wide":  # 1 per 10 tests, fewer where a small tree runs out
        assert 0 < info["entry_kinds"]["single"] <= min(90, len(singles))


def test_single_test_deselects_spread_over_many_functions(tmp_path):
    info = build(tmp_path, Scale(items=30_000, entries=300, models=200))
    ids = [t for t, _ in _deselects(tmp_path) if "[" in t]
    functions = {t.split("[", 1)[0] for t in ids}
    assert info["entry_kinds"]["single"] == 3000
    assert len(ids) >= 3000 and len(functions) > 150
    assert max(sum(t.startswith(f + "[") for t in ids) for f in functions) < 100


@pytest.mark.parametrize("entries", [30, 300])
def test_a_budgeted_workspace_counts_its_single_test_deselects_among_its_entries(
    tmp_path, entries
):
    # figure 2's workspaces: 30 entries are 30, single-test deselects included
    info = build(tmp_path, Scale(items=3000, entries=entries, budget=True))
    doc = tomllib.loads((tmp_path / "skiplists/platforms/rocm.toml").read_text())
    singles = sum(  # synth's single-test deselect tables give this reason
        len(e.get("tests") or [e["test"]])
        for e in doc["deselect"]
        if e["reason"] == "wrong output on ROCm"
    )
    assert info["entry_kinds"]["single"] == singles == entries // 3
    # the hybrid skip comes on top; a tree may run short of deselectable functions
    assert entries * 0.9 <= info["entries"] <= entries + 1


@pytest.mark.parametrize("target", ["rocm", "rocm:mi355", "rocm:mi300", "cuda"])
def test_every_new_shape_gets_the_core_fate_and_the_listed_deselects(wide, target):
    root, info = wide
    assert set(info["shapes"]) >= NEW_KINDS
    ran, rules, relevant = on_target(root, target)
    platform, _, variant = target.partition(":")
    kinds = assert_reference_fates(ran, rules, root, relevant)
    # the deselected tests are the ones the TOML's node ids name, read apart
    named = tuple(
        t
        for t, variants in _deselects(root)
        if platform == "rocm" and (not variants or variant in variants)
    )
    every = ran.items + ran.deselected
    assert {i.nodeid for i in ran.deselected} == {
        i.nodeid for i in every if i.nodeid.startswith(named)
    }
    if platform == "cuda":
        assert kinds == {"runs": len(every)}
        return
    assert len(ran.deselected) > 120  # the single-test deselects, and the others
    assert {"runs", "skipped", "expected-fail"} <= set(kinds), kinds
    # each new shape reaches a skip or an expected failure on rocm
    shapes = {"test_tuples": 0, "test_indirect": 0, "test_generated": 0}
    shapes["test_nested_classes"] = 0
    for item in ran.items:
        fate = dict(ran.properties[item.nodeid]).get(PROPERTY + "fate")
        for shape in shapes:
            shapes[shape] += f"/{shape}_" in item.nodeid and fate != "runs"
    assert all(shapes.values()), shapes
