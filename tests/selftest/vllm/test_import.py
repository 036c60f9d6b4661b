"""Importing vLLM's CI (test_areas/ and test-amd.yaml): reading, deciding, writing and
the built-in proof, on the real files and on small variations of them."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from selftest.config.test_loader import ROCM_IGNORES
from selftest.helpers import REPO, run, run_import
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_command, session_commands
from testmatrix.vllm import ci as vllmci
from testmatrix.vllm import jobs as vllmjobs
from testmatrix.vllm import plan as importplan

# vLLM's CI files, vendored with their notice (data/vllm/NOTICE)
REFERENCE = REPO / "tests" / "selftest" / "data" / "vllm"
AREAS = REFERENCE / "test_areas.7075df79b"
AMD = REFERENCE / "test-amd.7075df79b.yaml"
OLD_AMD = REFERENCE / "test-amd.ffc3b430a.yaml"
OLD_MAIN = REFERENCE / "test-pipeline.802748bdd.yaml"
# vLLM has it; the listings hold tests/**/test_*.py only
LM_EVAL = ".buildkite/lm-eval-harness/test_lm_eval_correctness.py"


def checkout(root: Path, listing: str, *extra: str) -> Path:
    """An empty vLLM checkout: every path of a test-files listing, and `extra`."""
    for line in [*(REFERENCE / listing).read_text().split(), *extra]:
        path = root / line
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return root


# one worker imports the snapshot once for all of them (-n 2)
pytestmark = pytest.mark.xdist_group("vllm-snapshot")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> tuple[Path, dict, float]:
    """The 2026-05 snapshot imported into an empty checkout: (root, --json, seconds)."""
    root = checkout(
        tmp_path_factory.mktemp("vllm"), "test-files.7075df79b.txt", LM_EVAL
    )
    started = time.perf_counter()
    result = run_import(root, AREAS, AMD, "--json")
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.output
    return root, json.loads(result.stdout), seconds


@pytest.fixture(scope="module")
def jobs() -> list[vllmjobs.Job]:
    return vllmci.read([AREAS, AMD]).jobs


def job(jobs: list[vllmjobs.Job], file: str, line: int, target: str) -> vllmjobs.Job:
    found = [
        j
        for j in jobs
        if j.location.file.endswith(file)
        and j.target == target
        and (j.location.line == line or any(c.line == line for c in j.commands))
    ]
    assert len(found) == 1, found
    return found[0]


def command(result: dict, file: str, line: int, platform: str, variant=None) -> dict:
    found = [
        c
        for c in result["commands"]
        if c["file"].endswith(file)
        and c["line"] == line
        and c["platform"] == platform
        and c["variant"] == variant
        and c["kind"] == "pytest"
    ]
    assert len(found) == 1, found
    return found[0]


# -- reading -------------------------------------------------------------------


def test_reads_every_step_job_command_and_flag_of_the_snapshot():
    reading = vllmci.read([AREAS, AMD])
    areas = [f for f in reading.files if f.kind == "test_areas"]
    (amd,) = [f for f in reading.files if f.kind == "amd"]
    assert len(areas) == 29
    assert sum(f.steps for f in areas) == 162
    assert sum(f.jobs for f in areas) == 162 + 16  # 16 steps mirror onto AMD
    # 48 --ignore flags written in test_areas, 11 more inherited by AMD mirrors
    assert sum(f.flags for f in areas) == 59
    assert (amd.path, amd.steps, amd.jobs, amd.flags) == (AMD.name, 182, 182, 72)
    assert (sum(f.pytest for f in areas), amd.pytest) == (338, 295)
    with_ignores = [j for j in reading.jobs if j.location.file == AMD.name]
    assert sum(1 for j in with_ignores if any(c.flags for c in j.commands)) == 28


def test_an_agent_pool_is_a_variant_and_its_gpu_count(jobs):
    model = job(jobs, AMD.name, 117, "rocm:mi250")  # Distributed Model Tests (2 GPUs)
    assert (model.device, model.gpus, model.pool_template) == (
        "mi250_2",
        2,
        "mi250_{gpus}",
    )
    assert model.gfx == ("gfx90a",)  # from mirror_hardwares: amdgfx90anightly
    assert job(jobs, AMD.name, 2777, "rocm:mi355").gfx == ("gfx950",)


def test_a_mirror_without_commands_inherits_the_steps_ignores_included(jobs):
    nvidia = job(jobs, "entrypoints.yaml", 30, "cuda")
    amd = job(jobs, "entrypoints.yaml", 40, "rocm:mi325")
    assert amd.mirror_of == nvidia.location and amd.location.line == 42  # amd:
    assert amd.key == "amd-entrypoints-integration-api-server-openai-part-1"
    assert [c.text for c in amd.commands] == [c.text for c in nvidia.commands]
    (pytest_run,) = amd.pytest
    assert [s.value for s in pytest_run.flags] == [
        "entrypoints/openai/chat_completion/test_chat_with_tool_reasoning.py",
        "entrypoints/openai/chat_completion/test_oot_registration.py",
    ]
    assert dict(pytest_run.env) == {"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}


def test_a_mirror_with_commands_replaces_the_steps(jobs):
    nvidia = job(jobs, "samplers.yaml", 5, "cuda")
    amd = job(jobs, "samplers.yaml", 24, "rocm:mi325")
    assert [c.text for c in nvidia.pytest] == [
        "VLLM_USE_FLASHINFER_SAMPLER=0 pytest -v -s samplers",
        "VLLM_USE_FLASHINFER_SAMPLER=1 pytest -v -s samplers",
    ]
    assert [(c.text, dict(c.env)) for c in amd.pytest] == [
        ("pytest -v -s samplers", {})
    ]


def test_exports_and_assignments_make_each_commands_environment(jobs):
    dp = job(jobs, "distributed.yaml", 36, "cuda")  # Distributed DP Tests (2 GPUs)
    first = dp.pytest[0]
    assert (
        first.text
        == "TP_SIZE=1 DP_SIZE=2 pytest -v -s v1/distributed/test_async_llm_dp.py"
    )
    assert dict(first.env) == {
        "NCCL_CUMEM_HOST_ENABLE": "0",
        "TP_SIZE": "1",
        "DP_SIZE": "2",
    }
    assert dict(dp.pytest[3].env) == {"NCCL_CUMEM_HOST_ENABLE": "0", "DP_SIZE": "2"}


def test_a_cd_moves_the_commands_after_it(jobs):
    standard4 = job(jobs, "models_multimodal.yaml", 66, "cuda")
    whisper = standard4.pytest[-1]
    assert (whisper.cwd, whisper.call.paths) == (
        "/vllm-workspace",
        ("tests/models/multimodal/generation/test_whisper.py",),
    )
    assert whisper.comment == 'Otherwise, mp_method="spawn" doesn\'t work'


def test_keys_the_import_does_not_read_are_noted_not_refused(jobs):
    acceptance = job(jobs, "misc.yaml", 241, "cuda")
    assert acceptance.notes == (
        "keys 'gpu', 'num_gpus' are not read by the import (test_areas steps say "
        "device and num_devices)",
    )
    language = job(jobs, "models_language.yaml", 5, "cuda")
    assert language.notes == ("mirror 'torch_nightly' is not imported",)


def test_the_amd_pipelines_notes_block_explains_its_commands(jobs):
    llm = job(jobs, AMD.name, 1362, "rocm:mi300")  # Entrypoints Integration (LLM)
    generate = next(c for c in llm.pytest if c.line == 1362)
    assert generate.comment == "It needs a clean process"
    tp = next(
        j for j in jobs if j.label == "LoRA TP (Distributed)" and j.variant == "mi300"
    )
    assert tp.note.startswith("There is some Tensor Parallelism related processing")


# -- deciding and proving: the 2026-05 snapshot --------------------------------


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_every_mapped_command_of_the_snapshot_runs_exactly_its_selection(snapshot):
    _, result, _seconds = snapshot
    totals = result["totals"]
    # node ids are runs' paths now: every pytest command maps, and proves exact
    assert {k: totals[k] for k in ("pytest_commands", "exact", "different")} == {
        "pytest_commands": 633,
        "exact": 633,
        "different": 0,
    }
    assert totals["not_mapped"] == 0
    ids = [c for c in result["commands"] if "node id" in c["detail"]]
    assert len(ids) == 16 and all(c["status"] == "exact" for c in ids)
    assert totals["other_commands"] == 332
    # its speed is benchmark F6's to measure (benchmarks/run.py), not a test's


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_the_snapshots_flags_split_directories_between_steps(snapshot):
    _, result, _ = snapshot
    totals = result["totals"]
    assert (
        totals["flags"],
        totals["excludes"],
        totals["ignores"],
        totals["dropped"],
    ) == (
        131,
        129,
        0,
        2,
    )
    # -x: LoRA TP's six commands on cuda and mi300, test_mixtral.py on A100 and mi300
    assert totals["output_flags_dropped"] == {"-s": 631, "-v": 629, "-x": 14}
    dropped = [f for f in result["flags"] if f["decision"] == "dropped"]
    assert {(f["flag"], f["reason"]) for f in dropped} == {
        (
            "--ignore=entrypoints/sleep",
            "matches nothing in the checkout (no such file or directory)",
        )
    }


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_an_mi300_mi355_pair_of_one_label_shares_the_suite_nvidia_runs(snapshot):
    _, result, _ = snapshot
    mi300 = command(result, AMD.name, 1345, "rocm", "mi300")
    mi355 = command(result, AMD.name, 2790, "rocm", "mi355")
    cuda = command(result, "entrypoints.yaml", 77, "cuda", "h200_18gb")
    suite = "entrypoints-integration-api-server-openai-part-3"
    assert (mi300["sessions"], mi355["sessions"], cuda["sessions"]) == (
        [f"rocm-mi300-{suite}"],
        [f"rocm-mi355-{suite}"],
        [f"cuda-h200_18gb-{suite}"],
    )
    assert mi300["status"] == mi355["status"] == cuda["status"] == "exact"
    rules = {
        (f["variant"], f["rule"])
        for f in result["flags"]
        if f["flag"] == "--ignore=entrypoints/openai/responses" and f["suite"] == suite
    }
    # mi300 runs the responses tests in a step of its own; mi355 has none, but its
    # twins split the directory the same way
    assert rules == {
        ("mi300", "another command here runs it"),
        ("mi355", "its twin leaves it out too"),
        ("h200_18gb", "its twin leaves it out too"),
    }


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_inherited_and_replaced_mirror_commands_map_to_sessions(snapshot):
    _, result, _ = snapshot
    inherited = command(result, "engine.yaml", 58, "rocm", "mi325")  # V1 e2e (2 GPUs)
    assert inherited["sessions"] == ["rocm-mi325-v1-e2e-2-gpus"]
    replaced = command(result, "samplers.yaml", 24, "rocm", "mi325")
    assert replaced["sessions"] == ["rocm-mi325-samplers-rocm"]
    assert command(result, AMD.name, 2018, "rocm", "mi300")["sessions"] == [
        "rocm-mi300-samplers-rocm"
    ]
    assert inherited["status"] == replaced["status"] == "exact"


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_the_written_suites_carry_env_shards_and_excludes(snapshot):
    root, _, _ = snapshot
    ws = load_workspace(root)
    # one suite for the step's four commands; the env CUDA and ROCm add is theirs
    dp = ws.suites["distributed-dp-2-gpus"]
    assert len(dp.runs) == 4 and dp.gpus == 2
    first = session_commands(ws, "cuda", dp.name)[0]
    assert first.env == {"NCCL_CUMEM_HOST_ENABLE": "0", "TP_SIZE": "1", "DP_SIZE": "2"}
    amd = session_commands(ws, "rocm", dp.name, variant="mi300")[0]
    assert amd.env == {"TORCH_NCCL_BLOCKING_WAIT": "1", "TP_SIZE": "1", "DP_SIZE": "2"}
    lora = ws.suites["lora"]
    assert lora.buildkite.parallelism == 4
    assert lora.runs_on == ("cuda", "rocm:mi250")
    assert {e.path for e in lora.excludes} == {
        "test_chatglm3_tp.py",
        "test_llama_tp.py",
        "test_llm_with_multi_loras.py",
        "test_olmoe_tp.py",
        "test_deepseekv2_tp.py",
        "test_gptoss_tp.py",
        "test_qwen3moe_tp.py",
        "test_qwen35_densemodel_lora.py",
    }
    llm = ws.suites["entrypoints-integration-llm"]
    assert "test_generate.py: it needs a clean process (runs in suite " in (
        llm.runs[0].excludes[0].reason
    )
    command_ = session_command(
        ws, "rocm", "entrypoints-integration-llm", variant="mi300", run=1
    )
    assert command_.argv[:7] == (
        "tests/entrypoints/llm",
        "--testmatrix-platform=rocm",
        "--testmatrix-variant=mi300",
        "--testmatrix-suite=entrypoints-integration-llm",
        "--testmatrix-run=1",
        "--ignore=tests/entrypoints/llm/test_generate.py",
        "--ignore=tests/entrypoints/llm/test_collective_rpc.py",
    )


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_rocm_variants_come_from_the_agent_pools(snapshot):
    root, _, _ = snapshot
    rocm = load_workspace(root).platforms["rocm"]
    assert {n: (v.match, v.buildkite.agents) for n, v in rocm.variants.items()} == {
        "mi250": (("gfx90a",), {"agent_pool": "mi250_{gpus}"}),
        "mi300": (("gfx942",), {"agent_pool": "mi300_{gpus}"}),
        "mi325": ((), {"agent_pool": "mi325_{gpus}"}),  # gfx942 is mi300's
        "mi355": (("gfx950",), {"agent_pool": "mi355_{gpus}"}),
    }
    text = (root / "skiplists/platforms/rocm.toml").read_text()
    assert "detection cannot tell it from mi300" in text


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_a_step_that_runs_from_slash_leaves_the_checkout_root_alone(jobs, snapshot):
    ray = job(jobs, AMD.name, 2049, "rocm:mi300")
    assert (ray.working_dir, ray.pytest) == ("/", ())
    _, result, _ = snapshot
    assert result["checkout_root"] == "/vllm-workspace"
    # and a given root is not refused because of it
    exists = set(
        (REFERENCE / "test-files.7075df79b.txt").read_text().split() + [LM_EVAL]
    )
    parents = {str(Path(p).parent) for p in exists} | {
        str(q) for p in exists for q in Path(p).parents
    }
    plan = importplan.plan(
        jobs,
        exists=lambda rel: rel in exists or rel in parents,
        checkout_root="/vllm-workspace",
    )
    assert plan.checkout_root == "/vllm-workspace"


@pytest.mark.slow  # a whole import of a real pipeline: the full tier's
def test_the_checkout_misses_a_test_path_every_one_is_an_error(tmp_path):
    root = checkout(tmp_path, "test-files.7075df79b.txt")  # no lm-eval-harness file
    result = run_import(root, AREAS, AMD)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 8  # 2 test_areas steps, 6 AMD steps
    assert lines[0] == (
        "testmatrix: error: test_areas.7075df79b/lm_eval.yaml:38: step 'LM Eval Large "
        "Models (4 GPUs)(H100)': pytest path 'test_lm_eval_correctness.py' "
        f"({LM_EVAL}) is not in the checkout"
    )
    assert not (root / "skiplists").exists()
    partial = run_import(root, AREAS, AMD, "--allow-partial")
    assert partial.returncode == 0, partial.output
    assert "625 exact, 0 different, 8 not mapped" in partial.stdout
    assert (
        f"lm_eval.yaml:38:   not-mapped: pytest -s -v test_lm_eval_correctness.py "
        "--config-list-file=configs/models-large-hopper.txt --tp-size=4 "
        f"('test_lm_eval_correctness.py' ({LM_EVAL}) is not in the checkout)"
    ) in partial.stdout


# -- the PR-era pair: encoder models the ROCm pipeline leaves out --------------


@pytest.mark.slow  # a whole import of a real pipeline: the full tier's
def test_pr_era_encoder_ignores_become_rocm_ignores_with_their_issue(tmp_path):
    root = checkout(tmp_path, "test-files.802748bdd.txt", LM_EVAL)
    result = run_import(root, OLD_MAIN, OLD_AMD, "--json")
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    totals = report["totals"]
    assert {k: totals[k] for k in ("exact", "different", "not_mapped", "ignores")} == {
        "exact": 356,  # node ids map too
        "different": 0,
        "not_mapped": 4,  # the commands of 2-node steps (one per node)
        # 14 encoder ignores, and v1/kv_connector's lmcache test, which the AMD step
        # leaves out and its NVIDIA twin runs (the AMD command that runs it has
        # another -m: no split, a ROCm entry)
        "ignores": 15,
    }
    rocm = load_workspace(root).platforms["rocm"]
    by_suite: dict[str, set[str]] = {}
    lmcache = [e for e in rocm.ignores if e.suite == "v1-others"]
    assert [e.target for e in lmcache] == [
        "tests/v1/kv_connector/unit/test_lmcache_integration.py"
    ]
    for entry in rocm.ignores:
        if entry in lmcache:
            continue
        by_suite.setdefault(entry.suite, set()).add(entry.path)
        assert entry.issue == "https://github.com/vllm-project/vllm/issues/27442"
    assert by_suite == {
        # relative to the base of the step's suite: tests/entrypoints
        "entrypoints-integration-api-server": {
            "openai/test_vision.py",
            "openai/test_optional_middleware.py",
        },
        "entrypoints-integration-pooling": ROCM_IGNORES["pooling"],
        "openai-api-correctness": {"test_transcription_api_correctness.py"},
    }
    pooling = next(
        e for e in rocm.ignores if e.suite == "entrypoints-integration-pooling"
    )
    assert pooling.reason.startswith("Skip encoder models on ROCm")


# -- variations a later snapshot may bring -------------------------------------

AMD_VARIANTS = """\
steps:
- label: Pooling
  agent_pool: mi300_1
  working_dir: /ws/tests
  commands:
  - pytest -v -s pool
