"""Importing a plain Buildkite pipeline: steps into suites and platform entries,
proven command by command, and every step not read listed with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_command
from testmatrix.pipelines.command import kind_of

from .support import checkout_from, read, run_import, run_json, write

# modelled on the plain pipelines of vLLM-ecosystem projects: NVIDIA and AMD twins,
# a docker plugin, a kubernetes pod, a matrix, shards, and steps no import can read
PIPELINE = """
env:
  HF_HOME: /cache
steps:
  - group: ":pytest: Kernels"
    steps:
      - label: ":nvidia: Kernels H100"
        key: kernels-h100
        agents: {queue: gpu-h100}
        plugins:
          - docker#v5.12.0:
              image: "registry/ci:cuda"
              environment: ["VLLM_LOGGING=0", "HF_TOKEN"]
        commands:
          - pytest -v tests/kernels --deselect tests/kernels/test_attn.py::test_fp8
      - label: ":rocm: Kernels MI300"
        key: kernels-mi300
        agents: {queue: amd-mi300}
        plugins:
          - docker#v5.12.0:
              image: "registry/ci:rocm"
              environment: ["VLLM_LOGGING=0"]
        commands:
          # MoE kernels hang on gfx942: https://github.com/org/proj/issues/42
          - pytest -v tests/kernels --ignore=tests/kernels/test_moe.py
            --deselect tests/kernels/test_attn.py::test_fp8
            --deselect tests/kernels/test_attn.py::test_sliding
  - label: "Models %N"
    parallelism: 2
    agents: {queue: gpu-a100}
    timeout_in_minutes: 90
    command: |
      cd tests
      pytest models -m "not slow" \\
        --shard-id=$$BUILDKITE_PARALLEL_JOB --num-shards=$$BUILDKITE_PARALLEL_JOB_COUNT
  - label: "LoRA {{matrix.hw}}"
    matrix:
      setup:
        hw: [h100, mi300, mi250]
      adjustments:
        - with: {hw: mi250}
          skip: "no MI250 agents this quarter"
    agents: {queue: "gpu-{{matrix.hw}}"}
    command: pytest tests/lora
  - label: "Entrypoints (k8s)"
    agents: {queue: gpu-h100}
    plugins:
      - kubernetes:
          podSpec:
            containers:
              - image: registry/ci:cuda
                workingDir: /workdir
                command: ["bash"]
                args: ["-c", "cd tests && pytest entrypoints"]
  - wait
  - block: "Release?"
  - trigger: "deploy-docs"
  - label: "Benchmarks"
    agents: {queue: beefy-box}
    command: pytest tests/benchmarks
  - label: "Nothing to run"
    agents: {queue: gpu-h100}
  - label: "Old"
    skip: "replaced by Models"
    agents: {queue: gpu-h100}
    command: pytest tests/old
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pipeline = write(tmp_path / ".buildkite" / "pipeline.yml", PIPELINE)
    checkout_from(read(pipeline), tmp_path, "/workdir")
    write(tmp_path / "tests" / "kernels" / "test_attn.py", "def test_fp8(): pass\n")
    return tmp_path


def test_every_command_is_proven_and_the_skiplists_written(project: Path) -> None:
    code, report = run_json(project, ".buildkite/pipeline.yml")
    assert code == 0, report
    statuses = {(c["label"], c["platform"], c["status"]) for c in report["commands"]}
    assert {s for s in statuses if s[2] == "exact"} == {
        (":nvidia: Kernels H100", "cuda", "exact"),
        (":rocm: Kernels MI300", "rocm", "exact"),
        ("Models %N", "cuda", "exact"),
        ("LoRA", "cuda", "exact"),  # the value picks the runner: the target says it
        ("LoRA", "rocm", "exact"),
        ("Entrypoints (k8s)", "cuda", "exact"),
    }
    assert report["totals"]["different"] == 0
    workspace = load_workspace(project, project / "skiplists")
    assert set(workspace.platforms) == {"cuda", "rocm"}
    assert set(workspace.platforms["rocm"].variants) == {"mi300"}


