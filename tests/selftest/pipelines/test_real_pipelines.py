"""Real CI files of public GPU projects (tests/selftest/data/pipelines/, see its
README.txt): imported and proven command by command on a checkout made from the
files their commands name."""

from __future__ import annotations

from pathlib import Path

from selftest.helpers import REPO
from testmatrix.config.loader import load_workspace

from .support import checkout_from, read, run_json

DATA = REPO / "tests" / "selftest" / "data" / "pipelines"


def imported(tmp_path: Path, names: list[str], *options: str, root: str) -> dict:
    files = [DATA / name for name in names]
    runner = tuple(o.split(" ", 1)[1] for o in options if o.startswith("--runner"))
    wrapper = tuple(o.split(" ", 1)[1] for o in options if o.startswith("--wrapper"))
    given = root if "--checkout-root" in " ".join(options) else None
    checkout_from(
        read(*files, runner=runner, wrapper=wrapper, root=given), tmp_path, root
    )
    args = [a for o in options for a in o.split(" ", 1)]
    code, report = run_json(tmp_path, *files, *args)
    assert code == 0, report
    return report


def exact(report: dict) -> list[str]:
    return [c["command"] for c in report["commands"] if c["status"] == "exact"]


def test_tpu_inference_plain_buildkite_pipeline(tmp_path: Path) -> None:
    report = imported(
        tmp_path,
        ["tpu-inference.pipeline_jax.yml"],
        "--runner tpu_*=tpu:v6e",
        "--wrapper .buildkite/scripts/run_in_docker.sh",
        "--checkout-root /workspace/tpu_commons",
        root="/workspace/tpu_commons",
    )
    assert len(exact(report)) == 3 and report["totals"]["pytest_commands"] == 3
    workspace = load_workspace(tmp_path, tmp_path / "skiplists")
    unit = workspace.suites["jax-unit"]
    assert unit.paths == ("tests",)
    assert {e.path for e in unit.excludes} == {"kernels", "e2e", "models/vllm"}
    assert set(workspace.platforms) == {"tpu"}
    # the mlperf and notification scripts run no pytest: counted, not dropped
    assert report["totals"]["other_commands"] == 5


def test_tpu_inference_without_a_mapping_lists_every_step(tmp_path: Path) -> None:
    files = [DATA / "tpu-inference.pipeline_jax.yml"]
    code, report = run_json(tmp_path, *files)
    assert code == 2
    assert {u["reason"] for u in report["unread"]} == {
        "its runner labels ('tpu_v6e_queue', 'queue=tpu_v6e_queue') tell no "
        "platform; pass --runner LABEL=PLATFORM[:VARIANT]"
    }
    assert len(report["unread"]) == 7


def test_sglang_amd_workflow_with_docker_exec(tmp_path: Path) -> None:
    report = imported(
        tmp_path,
        ["sglang.pr-test-amd.excerpt.yml"],
        "--checkout-root /sglang-checkout",
        root="/sglang-checkout",
    )
    assert len(exact(report)) == 6
    workspace = load_workspace(tmp_path, tmp_path / "skiplists")
    assert set(workspace.platforms["rocm"].variants) == {"gfx942"}
    # the job is one suite; its six pytest commands are its runs
    (suite,) = workspace.suites.values()
    assert {run.paths[0] for run in suite.runs} == {
        "sgl-kernel/tests/test_moe_align.py",
        "sgl-kernel/tests/test_moe_topk_softmax.py",
        "sgl-kernel/tests/speculative/test_eagle_utils.py",
        "sgl-kernel/tests/test_apply_token_bitmask_inplace.py",
        "sgl-kernel/tests/test_activation.py",
        "sgl-kernel/tests/test_kvcacheio.py",
    }
    # the 12 shards of the run_suite.py job: jobs with no pytest command
    labels = [c["label"] for c in report["commands"]]
    assert len({lab for lab in labels if lab.startswith("unit-test-backend")}) == 12


def test_pytorch_ao_rocm_and_l4_workflows_together(tmp_path: Path) -> None:
    report = imported(
        tmp_path,
        ["ao.regression_test_rocm.yml", "ao.1xL4_tests.yml"],
        root="/github/workspace",
    )
    assert report["totals"]["different"] == 0 and len(exact(report)) == 7
    workspace = load_workspace(tmp_path, tmp_path / "skiplists")
    assert set(workspace.platforms["rocm"].variants) == {"mi350"}
    assert set(workspace.platforms["cuda"].variants) == {"l4"}
    rocm_suite = next(s for s in workspace.suites.values() if s.paths == ("test",))
    (exclude,) = rocm_suite.excludes
    assert exclude.path == "quantization/pt2e"
    assert exclude.reason.startswith("PT2E tests (test/quantization/pt2e)")