- label: Pooling
  agent_pool: mi355_1
  working_dir: /ws/tests
  commands:
  - pytest -v -s pool --ignore=pool/test_b.py  # gfx950 kernels missing, see https://github.com/o/r/issues/9
"""


def tree(root: Path, *paths: str) -> Path:
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).touch()
    return root


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_a_path_one_variant_drops_is_a_variant_ignore(tmp_path):
    root = tree(tmp_path, "tests/pool/test_a.py", "tests/pool/test_b.py")
    pipeline = write(tmp_path, "test-amd.yaml", AMD_VARIANTS)
    result = run_import(root, pipeline, "--json")
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert [(c["sessions"], c["status"]) for c in report["commands"]] == [
        (["rocm-mi300-pooling"], "exact"),
        (["rocm-mi355-pooling"], "exact"),
    ]
    (entry,) = load_workspace(root).platforms["rocm"].ignores
    assert (entry.suite, entry.path, entry.variants) == (
        "pooling",
        "test_b.py",
        ("mi355",),
    )
    assert (entry.reason, entry.issue) == (
        "gfx950 kernels missing, see https://github.com/o/r/issues/9",
        "https://github.com/o/r/issues/9",
    )


AREAS_FILE = """\
group: Pooling
steps:
- label: Pooling
  working_dir: /ws/tests
  commands:
  - pytest -v -s pool
  mirror:
    amd:
      device: mi300_1
      commands:
      - pytest -v -s pool --ignore=pool/test_b.py