def test_the_amd_twins_extra_flags_become_rocm_entries_with_the_comment(
    project: Path,
) -> None:
    assert run_import(project, ".buildkite/pipeline.yml").returncode == 0
    workspace = load_workspace(project, project / "skiplists")
    rocm = workspace.platforms["rocm"]
    (ignore,) = rocm.ignores
    assert ignore.target == "tests/kernels/test_moe.py"
    assert ignore.reason == (
        "MoE kernels hang on gfx942: https://github.com/org/proj/issues/42"
    )
    assert ignore.issue == "https://github.com/org/proj/issues/42"
    # a deselect is each platform's own entry: the shared one on both, the extra
    # one on ROCm only
    shared = "tests/kernels/test_attn.py::test_fp8"
    assert {d.nodeid for d in rocm.deselects} == {
        shared,
        "tests/kernels/test_attn.py::test_sliding",
    }
    cuda = workspace.platforms["cuda"]
    assert cuda.ignores == () and {d.nodeid for d in cuda.deselects} == {shared}
    # the session runs what the AMD step ran
    made = session_command(workspace, "rocm", "kernels", variant="mi300")
    assert "--ignore=tests/kernels/test_moe.py" in made.argv
    assert made.env["VLLM_LOGGING"] == "0" and "HF_TOKEN" not in made.env


def test_shards_timeouts_and_the_docker_env_reach_the_suite(project: Path) -> None:
    assert run_import(project, ".buildkite/pipeline.yml").returncode == 0
    workspace = load_workspace(project, project / "skiplists")
    models = workspace.suites["models"]
    assert models.paths == ("tests/models",) and models.markexpr == "not slow"
    assert models.buildkite.parallelism == 2
    assert models.buildkite.timeout_in_minutes == 90
    assert dict(workspace.suites["lora"].env) == {"HF_HOME": "/cache"}


def test_steps_not_read_are_listed_with_the_reason(project: Path) -> None:
    code, report = run_json(project, ".buildkite/pipeline.yml")
    assert code == 0
    unread = {u["label"]: u["reason"] for u in report["unread"]}
    assert unread == {
        "LoRA (mi250)": "a matrix adjustment skips this combination: no MI250 "
        "agents this quarter",
        "deploy-docs": "a trigger step starts the pipeline 'deploy-docs'; import "
        "that pipeline's file",
        "Benchmarks": "its runner labels ('beefy-box', 'queue=beefy-box') tell no "
        "platform; pass --runner LABEL=PLATFORM[:VARIANT]",
        "Nothing to run": "no command to read",
        "Old": "the step is skipped: replaced by Models",
    }
    lines = [u["line"] for u in report["unread"]]
    text = (project / ".buildkite" / "pipeline.yml").read_text().splitlines()
    assert "trigger" in text[lines[1] - 1] and "Benchmarks" in text[lines[2] - 1]


def test_a_runner_mapping_reads_a_step_the_defaults_cannot(project: Path) -> None:
    (project / "tests" / "benchmarks").mkdir()
    (project / "tests" / "benchmarks" / "test_b.py").touch()
    code, report = run_json(
        project, ".buildkite/pipeline.yml", "--runner", "beefy-*=cuda:h100"
    )
    assert code == 0
    labels = {c["label"]: c["status"] for c in report["commands"]}
    assert labels["Benchmarks"] == "exact"
    assert "Benchmarks" not in {u["label"] for u in report["unread"]}


