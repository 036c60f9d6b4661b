"""Planning for variants and suites that are selections, on hand-built models: session
names, where suites run, what a session's command selects, and each test's fate."""

from __future__ import annotations

from pathlib import Path

import pytest

from testmatrix.core.fate import FateKind, TestCase
from testmatrix.core.model import (
    BuildkiteSettings,
    Exclude,
    IgnoreEntry,
    Location,
    Platform,
    Suite,
    Target,
    Variant,
    Workspace,
    base_of,
    frozen_map,
)
from testmatrix.core.rules import Rules
from testmatrix.core.session import (
    SessionKey,
    conflicting_posarg,
    runs_on,
    session_argv,
    session_command,
    sessions,
)
from testmatrix.core.targets import hardware_mismatch, target_variant
from testmatrix.errors import UsageError

HERE = Location("skiplists/x.toml", 1)
LLM = "tests/entrypoints/llm"


def _ignore(path: str, suite: str, variants: tuple[str, ...] = ()) -> IgnoreEntry:
    return IgnoreEntry(
        platform="rocm",
        reason="broken on MI355",
        issue=None,
        expires=None,
        location=Location("skiplists/platforms/rocm.toml", 9),
        suite=suite,
        path=path,
        target=f"{LLM}/{path}",
        variants=variants,
    )