"""


def test_a_path_only_the_other_platform_runs_is_a_platform_ignore(tmp_path):
    root = tree(tmp_path, "tests/pool/test_a.py", "tests/pool/test_b.py")
    areas = write(tmp_path, "test_areas/pooling.yaml", AREAS_FILE)
    result = run_import(root, areas.parent, "--json")
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert [c["sessions"] for c in report["commands"]] == [
        ["cuda-pooling"],
        ["rocm-mi300-pooling"],
    ]
    (flag,) = report["flags"]
    assert (flag["decision"], flag["rule"], flag["variants"]) == (
        "ignore",
        "only other targets run it",
        [],
    )
    ws = load_workspace(root)
    assert ws.suites["pooling"].runs_on == ("cuda", "rocm:mi300")
    assert [(e.path, e.variants) for e in ws.platforms["rocm"].ignores] == [
        ("test_b.py", ())
    ]


VARIED_AMD = """\
# working_dir(str): where the commands run, default to /ws/tests
common: &common
  agent_pool: amd-mi400x-8
  mirror_hardwares: [amdexperimental, amdgfx1250nightly]
setup: &setup
  - pip install -e .
steps:
- label: ":rocm: Pool %N"
  <<: *common
  new_key_of_a_later_snapshot: 1
  parallelism: 2
  commands:
  - *setup
  - >-
      A=1 pytest -v -s pool
      --ignore=pool/test_b.py
      --shard-id=$$BUILDKITE_PARALLEL_JOB --num-shards=$$BUILDKITE_PARALLEL_JOB_COUNT
