"""A suite that is a CI job: its runs, its per-target overrides, its group's defaults,
node ids and globs, as the session command and the fate of a test see them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from testmatrix.config.loader import load_workspace
from testmatrix.core import options as opt
from testmatrix.core.fate import FateKind, TestCase
from testmatrix.core.jobrules import suite_rules
from testmatrix.core.rules import Rules
from testmatrix.core.session import session_command, session_commands
from testmatrix.errors import ConfigError, UsageError

SUITES = """
[groups.kernels]
platforms_reason = "the CI runs these on GPUs only"
buildkite = { timeout_in_minutes = 30 }
env = { SHARED = "1" }

[suites.kernels-core]
group = "kernels"
description = "Kernels Core Operation Test"
platforms = ["cuda", "rocm"]
keyword = "not slow"

[[suites.kernels-core.runs]]
path = "tests/kernels/core"

[[suites.kernels-core.runs]]
paths = ["tests/kernels/test_top.py::test_one", "tests/kernels/test_fused_*.py"]
keyword = "fast"
env = { RUN = "2" }

[suites.kernels-core.on.rocm]
env = { TARGET_TEST_SUITE = "MI300" }
reason = "AMD's harness reads it"

[suites.kernels-core.on."rocm:mi355"]
keyword = "not slow and not fp8"
reason = "no fp8 tuning on gfx950 yet"

[suites.plain]
path = "tests/plain"
"""

ROCM = """
[platform]
hardware = "rocm"

[variants.mi355]
match = ["gfx950"]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in (
        "tests/kernels/core/test_a.py",
        "tests/kernels/test_top.py",
        "tests/kernels/test_fused_moe.py",
        "tests/kernels/test_fused_attn.py",
        "tests/kernels/.test_fused_hidden.py",
        "tests/plain/test_p.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("def test_x(): pass\n")
    skiplists = tmp_path / "skiplists"
    (skiplists / "platforms").mkdir(parents=True)
    (skiplists / "suites.toml").write_text(SUITES)
    (skiplists / "platforms" / "rocm.toml").write_text(ROCM)
    (skiplists / "platforms" / "cuda.toml").write_text(
        '[platform]\nhardware = "cuda"\n'
    )
    return tmp_path


def test_each_run_is_its_own_pytest_command_in_order(root):
    ws = load_workspace(root)
    first, second = session_commands(ws, "cuda", "kernels-core")
    assert first.argv[0] == "tests/kernels/core"
    assert opt.RUN.flag(1) in first.argv and opt.RUN.flag(2) in second.argv
    assert first.argv[first.argv.index("-k") :][:2] == ("-k", "not slow")
    # the node id as written, the glob expanded as bash would: sorted, no dotfiles
    assert list(second.argv[:3]) == [
        "tests/kernels/test_top.py::test_one",
        "tests/kernels/test_fused_attn.py",
        "tests/kernels/test_fused_moe.py",
    ]
    assert second.argv[second.argv.index("-k") + 1] == "fast"
    assert second.env == {"SHARED": "1", "RUN": "2"}
    assert any(a.endswith("junit-run1.xml") for a in first.argv)
    assert any(a.endswith("summary-run2.json") for a in second.argv)
    assert (first.run, first.runs, second.run) == (1, 2, 2)


def test_a_platform_override_then_a_variant_override(root):
    ws = load_workspace(root)
    (rocm,) = session_commands(ws, "rocm", "kernels-core")[:1]
    assert rocm.env == {"SHARED": "1", "TARGET_TEST_SUITE": "MI300"}
    assert rocm.argv[rocm.argv.index("-k") + 1] == "not slow"
    mi355 = session_commands(ws, "rocm", "kernels-core", variant="mi355")
    assert [c.argv[c.argv.index("-k") + 1] for c in mi355] == [
        "not slow and not fp8"
    ] * 2
    assert mi355[1].env["TARGET_TEST_SUITE"] == "MI300"


def test_the_group_gives_the_suites_defaults(root):
    suite = load_workspace(root).suites["kernels-core"]
    assert suite.buildkite.timeout_in_minutes == 30
    assert suite.runs_on_reason == "the CI runs these on GPUs only"
    assert suite.group == "kernels"


def test_session_command_of_one_run_suite_is_unchanged_and_runs_need_a_number(root):
    ws = load_workspace(root)
    (only,) = session_commands(ws, "cuda", "plain")
    assert only == session_command(ws, "cuda", "plain")
    assert opt.RUN.long not in " ".join(only.argv)
    with pytest.raises(UsageError, match="has 2 runs"):
        session_command(ws, "cuda", "kernels-core")
    assert session_command(ws, "cuda", "kernels-core", run=2).run == 2


def test_posargs_can_pick_one_run(root):
    ws = load_workspace(root)
    (second,) = session_commands(
        ws, "cuda", "kernels-core", posargs=["--testmatrix-run", "2"]
    )
    assert second.run == 2 and second.argv.count(opt.RUN.flag(2)) == 1


def test_a_test_any_run_selects_is_in_the_suite(root):
    ws = load_workspace(root)
    rocm = ws.platforms["rocm"]

    def test(nodeid: str, keywords=("test_x",)) -> TestCase:
        path = nodeid.split("::")[0]
        return TestCase(nodeid, path, (), (), (), keywords=frozenset(keywords))

    anyrun = suite_rules(ws, rocm, None, "kernels-core")
    assert (
        anyrun.fate(test("tests/kernels/core/test_a.py::test_x")).kind is FateKind.RUN
    )
    named = test("tests/kernels/test_top.py::test_one", ("test_one", "fast"))
    assert anyrun.fate(named).kind is FateKind.RUN
    other = test("tests/kernels/test_top.py::test_two", ("test_two", "fast"))
    left = anyrun.fate(other)
    assert left.kind is FateKind.NOT_IN_SUITE and "names other tests" in left.message
    run2 = Rules(ws, rocm, suite="kernels-core", run=2)
    assert run2.fate(test("tests/kernels/core/test_a.py::test_x")).kind is (
        FateKind.NOT_IN_SUITE
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('group = "nope"', "unknown group 'nope'"),
        ('on.mi300 = { reason = "x" }', "unknown platform 'mi300'"),
        ('on.rocm = { keyword = "x" }', "has no 'reason'"),
        (
            'runs = [{ path = "tests/none_*.py" }]',
            "glob 'tests/none_*.py' matches nothing",
        ),
    ],
)
def test_bad_parts_are_one_located_line(root, change, message, monkeypatch):
    monkeypatch.chdir(root)
    text = f'[suites.bad]\npath = "tests/plain"\n{change}\n'
    if change.startswith("runs"):
        text = f"[suites.bad]\n{change}\n"
    (root / "skiplists" / "suites.toml").write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    (line,) = str(info.value).splitlines()
    assert message in line
    assert "suites.toml:" in line
