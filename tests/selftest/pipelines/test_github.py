"""Importing a GitHub Actions workflow: jobs and their matrices into suites and
platform entries, proven command by command; jobs and steps not read are listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from testmatrix.config.loader import load_workspace
from testmatrix.pipelines.github import matrix

from .support import checkout_from, read, run_json, write

# modelled on GPU projects' workflows (sglang's AMD jobs, pytorch/ao's runners): a
# matrix over self-hosted runners whose AMD entry passes more flags
WORKFLOW = """
name: GPU tests
on: [push, pull_request]
env:
  PYTHONUNBUFFERED: "1"
  HF_TOKEN: ${{ secrets.HF_TOKEN }}
defaults:
  run:
    working-directory: python
jobs:
  unit:
    strategy:
      fail-fast: false
      matrix:
        runner: [linux-mi300-gpu-1, linux-h100-gpu-1, linux-mi250-gpu-1]
        python: ["3.11"]
        include:
          - runner: linux-mi300-gpu-1
            flags: --ignore=tests/kernels/test_moe.py
        exclude:
          - runner: linux-mi250-gpu-1
    runs-on: ${{ matrix.runner }}
    timeout-minutes: 45
    steps:
      - uses: actions/checkout@v4
      - name: Mark the run
        run: echo "TESTMATRIX_CI=1" >> "$GITHUB_ENV"
      - name: Kernels
        env:
          VLLM_USE_V1: 1
        run: |
          # test_moe.py hangs on MI300: https://github.com/org/proj/issues/7
          python -m pytest tests/kernels ${{ matrix.flags }}
      - name: Models
        working-directory: python/tests
        run: pytest models -m "not slow"
  cpu:
    runs-on: ubuntu-latest
    steps:
      - run: pytest tests/unit
  windows:
    runs-on: [self-hosted, gfx942]
    steps:
      - shell: pwsh
        run: pytest tests\\unit
  reuse:
    uses: ./.github/workflows/nightly.yml
  dynamic:
    strategy:
      matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}
    runs-on: ubuntu-latest
    steps:
      - run: pytest tests
  chosen:
    runs-on: ${{ inputs.runner }}
    steps:
      - run: pytest tests
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    workflow = write(tmp_path / ".github" / "workflows" / "gpu.yml", WORKFLOW)
    checkout_from(read(workflow), tmp_path, "/github/workspace")
    return tmp_path


def test_every_job_of_the_matrix_is_proven(project: Path) -> None:
    code, report = run_json(project, ".github/workflows/gpu.yml")
    assert code == 0, report
    rows = {
        (c["label"], c["platform"], c["variant"], c["command"], c["status"])
        for c in report["commands"]
        if c["kind"] == "pytest"
    }
    assert rows == {
        (
            "unit (3.11)",
            "rocm",
            "mi300",
            "python -m pytest tests/kernels --ignore=tests/kernels/test_moe.py",
            "exact",
        ),
        ("unit (3.11)", "rocm", "mi300", 'pytest models -m "not slow"', "exact"),
        ("unit (3.11)", "cuda", "h100", "python -m pytest tests/kernels", "exact"),
        ("unit (3.11)", "cuda", "h100", 'pytest models -m "not slow"', "exact"),
        ("cpu", "cpu", None, "pytest tests/unit", "exact"),
    }
    assert report["totals"]["different"] == 0 and report["totals"]["not_mapped"] == 0


def test_the_amd_entrys_extra_ignore_is_a_rocm_entry_with_the_comment(
    project: Path,
) -> None:
    assert run_json(project, ".github/workflows/gpu.yml")[0] == 0
    workspace = load_workspace(project, project / "skiplists")
    (ignore,) = workspace.platforms["rocm"].ignores
    assert ignore.target == "python/tests/kernels/test_moe.py"
    assert ignore.reason == (
        "test_moe.py hangs on MI300: https://github.com/org/proj/issues/7"
    )
    assert ignore.variants == ()  # the only AMD runner: the whole platform
    assert workspace.platforms["cuda"].ignores == ()


def test_env_merges_workflow_job_step_and_github_env(project: Path) -> None:
    code, report = run_json(project, ".github/workflows/gpu.yml")
    assert code == 0
    workspace = load_workspace(project, project / "skiplists")
    # a job is one suite: its pytest commands are the suite's runs
    kernels = next(
        run
        for s in workspace.suites.values()
        for run in s.parts
        if run.paths[-1].endswith("kernels")
    )
    assert dict(kernels.env) == {
        "PYTHONUNBUFFERED": "1",
        "TESTMATRIX_CI": "1",
        "VLLM_USE_V1": "1",
    }
    # the secret is not written anywhere, and the report says so
    notes = {n["note"] for n in report["job_notes"] if n["label"] == "unit (3.11)"}
    assert "env HF_TOKEN not carried: known only when the workflow runs" in notes
    text = (project / "skiplists" / "suites.toml").read_text()
    assert "HF_TOKEN" not in text and "secrets" not in text


def test_working_directories_resolve_against_the_workspace(project: Path) -> None:
    assert run_json(project, ".github/workflows/gpu.yml")[0] == 0
    workspace = load_workspace(project, project / "skiplists")
    paths = {run.paths for s in workspace.suites.values() for run in s.parts}
    assert paths == {
        ("python/tests/kernels",),
        ("python/tests/models",),
        ("python/tests/unit",),
    }


def test_jobs_and_steps_not_read_are_listed_with_the_reason(project: Path) -> None:
    code, report = run_json(project, ".github/workflows/gpu.yml")
    assert code == 0
    unread = {u["label"]: u["reason"] for u in report["unread"]}
    assert unread == {
        "windows / run": "runs in shell 'pwsh'; only bash and sh are read",
        "reuse": "calls the reusable workflow ./.github/workflows/nightly.yml; "
        "import that workflow's file",
        "dynamic": "the matrix is an expression, known only when the workflow runs",
        "chosen": "runs-on ['${{ inputs.runner }}'] is an expression, known only "
        "when the workflow runs",
    }
    text = (project / ".github" / "workflows" / "gpu.yml").read_text().splitlines()
    for record in report["unread"]:
        assert record["label"].split(" ")[0] in text[record["line"] - 1] or (
            "shell: pwsh" in text[record["line"] - 1]
        )


def test_matrix_include_extends_and_adds_and_exclude_removes() -> None:
    combos = matrix(
        {
            "os": ["a", "b"],
            "py": [1, 2],
            "include": [{"os": "a", "extra": "x"}, {"os": "c", "py": 9}],
            "exclude": [{"os": "b", "py": 2}],
        }
    )
    assert combos == [
        {"os": "a", "py": 1, "extra": "x"},
        {"os": "a", "py": 2, "extra": "x"},
        {"os": "b", "py": 1},
        {"os": "c", "py": 9},
    ]


def test_a_matrix_over_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="over 256"):
        matrix({"a": list(range(20)), "b": list(range(20))})


def test_an_env_given_by_an_expression_is_a_job_not_read(tmp_path: Path) -> None:
    write(
        tmp_path / "wf.yml",
        """
        jobs:
          gpu:
            runs-on: linux-h100-gpu-1
            env: ${{ fromJSON(needs.setup.outputs.env) }}
            steps:
              - run: pytest tests
        """,
    )
    write(tmp_path / "tests" / "test_a.py", "")
    code, report = run_json(tmp_path, "wf.yml")
    assert code == 2
    assert report["unread"] == [
        {
            "file": "wf.yml",
            "line": 2,
            "label": "gpu",
            "reason": "its 'env' is an expression, known only when the workflow runs",
        }
    ]