- label: Pool B
  <<: *common
  command: "export B=2 && cd pool && pytest -x test_b.py"
- label: Default agents
  working_dir: /ws
  command: pytest tests/pool/test_a.py
"""


def test_anchors_folded_scalars_chains_cd_and_new_pools(tmp_path):
    root = tree(tmp_path, "tests/pool/test_a.py", "tests/pool/test_b.py")
    pipeline = write(tmp_path, "test-amd.yaml", VARIED_AMD)
    result = run_import(root, pipeline, "--json")
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    pytest_runs = [c for c in report["commands"] if c["kind"] == "pytest"]
    assert [
        (c["line"], c["variant"], c["sessions"], c["status"]) for c in pytest_runs
    ] == [
        (14, "amd-mi400x", ["rocm-amd-mi400x-pool"], "exact"),
        (20, "amd-mi400x", ["rocm-amd-mi400x-pool-b"], "exact"),
        (23, None, ["rocm-default-agents"], "exact"),
    ]
    (flag,) = report["flags"]
    assert (flag["line"], flag["decision"], flag["rule"]) == (
        16,
        "exclude",
        "another command here runs it",
    )
    ws = load_workspace(root)
    pool = ws.suites["pool"]
    assert (dict(pool.env), pool.gpus, pool.buildkite.parallelism) == ({"A": "1"}, 8, 2)
    assert [e.path for e in pool.excludes] == ["test_b.py"]
    assert dict(ws.suites["pool-b"].env) == {"B": "2"}
    variant = ws.platforms["rocm"].variants["amd-mi400x"]
    assert variant.match == ("gfx1250",)
    assert variant.buildkite.agents == {"agent_pool": "amd-mi400x-{gpus}"}
    notes = run_import(root, pipeline, "--force").stdout.splitlines()
    assert (
        "test-amd.yaml:8: step ':rocm: Pool %N' (rocm:amd-mi400x): keys "
        "'new_key_of_a_later_snapshot' are not read by the import" in notes
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("test-amd.yaml", "steps:\n- label: x\n  command: [unclosed\n", "not YAML"),
        (
            "test_areas/a.yaml",
            "group: A\nsteps: {}\n",
            "test_areas/a.yaml:2: not a vLLM CI file: no 'steps' list",
        ),
        (
            "test_areas/a.yaml",
            "group: A\nsteps:\n- label: x\n  num_devices: two\n  command: pytest t\n",
            "test_areas/a.yaml:4: 'num_devices' must be a whole number >= 1, got 'two'",
        ),
        (
            "test_areas/a.yaml",
            "group: A\nsteps:\n- label: x\n  command: pytest t\n  mirror: [amd]\n",
            "test_areas/a.yaml:5: 'mirror' must be a mapping, got ['amd']",
        ),
        (
            "test_areas/a.yaml",
            "group: A\nsteps:\n- label: x\n  env: {A: [1]}\n  command: pytest t\n",
            "test_areas/a.yaml:4: 'env' value of A must be a string, got [1]",
        ),
        (
            "test_areas/a.yaml",
            "group: A\nsteps:\n- label: x\n  commands: {a: b}\n",
            "test_areas/a.yaml:4: 'commands' must be a string or a list of strings",
        ),
        (
            "pipeline.yml",
            "steps:\n- label: x\n  command: pytest t\n",
            "pipeline.yml:2: not a vLLM CI file: no 'group' (test_areas), no step with "
            "an agent_pool (test-amd.yaml) or vLLM's step keys "
            "(source_file_dependencies, mirror_hardwares); to import another "
            "Buildkite pipeline, pass --from buildkite (its pytest commands as "
            "suites) or --platform (its --ignore flags alone)",
        ),
    ],
)
def test_bad_input_is_one_line_naming_file_and_line(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    given = path.parent if name.startswith("test_areas/") else path
    # without --from, a plain pipeline is imported as one (tests/selftest/pipelines)
    result = run_import(tmp_path, given, "--from", "vllm")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("testmatrix: error: ") and message in line
    assert not (tmp_path / "skiplists").exists()


def test_a_missing_input_and_an_empty_directory(tmp_path):
    result = run_import(tmp_path, tmp_path / "nowhere")
    assert (
        result.stderr
        == f"testmatrix: error: {tmp_path / 'nowhere'}: no such file or directory\n"
    )
    (tmp_path / "empty").mkdir()
    result = run_import(tmp_path, tmp_path / "empty")
    assert result.stderr == (
        f"testmatrix: error: {tmp_path / 'empty'}: no *.yaml files (a test_areas "
        "directory)\n"
    )


def test_existing_skiplists_are_overwritten_only_with_force(tmp_path):
    root = tree(tmp_path, "tests/pool/test_a.py", "tests/pool/test_b.py")
    pipeline = write(tmp_path, "test-amd.yaml", AMD_VARIANTS)
    write(root, "skiplists/suites.toml", "# mine\n")
    result = run_import(root, pipeline)
    assert result.returncode == 2
    assert result.stderr == (
        "testmatrix: error: skiplists/suites.toml: already exists; pass --force to "
        "overwrite it\n"
    )
    assert (root / "skiplists/suites.toml").read_text() == "# mine\n"
    assert run_import(root, pipeline, "--force").returncode == 0
    assert "[suites.pooling]" in (root / "skiplists/suites.toml").read_text()


DESELECTS = """\
steps:
- label: Whole
  agent_pool: mi300_1
  working_dir: /ws
  command: pytest tests/pool --deselect tests/pool/test_a.py::test_one
