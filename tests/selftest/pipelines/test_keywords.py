"""A platform's extra `-k "not NAME"` as [[deselect]] entries, where the files show
the same tests; else a suite of its own, with why."""

from __future__ import annotations

from pathlib import Path

import pytest

from testmatrix.config.loader import load_workspace

from .support import run_json, write

TESTS = """
import pytest

@pytest.mark.parametrize("x", [1, 2])
def test_llama_fp8(x):
    pass

def test_llama_bf16():
    pass

class TestQwen:
    def test_awq(self):
        pass

    def test_gptq(self):
        pass
"""
PIPELINE = """
steps:
  - label: NV models
    agents: {queue: gpu-h100}
    command: pytest tests/models
  - label: AMD models
    agents: {queue: amd-mi300}
    commands:
      # fp8 GEMMs are not tuned for gfx942 yet: https://github.com/org/p/issues/9
      - pytest tests/models -k "not test_llama_fp8 and not test_awq"
"""
DESELECTED = [
    "tests/models/test_llama.py::TestQwen::test_awq",
    "tests/models/test_llama.py::test_llama_fp8",
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "tests" / "models" / "test_llama.py", TESTS)
    write(tmp_path / "tests" / "models" / "test_other.py", "def test_x(): pass\n")
    write(tmp_path / "pipeline.yml", PIPELINE)
    return tmp_path


def test_the_extra_not_terms_become_rocm_deselects_with_the_comment(
    project: Path,
) -> None:
    code, report = run_json(project, "pipeline.yml")
    assert code == 0, report
    assert [c["status"] for c in report["commands"]] == ["exact", "exact"]
    workspace = load_workspace(project, project / "skiplists")
    assert list(workspace.suites) == ["nv-models"]  # one suite: the -k is ROCm's
    rocm = workspace.platforms["rocm"]
    assert sorted(d.nodeid for d in rocm.deselects) == DESELECTED
    assert {d.reason for d in rocm.deselects} == {
        "fp8 GEMMs are not tuned for gfx942 yet: https://github.com/org/p/issues/9"
    }
    assert {d.issue for d in rocm.deselects} == {"https://github.com/org/p/issues/9"}
    assert workspace.platforms["cuda"].deselects == ()
    (note,) = [n["note"] for n in report["job_notes"] if n["label"] == "AMD models"]
    assert note.startswith("-k 'not test_llama_fp8 and not test_awq' (line 9) became")


def test_the_deselects_collect_what_the_k_collects(
    project: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_llama=TESTS, test_other="def test_x(): pass\n")

    def collected(*args: str) -> set[str]:
        result = pytester.runpytest_inprocess("--collect-only", "-q", *args)
        return {line for line in result.outlines if "::" in line}

    by_k = collected("-k", "not test_llama_fp8 and not test_awq")
    ids = [i.replace("tests/models/", "") for i in DESELECTED]
    by_ids = collected(*(a for i in ids for a in ("--deselect", i)))
    assert by_k == by_ids and len(by_k) == 3


def test_a_name_that_an_id_carries_is_the_platforms_override(project: Path) -> None:
    write(
        project / "tests" / "models" / "test_other.py",
        """
        import pytest

        @pytest.mark.parametrize("model", ["test_awq_small"])
        def test_x(model):
            pass
        """,
    )
    code, report = run_json(project, "pipeline.yml")
    assert code == 0, report
    workspace = load_workspace(project, project / "skiplists")
    # one suite; its -k is ROCm's override, with the comment as its reason
    (suite,) = workspace.suites.values()
    (override,) = suite.overrides
    assert (override.target, override.keyword) == (
        "rocm",
        "not test_llama_fp8 and not test_awq",
    )
    assert override.reason.startswith("fp8 GEMMs are not tuned for gfx942 yet")
    assert workspace.platforms["rocm"].deselects == ()
    (note,) = [n["note"] for n in report["job_notes"] if n["label"] == "AMD models"]
    assert note == (
        "-k 'not test_llama_fp8 and not test_awq' (line 9) stays a -k, the "
        "platform's override of the suite: "
        "'test_awq' appears at tests/models/test_other.py:3 beyond a test's name: "
        "a mark, a parametrize id or a call may carry it"
    )


def test_an_or_keeps_its_own_suite(project: Path) -> None:
    text = PIPELINE.replace("not test_llama_fp8 and not test_awq", "not (a or b)")
    write(project / "pipeline.yml", text)
    code, report = run_json(project, "pipeline.yml")
    assert code == 0
    (note,) = [n["note"] for n in report["job_notes"] if n["label"] == "AMD models"]
    assert note.endswith("only 'not NAME' terms joined by 'and' are read")


def test_an_extra_ignore_beside_the_k_is_an_entry_too(project: Path) -> None:
    text = PIPELINE.replace(
        '-k "not test_llama_fp8 and not test_awq"',
        '-k "not test_llama_fp8 and not test_awq" --ignore=tests/models/test_other.py',
    )
    write(project / "pipeline.yml", text)
    code, report = run_json(project, "pipeline.yml")
    assert code == 0, report
    workspace = load_workspace(project, project / "skiplists")
    rocm = workspace.platforms["rocm"]
    assert [i.target for i in rocm.ignores] == ["tests/models/test_other.py"]
    assert sorted(d.nodeid for d in rocm.deselects) == DESELECTED
    assert list(workspace.suites) == ["nv-models"]