def _workspace() -> Workspace:
    variants = {
        name: Variant(name, "rocm", name.upper(), (gfx,), HERE)
        for name, gfx in (("mi300", "gfx942"), ("mi355", "gfx950"))
    }
    rocm = Platform(
        "rocm",
        "AMD",
        "rocm",
        "HIP_VISIBLE_DEVICES",
        HERE,
        ignores=(
            _ignore("test_chat.py", "llm", ("mi355",)),
            _ignore("test_collective.py", "llm"),
        ),
        variants=frozen_map(variants),
        buildkite=BuildkiteSettings(queue="amd"),
    )
    cuda = Platform("cuda", "NVIDIA", "cuda", "CUDA_VISIBLE_DEVICES", HERE)
    generate = f"{LLM}/test_generate.py"
    suites = {
        "llm": Suite(
            "llm",
            (LLM,),
            "offline API",
            HERE,
            excludes=(
                Exclude("test_generate.py", generate, "needs a clean process", HERE),
            ),
            markexpr="not slow",
        ),
        "llm-generate": Suite(
            "llm-generate",
            (generate,),
            "generate",
            HERE,
            env=frozen_map({"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}),
            args=("--timeout=600",),
            gpus=2,
        ),
        "aiter": Suite(
            "aiter",
            ("tests/kernels/aiter",),
            "AITER kernels",
            HERE,
            runs_on=("rocm",),
            runs_on_reason="AITER is AMD's library",
        ),
        "mi355-only": Suite(
            "mi355-only",
            ("tests/kernels/fp4",),
            "FP4",
            HERE,
            runs_on=("rocm:mi355",),
            runs_on_reason="FP4 needs gfx950",
        ),
    }
    return Workspace(
        Path("/ws"),
        Path("/ws/skiplists"),
        frozen_map(suites),
        frozen_map({"rocm": rocm, "cuda": cuda}),
        frozen_map(),
    )


WS = _workspace()


def test_session_names_cover_every_target_a_suite_runs_on():
    names = sessions(WS)
    assert "rocm-llm" in names and "rocm-mi300-llm" in names
    assert names["rocm-mi355-llm-generate"] == SessionKey(
        "rocm", "mi355", "llm-generate"
    )
    assert "cuda-aiter" not in names and "rocm-mi300-aiter" in names
    assert [n for n in names if n.endswith("mi355-only")] == ["rocm-mi355-mi355-only"]


def test_a_variant_entry_applies_to_that_variant_only():
    argv = {
        v: session_argv(WS, "rocm", "llm", variant=v) for v in (None, "mi300", "mi355")
    }
    chat = f"--ignore={LLM}/test_chat.py"
    assert chat in argv["mi355"]
    assert chat not in argv["mi300"] and chat not in argv[None]
    assert all(f"--ignore={LLM}/test_collective.py" in a for a in argv.values())


def test_session_argv_carries_the_whole_selection():
    argv = session_argv(WS, "rocm", "llm", variant="mi300")
    assert argv[:4] == [
        LLM,
        "--testmatrix-platform=rocm",
        "--testmatrix-variant=mi300",
        "--testmatrix-suite=llm",
    ]
    assert argv[4:6] == ["-m", "not slow"]
    assert f"--ignore={LLM}/test_generate.py" in argv  # the partition


def test_session_command_has_the_suites_env_args_and_gpus():
    command = session_command(WS, "cuda", "llm-generate")
    assert command.env == {"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}
    assert "--timeout=600" in command.argv and command.gpus == 2
    assert command.as_dict()["argv"][0] == f"{LLM}/test_generate.py"


def test_user_k_and_m_narrow_the_suites_own():
    argv = session_command(WS, "cuda", "llm", posargs=["-m", "gpu", "-kchat"]).argv
    assert argv[argv.index("-m") + 1] == "(not slow) and (gpu)"
    assert argv[argv.index("-k") + 1] == "chat" and argv.count("-m") == 1


def test_a_suite_absent_from_a_platform_has_no_command_and_says_why():
    with pytest.raises(UsageError, match=r"suite aiter has no session on cuda: .*AMD"):
        session_argv(WS, "cuda", "aiter")
    rocm = Target(WS.platforms["rocm"])
    assert runs_on(WS.suites["aiter"], rocm)
    assert not runs_on(WS.suites["mi355-only"], rocm)


@pytest.mark.parametrize(
    "posargs, message",
    [
        (["--platform=cuda"], "run nox -s cuda-llm instead"),
        (["--variant", "mi355"], "run nox -s rocm-mi355-llm instead"),
        (["--suite=aiter"], "run nox -s rocm-mi300-aiter instead"),
        (["--testmatrix-platform", "cuda"], "run nox -s cuda-llm instead"),
    ],
)
def test_contradicting_arguments_name_the_right_session(posargs, message):
    assert message in conflicting_posarg(SessionKey("rocm", "mi300", "llm"), posargs)


def _case(path: str, marks=(), keywords=()) -> TestCase:
    name = f"{path}::test_x"
    return TestCase(name, path, marks=frozenset(marks), keywords=frozenset(keywords))


def test_partition_and_marks_are_not_platform_decisions():
    rules = Rules(WS, WS.platforms["rocm"], variant="mi355", suite="llm")
    generate = rules.fate(_case(f"{LLM}/test_generate.py"))
    assert generate.kind is FateKind.NOT_IN_SUITE and generate.entry is None
    assert "needs a clean process" in generate.message
    slow = rules.fate(_case(f"{LLM}/test_other.py", marks=["slow"]))
    assert slow.kind is FateKind.NOT_IN_SUITE and "-m 'not slow'" in slow.message
    chat = rules.fate(_case(f"{LLM}/test_chat.py"))
    assert chat.kind is FateKind.IGNORED and chat.platform == "rocm:mi355"
    mi300 = Rules(WS, WS.platforms["rocm"], variant="mi300", suite="llm")
    assert mi300.fate(_case(f"{LLM}/test_chat.py")).kind is FateKind.RUN


def test_detected_gfx_target_picks_the_variant_and_strict_refuses_another():
    rocm = WS.platforms["rocm"]
    assert target_variant(rocm, None, "rocm", ["gfx950"]).name == "mi355"
    assert target_variant(rocm, None, "cuda", ["gfx950"]) is None
    assert target_variant(rocm, None, "rocm", ["gfx1100"]) is None
    mi300 = rocm.variants["mi300"]
    refusal = hardware_mismatch(rocm, mi300, "rocm", ["gfx950"], "rocm (8 devices)")
    assert "target variant 'rocm:mi300' needs gfx942" in refusal
    assert hardware_mismatch(rocm, mi300, "rocm", ["gfx942"], "") is None


@pytest.mark.parametrize(
    "paths, base",
    [
        (("tests/a",), "tests/a"),
        (("tests/a/test_b.py",), "tests/a"),
        (("tests/a/x", "tests/a/y/test_z.py"), "tests/a"),
    ],
)
def test_base_directory_of_a_suites_paths(paths, base):
    assert base_of(paths) == base


def test_deselects_apply_by_prefix_in_declaration_order_wherever_they_stand():
    from dataclasses import replace

    from testmatrix.core.model import DeselectEntry

    def deselect(nodeid: str, line: int) -> DeselectEntry:
        where = Location("skiplists/platforms/rocm.toml", line)
        return DeselectEntry("rocm", "r", None, None, where, nodeid=nodeid)

    entries = (
        deselect(f"{LLM}/test_other.py::test_x", 1),
        deselect(f"{LLM}/test_chat.py::test_a", 2),  # a prefix of test_a[...]
        deselect(LLM, 3),  # a whole directory
        deselect(f"{LLM}/test_chat.py", 4),
    )
    rocm = replace(WS.platforms["rocm"], ignores=(), deselects=entries)
    ws = replace(WS, platforms=frozen_map({**WS.platforms, "rocm": rocm}))
    rules = Rules(ws, rocm)

    def line_for(nodeid: str) -> int | None:
        fate = rules.fate(TestCase(nodeid, nodeid.split("::")[0]))
        return fate.entry.location.line if fate.entry else None

    assert line_for(f"{LLM}/test_chat.py::test_a[x]") == 2
    assert line_for(f"{LLM}/test_chat.py::test_b") == 3  # the directory came first
    assert line_for(f"{LLM}/sub/test_deep.py::test_c") == 3
    assert line_for("tests/elsewhere/test_y.py::test_z") is None