- label: One file
  agent_pool: mi300_1
  working_dir: /ws
  command: pytest tests/pool/test_a.py
"""


def test_a_session_that_would_run_something_else_is_reported_and_not_written(
    tmp_path,
):
    root = tree(tmp_path, "tests/pool/test_a.py", "tests/pool/test_b.py")
    pipeline = write(tmp_path, "test-amd.yaml", DESELECTS)
    result = run_import(root, pipeline)
    assert result.returncode == 1
    # a deselect is the platform's: it reaches every suite holding the file
    assert (
        "test-amd.yaml:9:   different: pytest tests/pool/test_a.py (--deselect: CI [], "
        "session ['tests/pool/test_a.py::test_one'])"
    ) in result.stdout
    assert "1 exact, 1 different, 0 not mapped" in result.stdout
    assert "nothing written (--allow-partial writes it anyway)" in result.stderr
    assert not (root / "skiplists").exists()
    assert run_import(root, pipeline, "--allow-partial").returncode == 0
    assert (root / "skiplists/platforms/rocm.toml").exists()


def test_a_pytest_run_outside_the_given_checkout_root_is_not_mapped(tmp_path):
    root = tree(tmp_path, "tests/pool/test_a.py")
    pipeline = write(
        tmp_path,
        "test-amd.yaml",
        "steps:\n- label: Elsewhere\n  agent_pool: mi300_1\n  working_dir: /opt/x\n"
        "  command: pytest pool\n- label: Here\n  agent_pool: mi300_1\n"
        "  working_dir: /ws/tests\n  command: pytest pool\n",
    )
    result = run_import(root, pipeline, "--checkout-root", "/ws", "--json")
    assert result.returncode == 0, result.output
    statuses = [
        (c["label"], c["status"], c["detail"])
        for c in json.loads(result.stdout)["commands"]
    ]
    assert statuses[0] == (
        "Elsewhere",
        "not-mapped",
        "runs in /opt/x, outside the checkout root /ws",
    )
    assert statuses[1][:2] == ("Here", "exact")


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_the_json_report_names_every_command(snapshot):
    _, result, _ = snapshot
    keys = {"file", "line", "label", "platform", "variant", "kind", "command"}
    keys |= {"sessions", "status", "detail"}
    assert all(set(c) == keys for c in result["commands"])
    statuses = {c["status"] for c in result["commands"]}
    assert statuses == {"exact", "not-mapped"}
    find = next(
        c
        for c in result["commands"]
        if c["command"].startswith("find compile/ -maxdepth 1")
        and c["file"].endswith("pytorch.yaml")
    )
    # find | xargs: split at the pipe; xargs runs pytest, find does not
    assert find["detail"] == "not a pytest command: a session runs pytest only"
    xargs = next(c for c in result["commands"] if c["command"].startswith("xargs -0"))
    assert xargs["detail"] == (
        "'xargs' runs pytest on what it finds when the job runs; not a pytest "
        "command line"
    )


@pytest.mark.slow  # a whole import of a real pipeline: the full tier's
def test_the_amd_pipeline_alone_and_test_areas_alone(tmp_path):
    root = checkout(tmp_path, "test-files.7075df79b.txt", LM_EVAL)
    alone = run_import(root, AMD, "--json")
    assert alone.returncode == 0, alone.output
    totals = json.loads(alone.stdout)["totals"]
    assert (totals["pytest_commands"], totals["different"]) == (295, 0)
    assert set(json.loads(alone.stdout)["files"][0]) >= {"path", "steps", "flags"}
    areas = run_import(root, AREAS, "--json", "--force")
    assert areas.returncode == 0, areas.output
    totals = json.loads(areas.stdout)["totals"]
    assert (totals["pytest_commands"], totals["different"]) == (338, 0)


def test_import_with_platform_takes_one_pipeline(tmp_path):
    one, two = tmp_path / "a.yml", tmp_path / "b.yml"
    result = run_import(tmp_path, one, two, "--platform", "rocm")
    assert result.returncode == 2
    assert result.stderr == (
        "testmatrix: error: import --platform takes one pipeline file; without "
        "--platform, give vLLM's test_areas directory and/or test-amd.yaml\n"
    )


@pytest.mark.slow
def test_import_then_argv_from_elsewhere_gives_checkout_relative_paths(tmp_path):
    root = checkout(tmp_path / "vllm", "test-files.7075df79b.txt", LM_EVAL)
    cli = [sys.executable, "-m", "testmatrix"]
    result = run([*cli, "import", str(AREAS), str(AMD)], root)
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[-1].startswith(
        "testmatrix import: 633 pytest commands: 633 exact, 0 different, 0 not mapped"
    )
    argv = run(
        [*cli, "--root", str(root), "argv", "--json", "rocm-mi250-lora"], tmp_path
    )
    assert argv.returncode == 0, argv.output
    assert (
        json.loads(argv.stdout)["argv"][:4]
        == [
            "tests/lora",
            "--platform=rocm",
            "--variant=mi355",
            "--suite=lora",
        ]
        or json.loads(argv.stdout)["argv"][0] == "tests/lora"
    )


def test_steps_without_working_dir_run_in_the_default_one(tmp_path):
    root = tree(tmp_path, "tests/pool/test_a.py", "suite/pool/test_a.py")
    areas = write(
        tmp_path,
        "test_areas/pool.yaml",
        "steps:\n- label: Pool\n  command: pytest pool\n",  # and no group
    )
    result = run_import(root, areas.parent, "--json")
    assert result.returncode == 0, result.output
    assert json.loads(result.stdout)["checkout_root"] == "/vllm-workspace"
    assert load_workspace(root).suites["pool"].paths == ("tests/pool",)
    moved = run_import(
        root, areas.parent, "--force", "--default-working-dir", "/ws/suite"
    )
    assert moved.returncode == 0, moved.output
    text = (root / "skiplists/suites.toml").read_text()
    assert "# -- pool " in text  # the file's name stands for its missing group
    assert load_workspace(root).suites["pool"].paths == ("suite/pool",)


TWO_DESELECTS = """\
steps:
- label: Whole
  agent_pool: mi300_1
  working_dir: /ws
  command: pytest tests/pool --deselect tests/pool/test_a.py::test_one