def test_a_missing_test_path_is_an_error_naming_the_line_and_nothing_is_written(
    project: Path,
) -> None:
    (project / "tests" / "lora" / "test_placeholder.py").unlink()
    (project / "tests" / "lora").rmdir()
    result = run_import(project, ".buildkite/pipeline.yml")
    assert result.returncode == 2
    where = ".buildkite/pipeline.yml:43: step 'LoRA': pytest path 'tests/lora'"
    assert result.stderr.count(where) == 2  # on each platform's job
    assert not (project / "skiplists").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: [\n", "pipeline.yml:2: not YAML"),
        ("env: {A: 1}\n", "pipeline.yml:1: not a Buildkite pipeline: no 'steps' list"),
    ],
)
def test_bad_pipelines_are_one_line_and_exit_2(
    tmp_path: Path, text: str, message: str
) -> None:
    write(tmp_path / "pipeline.yml", text)
    result = run_import(tmp_path, "pipeline.yml", "--from", "buildkite")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "skiplists").exists()


def test_vllm_files_and_plain_pipelines_are_not_imported_together(
    tmp_path: Path,
) -> None:
    write(tmp_path / "plain.yml", "steps:\n  - command: pytest tests\n")
    write(tmp_path / "areas" / "a.yaml", "group: A\nsteps: []\n")
    result = run_import(tmp_path, "plain.yml", "areas")
    assert result.returncode == 2
    assert "plain.yml (buildkite), areas (vllm)" in result.stderr


def test_hostile_labels_and_comments_are_written_as_data(tmp_path: Path) -> None:
    comment = '""" \'\'\' \\n" ]] \\u0007 {x}'  # quotes and escapes, as text
    lines = [
        "steps:",
        '  - label: "NV \\"quoted\\" $(rm -rf /) ]]\\n[suites.evil] \\a"',
        "    agents: {queue: gpu-h100}",
        "    command: pytest tests",
        "  - label: AMD",
        "    agents: {queue: amd-mi300}",
        f"    command: pytest tests --ignore=tests/test_b.py  # {comment}",
    ]
    (tmp_path / "pipeline.yml").write_text("\n".join(lines) + "\n")
    write(tmp_path / "tests" / "test_a.py", "")
    write(tmp_path / "tests" / "test_b.py", "")
    result = run_import(tmp_path, "pipeline.yml")
    assert result.returncode == 0, result.output
    workspace = load_workspace(tmp_path, tmp_path / "skiplists")
    (name,) = workspace.suites
    assert name == "nv-quoted-rm-rf-suites-evil-x07"
    assert "$(rm -rf /)" in workspace.suites[name].description
    # YAML's escapes are the label's: a newline folds to a space, a control
    # character (a terminal escape) is written as its escape, never sent raw
    described = workspace.suites[name].description
    assert "]] [suites.evil] \\x07 (pipeline.yml:4)" in described
    assert "\a" not in result.output
    (ignore,) = workspace.platforms["rocm"].ignores
    assert ignore.reason == comment


def test_an_alias_bomb_is_a_step_not_read(tmp_path: Path) -> None:
    bomb = ["x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        bomb.append(f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]")
    text = "\n".join(bomb) + "\nsteps:\n"
    text += "  - label: bomb\n    agents: {queue: gpu-h100}\n"
    text += "    env: {BIG: *x8}\n    command: pytest tests\n"
    (tmp_path / "pipeline.yml").write_text(text)
    write(tmp_path / "tests" / "test_a.py", "")
    code, report = run_json(tmp_path, "pipeline.yml")
    assert code == 2
    assert report["unread"] == [
        {
            "file": "pipeline.yml",
            "line": 11,
            "label": "bomb",
            "reason": "its values nest too deep or are too many (YAML aliases)",
        }
    ]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("group: Kernels\nsteps: []\n", "vllm"),
        ("steps:\n- label: a\n  agent_pool: mi300_1\n  command: x\n", "vllm"),
        ("steps:\n- label: a\n  source_file_dependencies: [a]\n", "vllm"),
        (
            "steps:\n- label: a\n  agents: {queue: q, gpu: h100}\n  command: x\n",
            "buildkite",
        ),
        ("on: push\njobs:\n  a:\n    runs-on: x\n", "github"),
    ],
)
def test_the_kind_of_a_file_is_told_by_its_keys(
    tmp_path: Path, text: str, kind: str
) -> None:
    assert kind_of(write(tmp_path / "ci.yml", text)) == kind
