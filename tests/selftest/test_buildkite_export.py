"""Buildkite export of vLLM-shaped settings: image-build dependencies, plugins, the
AMD command wrapper, if_changed, soft-fail statuses, retry rules, concurrency,
priority, Test Engine uploads, and the last step that posts the merged matrix."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from testmatrix import buildkite, reports
from testmatrix.config import load_workspace
from testmatrix.errors import ConfigError

WRAPPER = 'bash .buildkite/scripts/hardware_ci/run-amd-test.sh "{command}"'
VLLM_LIKE = {
    "skiplists/suites.toml": """
        [workspace.buildkite]
        depends_on = "image-build"
        priority = 1
        test_collector = "test-collector#v1.0.0"
        test_collector_token_env = "TEST_ENGINE_TOKEN"

        [suites.unit]
        path = "tests/unit"
        markexpr = "not slow"
        buildkite = { parallelism = 2, source_file_dependencies = ["vllm/unit/"] }

        [suites.other]
        path = "tests/other"
        gpus = 2
    """,
    "skiplists/platforms/rocm.toml": """
        [platform]
        hardware = "rocm"

        [platform.buildkite]
        depends_on = ["image-build-amd"]
        command_template = 'WRAPPER'
        plugins = [
          { "docker#v5.12.0" = { image = "rocm/vllm-ci:$BUILDKITE_COMMIT" } },
          "improbable-eng/metahook#v0.4.1",
        ]
        if_changed = true
        source_file_dependencies = ["vllm/platforms/rocm.py", "!vllm/platforms/cuda"]
        soft_fail = [1, 134]
        retry_rules = [
          { exit_status = 134, limit = 1 },
          { signal_reason = "agent_refused", limit = 2 },
          { signal_reason = "stack_error", limit = 2 },
          { exit_status = [128, 1], limit = 1 },
        ]
        concurrency = 4
        concurrency_group = "amd-{gpus}"
        agents = { agent_pool = "mi325_{gpus}" }
    """,
    "skiplists/platforms/cuda.toml": """
        [platform]
        hardware = "cuda"
        buildkite = { queue = "gpu", if_changed = ["vllm/**", "!vllm/rocm/**"] }
    """,
    "tests/other/test_b.py": "def test_b():\n    pass\n",
}
ROCM = "skiplists/platforms/rocm.toml"
VLLM_LIKE[ROCM] = VLLM_LIKE[ROCM].replace("WRAPPER", WRAPPER)


def steps_by_key(pipeline: dict) -> dict[str, dict]:
    out = {}
    for step in pipeline["steps"]:
        for inner in step.get("steps", [step]):
            out[inner["key"]] = inner
    return out


@pytest.fixture
def vllm_like(tiny) -> Path:
    return tiny(VLLM_LIKE)


def test_every_vllm_setting_reaches_the_step(vllm_like):
    # build_pipeline validates against Buildkite's official schema (the SDK's)
    pipeline = buildkite.build_pipeline(load_workspace(vllm_like))
    steps = steps_by_key(pipeline)
    unit = steps["rocm-unit"]
    assert unit["depends_on"] == ["image-build-amd"]  # the platform's over the root's
    words = shlex.split(unit["command"])
    assert words[:2] == ["bash", ".buildkite/scripts/hardware_ci/run-amd-test.sh"]
    inner = shlex.split(words[2])  # the wrapper gets the session's command whole
    assert inner[:4] == ["nox", "--no-venv", "-s", "rocm-unit"]
    assert "--testmatrix-shard-id=$$BUILDKITE_PARALLEL_JOB" in inner
    assert unit["plugins"] == [
        {"docker#v5.12.0": {"image": "rocm/vllm-ci:$BUILDKITE_COMMIT"}},
        "improbable-eng/metahook#v0.4.1",
        {
            "test-collector#v1.0.0": {
                "files": "reports/rocm-unit/junit*.xml",
                "format": "junit",
                "api-token-env-name": "TEST_ENGINE_TOKEN",
            }
        },
    ]
    assert unit["if_changed"] == {
        "include": [
            "tests/unit/**",
            "vllm/platforms/rocm.py",
            "vllm/unit/**",
            "skiplists/**",
        ],
        "exclude": ["vllm/platforms/cuda", "vllm/platforms/cuda/**"],
    }
    assert unit["soft_fail"] == [{"exit_status": 1}, {"exit_status": 134}]
    assert unit["retry"]["automatic"] == [
        {"exit_status": -1, "limit": 2},
        {"signal_reason": "agent_stop", "limit": 2},
        {"exit_status": 134, "limit": 1},
        {"signal_reason": "agent_refused", "limit": 2},
        {"signal_reason": "stack_error", "limit": 2},
        {"exit_status": [128, 1], "limit": 1},
    ]
    assert (unit["concurrency"], unit["concurrency_group"]) == (4, "amd-1")
    assert steps["rocm-other"]["concurrency_group"] == "amd-2"
    assert steps["rocm-other"]["agents"] == {"agent_pool": "mi325_2"}
    assert unit["priority"] == 1 and unit["parallelism"] == 2
    cuda = steps["cuda-unit"]
    assert cuda["depends_on"] == ["image-build"] and "soft_fail" not in cuda
    assert cuda["if_changed"] == {"include": ["vllm/**"], "exclude": ["vllm/rocm/**"]}
    assert cuda["command"].startswith("nox --no-venv -s cuda-unit -- ")


def test_the_template_quotes_the_pytest_style_command_for_its_wrapper(vllm_like):
    pipeline = buildkite.build_pipeline(load_workspace(vllm_like), style="pytest")
    step = steps_by_key(pipeline)["rocm-unit"]
    words = shlex.split(step["command"])
    inner = shlex.split(words[2])
    assert inner[0] == "pytest" and inner[inner.index("-m") + 1] == "not slow"
    assert (
        "--testmatrix-summary-json=reports/rocm-unit/summary-$$BUILDKITE_PARALLEL_JOB.json"
        in inner
    )
    assert buildkite.fill_template('x "{command}"', 'say "hi" `x` \\') == (
        'x "say \\"hi\\" \\`x\\` \\\\"'
    )


def test_the_last_step_posts_the_matrix_even_after_failures(vllm_like):
    pipeline = buildkite.build_pipeline(load_workspace(vllm_like))
    last = pipeline["steps"][-1]
    assert last["key"] == buildkite.ANNOTATE_KEY
    sessions = [k for k in steps_by_key(pipeline) if k != buildkite.ANNOTATE_KEY]
    assert last["depends_on"] == [
        {"step": key, "allow_failure": True} for key in sessions
    ]
    assert last["commands"] == [
        "buildkite-agent artifact download 'reports/*/summary*.json' . || "
        "echo 'testmatrix: no job uploaded a summary'",
        "testmatrix report --expected --allow-empty -o matrix.md "
        "'reports/*/summary*.json'",
        "buildkite-agent annotate --style info --context testmatrix < matrix.md",
    ]
    assert last["depends_on"] and "plugins" not in last  # the workspace has none


def test_no_annotate_step_when_turned_off(tiny):
    files = dict(VLLM_LIKE)
    files["skiplists/suites.toml"] = files["skiplists/suites.toml"].replace(
        "priority = 1", "priority = 1\n        annotate = false"
    )
    pipeline = buildkite.build_pipeline(load_workspace(tiny(files)))
    assert buildkite.ANNOTATE_KEY not in steps_by_key(pipeline)


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            "concurrency = 2",
            "'concurrency' in [platform.buildkite] needs a 'concurrency_group' beside "
            "it",
        ),
        (
            'command_template = "bash run.sh"',
            "'command_template' in [platform.buildkite] must say {command} where the "
            "session's command goes, got 'bash run.sh'",
        ),
        (
            'plugins = ["docker#v5", 3]',
            "'plugins' in [platform.buildkite] item 2 must be a plugin reference or a "
            "table of one reference to its settings, got 3",
        ),
        (
            'retry_rules = [{ signal_reason = "agent_refusd", limit = 1 }]',
            "unknown signal reason 'agent_refusd' (did you mean 'agent_refused'?)",
        ),
        (
            "retry_rules = [{ exit_status = 134 }]",
            "[[retry_rules]] entry has no 'limit'",
        ),
        (
            'soft_fail = ["1"]',
            "'soft_fail' in [platform.buildkite] must be true, false or a list of exit "
            "statuses, got an array",
        ),
        ("if_changed = 3", "must be true, false or a list of glob patterns, got 3"),
        ('priority = "high"', "'priority' in [platform.buildkite] must be an integer"),
    ],
)
def test_a_bad_setting_is_one_located_line(tiny, setting, message):
    root = tiny(
        {
            "skiplists/platforms/cuda.toml": f"""
                [platform]
                hardware = "cuda"

                [platform.buildkite]
                {setting}
            """
        }
    )
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    [line] = str(caught.value).splitlines()
    assert "skiplists/platforms/cuda.toml:5: " in line and message in line


def summary(target: str, suite: str, **counts: int) -> dict:
    shard = counts.pop("shard", None)
    of = counts.pop("of", None)
    base = dict.fromkeys(reports.SHARDED_COUNTS, 0) | {
        "deselected": 3,
        "ignored_paths": 1,
        "not_in_suite": 0,
    }
    return {
        "platform": target.split(":")[0],
        "target": target,
        "suite": suite,
        "exitstatus": 1 if counts.get("failed") else 0,
        "counts": base | counts,
        "entries": {"skiplists/platforms/rocm.toml:9": {"kind": "ignore"}},
        "models": {"org/a": {"passed": counts.get("passed", 0)}},
        "shard": None if shard is None else {"id": shard, "count": of},
    }


def test_a_parallel_steps_shards_merge_into_one_cell():
    shards = [
        summary("rocm", "unit", passed=3, skipped_by_entry=1, shard=0, of=2),
        summary("rocm", "unit", passed=2, failed=1, shard=1, of=2),
    ]
    text = reports.matrix(shards, expected=[("rocm", "unit"), ("cuda", "unit")])
    row = next(line for line in text.splitlines() if line.startswith("| unit |"))
    # run counts add up; what collection left out is counted once
    assert row == (
        "| unit | :warning: no summary | :x: 5 passed, 1 failed, 1 skipped, "
        "3 deselected, 1 files ignored |"
    )
    assert "| `org/a` | :white_check_mark: 5 passed |" in text
    half = reports.matrix(shards[:1])
    assert "1 of 2 shards reported" in half and ":warning:" in half


def test_model_coverage_shows_where_each_model_ran():
    sessions = reports.merged(
        [
            summary("cuda", "unit", passed=2),
            summary("rocm:mi355", "unit")
            | {"models": {"org/a": {"skipped_by_entry": 2}}},
        ]
    )
    assert reports.coverage(sessions) == {
        "org/a": {"cuda": {"passed": 2}, "rocm:mi355": {"skipped_by_entry": 2}}
    }
    lines = reports.model_coverage(sessions)
    assert lines[-1] == (
        "| `org/a` | :white_check_mark: 2 passed | :no_entry_sign: 2 skipped by entry |"
    )


def test_no_summary_at_all_still_makes_an_annotation():
    assert reports.matrix([]).startswith("No testmatrix session summaries were found")