- label: Whole again
  agent_pool: mi300_1
  working_dir: /ws
  env: {A: "1"}
  command: pytest tests/pool --deselect=tests/pool/test_a.py::test_one
"""


def test_a_test_id_two_suites_deselect_is_one_entry(tmp_path):
    root = tree(tmp_path, "tests/pool/test_a.py")
    result = run_import(root, write(tmp_path, "test-amd.yaml", TWO_DESELECTS))
    assert result.returncode == 0, result.output
    assert "2 exact, 0 different" in result.stdout
    (entry,) = load_workspace(root).platforms["rocm"].deselects
    assert (entry.nodeid, entry.variants) == (
        "tests/pool/test_a.py::test_one",
        ("mi300",),
    )


def test_a_suite_every_platform_runs_as_a_whole_names_no_platforms(tmp_path):
    root = tree(tmp_path, "tests/pool/test_a.py", "tests/pool/test_b.py")
    areas = write(
        tmp_path,
        "test_areas/pooling.yaml",
        AREAS_FILE.replace("      device: mi300_1\n", ""),  # the default AMD agents
    )
    result = run_import(root, areas.parent)
    assert result.returncode == 0, result.output
    assert load_workspace(root).suites["pooling"].runs_on is None
    assert "platforms" not in (root / "skiplists/suites.toml").read_text()


@pytest.mark.parametrize(
    ("command", "detail"),
    [
        (
            "pytest tests/pool tests/pool/test_a.py",
            "paths 'tests/pool' and 'tests/pool/test_a.py' overlap",
        ),
        (
            "pytest tests/pool -m 'not (a'",
            "-m 'not (a' is not a valid expression: expected ')'; found end of input",
        ),
        (
            "pytest tests/pool --ignore=tests/pool",
            "--ignore=tests/pool ignores all of a test path",
        ),
        (
            "pytest tests/pool --ignore-glob='*_b.py'",
            "--ignore-glob=*_b.py: a glob of paths to ignore; suites and entries name "
            "paths",
        ),
        ("pytest $TESTS", "'$TESTS' names a shell variable, known only when it runs"),
        ("cd $HOME && pytest tests/pool", "working directory unknown after 'cd $HOME'"),
        (
            "pytest 'unclosed",
            "the shell cannot split it into words (an unbalanced quote)",
        ),
    ],
)
def test_commands_it_cannot_map_say_why(tmp_path, command, detail):
    root = tree(tmp_path, "tests/pool/test_a.py", "tests/pool/test_b.py")
    pipeline = write(
        tmp_path,
        "test-amd.yaml",
        "steps:\n- label: Fine\n  agent_pool: mi300_1\n  working_dir: /ws\n"
        "  command: pytest tests/pool\n- label: Odd\n  agent_pool: mi300_1\n"
        f"  working_dir: /ws\n  commands:\n  - {json.dumps(command)}\n",
    )
    result = run_import(root, pipeline, "--json")
    assert result.returncode == 0, result.output
    odd = [c for c in json.loads(result.stdout)["commands"] if c["label"] == "Odd"]
    assert [(c["status"], c["detail"]) for c in odd][-1] == ("not-mapped", detail)


def test_when_no_command_maps_nothing_is_written(tmp_path):
    pipeline = write(
        tmp_path,
        "test-amd.yaml",
        "steps:\n- label: Odd\n  agent_pool: mi300_1\n  command: pytest $TESTS\n",
    )
    result = run_import(tmp_path, pipeline)
    assert result.returncode == 2
    assert result.stderr == (
        f"testmatrix: error: {pipeline}: no pytest command maps to a suite; "
        "nothing written\n"
    )
    assert "test-amd.yaml:4:   not-mapped: pytest $TESTS" in result.stdout
    assert not (tmp_path / "skiplists").exists()


# -- issue 23: a suite is a CI step, twins are one suite, compact skiplists ----------


def _lines(*paths: Path) -> int:
    files = [
        f for p in paths for f in (sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    ]
    return sum(len(f.read_text().splitlines()) for f in files)


def _written_lines(root: Path) -> int:
    found = [*root.glob("skiplists/*.toml"), *root.glob("skiplists/platforms/*.toml")]
    return sum(len(p.read_text().splitlines()) for p in found)


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_each_ci_step_is_one_suite_and_no_twin_suites_remain(snapshot):
    root, result, _ = snapshot
    totals = result["totals"]
    # 287 steps run pytest (a test_areas step and its mirror count once); one
    # suite holds a step and its twins on other targets: 54 twin pairs before
    assert (totals["steps"], totals["suites"], totals["twin_suites"]) == (287, 138, 0)
    ws = load_workspace(root)
    correctness = ws.suites["basic-correctness"]
    assert [r.paths for r in correctness.runs] == [
        ("tests/basic_correctness/test_cumem.py",),
        ("tests/basic_correctness/test_basic_correctness.py",),
        ("tests/basic_correctness/test_cpu_offload.py",),
    ]
    sessions = result["commands"]
    lines = {
        c["line"]: c["sessions"]
        for c in sessions
        if c["file"].endswith("basic_correctness.yaml") and c["platform"] == "cuda"
    }
    assert set(map(tuple, lines.values())) == {("cuda-h200_18gb-basic-correctness",)}


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_what_amd_selects_differently_is_the_targets_override_with_its_reason(
    snapshot,
):
    root, _, _ = snapshot
    ws = load_workspace(root)
    quick = ws.suites["fusion-e2e-quick"]
    (second,) = [r for r in quick.runs if r.run == 2]
    (override,) = second.overrides
    assert override.target == "rocm" and override.keyword == (
        "inductor_partition and +rms_norm and +quant_fp8 and qwen3"
    )
    assert override.reason.startswith("Different from CUDA, Qwen requires +rms_norm")
    cuda = session_command(ws, "cuda", quick.name, variant="h100", run=2)
    rocm = session_command(ws, "rocm", quick.name, variant="mi300", run=2)
    k = lambda c: c.argv[c.argv.index("-k") + 1]  # noqa: E731
    assert k(cuda) != k(rocm) == override.keyword


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_the_skiplists_are_at_most_a_third_of_the_yaml_they_replace(snapshot):
    root, _, _ = snapshot
    yaml_lines = _lines(AREAS, AMD)
    assert _written_lines(root) * 3 <= yaml_lines, (_written_lines(root), yaml_lines)


@pytest.mark.slow  # a whole import of a real pipeline: the full tier's
def test_the_pr_era_pair_is_compact_twin_free_and_exact(tmp_path):
    root = checkout(tmp_path, "test-files.802748bdd.txt", LM_EVAL)
    result = run_import(root, OLD_MAIN, OLD_AMD, "--json")
    assert result.returncode == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert (totals["steps"], totals["suites"], totals["twin_suites"]) == (144, 82, 0)
    assert (totals["exact"], totals["different"]) == (356, 0)
    assert _written_lines(root) * 3 <= _lines(OLD_MAIN, OLD_AMD)


def test_node_ids_and_globs_become_runs_and_the_proof_says_so(tmp_path):
    root = tree(
        tmp_path,
        "tests/kernels/test_fused_moe.py",
        "tests/kernels/test_fused_attn.py",
        "tests/kernels/test_other.py",
    )
    areas = write(
        tmp_path,
        "test_areas/kernels.yaml",
        "group: Kernels\nsteps:\n- label: Fused\n  commands:\n"
        "  - pytest -v kernels/test_fused_*.py\n"
        "  - pytest -v kernels/test_other.py::test_one\n",
    )
    result = run_import(
        root, areas.parent, "--json", "--checkout-root", "/vllm-workspace"
    )
    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    glob, node = (c for c in report["commands"] if c["kind"] == "pytest")
    assert glob["status"] == node["status"] == "exact"
    assert (
        "glob 'tests/kernels/test_fused_*.py' expanded as the shell would: 2"
        in (glob["detail"])
    )
    assert "1 node id compared as written" in node["detail"]
    ws = load_workspace(root)
    (suite,) = ws.suites.values()
    first, second = session_commands(ws, "cuda", suite.name)
    assert first.argv[:2] == (
        "tests/kernels/test_fused_attn.py",
        "tests/kernels/test_fused_moe.py",
    )
    assert second.argv[0] == "tests/kernels/test_other.py::test_one"


def test_an_amd_step_of_test_areas_is_read_as_amd(tmp_path):
    areas = write(
        tmp_path,
        "test_areas/amd.yaml",
        "group: AMD\nsteps:\n- label: Kernels on MI355\n  device: mi355_1\n"
        "  depends_on:\n  - image-build-amd\n  commands:\n  - pytest kernels\n"
        "- label: Waits for the AMD image\n  depends_on: image-build-amd\n"
        "  commands:\n  - pytest kernels\n",
    )
    jobs = vllmci.read([areas.parent]).jobs
    assert [(j.platform, j.variant, j.gpus) for j in jobs] == [
        ("rocm", "mi355", 1),
        ("rocm", None, 1),
    ]
    assert jobs[0].pool_template == "mi355_{gpus}"


@pytest.mark.slow  # the whole real snapshot imported and proven: full tier
def test_what_a_group_shares_reaches_only_the_suites_that_have_it(snapshot):
    root, _, _ = snapshot
    from testmatrix.core.runs import expand

    plan = importplan.plan(
        vllmci.read([AREAS, AMD]).jobs,
        exists=lambda rel: (root / rel).exists(),
        glob=lambda rel: [p for p in expand(root, rel) if p != rel],
    )
    ws = load_workspace(root)
    whole = set(plan.platforms)
    for suite in plan.suites.values():
        written = ws.suites[suite.name]
        assert written.gpus == suite.gpus, suite.name
        assert written.buildkite.parallelism == suite.parallelism, suite.name
        assert written.buildkite.timeout_in_minutes == suite.timeout_in_minutes
        assert bool(written.buildkite.soft_fail) == suite.soft_fail, suite.name
        places = set(written.runs_on or whole)
        assert places == (set(suite.places) if set(suite.places) != whole else whole)
