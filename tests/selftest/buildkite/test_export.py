"""Buildkite export of vLLM-shaped settings: image-build dependencies, plugins, the
AMD command wrapper, if_changed, soft-fail statuses, retry rules, concurrency,
priority, Test Engine uploads, and the last step that posts the merged matrix."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from testmatrix.buildkite import export as buildkite
from testmatrix.config.loader import load_workspace
from testmatrix.errors import ConfigError
from testmatrix.results import reports

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
        "3 deselected, 1 files ignored, 2 of 2 shards reported, shard 1 failed |"
    )
    assert "| org/a | :white_check_mark: 5 passed |" in text
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
        "| org/a | :white_check_mark: 2 passed | :no_entry_sign: 2 skipped by entry |"
    )


def test_no_summary_at_all_still_makes_an_annotation():
    assert reports.matrix([]).startswith("No testmatrix session summaries were found")


# -- the exported pipeline, replayed as agents run it ---------------------------------

FAKE_AGENT = """#!/usr/bin/env python3
# buildkite-agent, as far as the annotate step uses it: artifacts from a local store
# (store/JOB/PATH), annotations to a file
import fnmatch, os, shutil, sys
from pathlib import Path

store = Path(os.environ["FAKE_ARTIFACTS"])
if sys.argv[1:3] == ["artifact", "download"]:
    pattern, dest = sys.argv[3], Path(sys.argv[4])
    found = 0
    for job in sorted(store.iterdir()):
        for path in sorted(job.rglob("*")):
            rel = path.relative_to(job).as_posix()
            if path.is_file() and fnmatch.fnmatch(rel, pattern):
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, dest / rel)
                found += 1
    sys.exit(0 if found else "no artifacts found")
if sys.argv[1] == "annotate":
    Path(os.environ["FAKE_ANNOTATION"]).write_text(sys.stdin.read())
    sys.exit(0)
sys.exit(f"fake buildkite-agent: unsupported {sys.argv[1:]}")
"""
# stands for AMD's run-amd-test.sh: runs the commands it is given as one word
IN_IMAGE = '#!/bin/bash\nset -e\necho "in the image: $1"\nexec bash -c "$1"\n'


def _jobs(pipeline: dict) -> list[tuple[dict, int, int]]:
    """(step, job, jobs) for every job of every session step."""
    out = []
    for group in pipeline["steps"]:
        for step in group.get("steps", ()):
            count = step.get("parallelism", 1)
            out += [(step, job, count) for job in range(count)]
    return out


@pytest.mark.slow
def test_replayed_pipeline_annotates_what_the_jobs_reported(workspace, tmp_path):
    import shutil
    import subprocess
    import sys

    import yaml

    from selftest.helpers import clean_env
    from testmatrix.core.session import sessions

    suites = workspace / "skiplists/suites.toml"
    suites.write_text(
        suites.read_text().replace(
            "retry = 2\n",
            "retry = 2\ncommand_template = 'bash ci/in-image.sh \"{command}\"'\n"
            'test_collector = "test-collector#v1.0.0"\n',
        )
    )
    (workspace / "ci").mkdir()
    (workspace / "ci/in-image.sh").write_text(IN_IMAGE)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "buildkite-agent").write_text(FAKE_AGENT)
    (bin_dir / "buildkite-agent").chmod(0o755)
    exported = subprocess.run(
        [sys.executable, "-m", "testmatrix", "export", "-o", "-"],
        cwd=workspace,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pipeline = yaml.safe_load(exported)
    store, annotation = tmp_path / "artifacts", tmp_path / "annotation.md"
    base = clean_env(
        PATH=f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
        FAKE_ARTIFACTS=str(store),
        FAKE_ANNOTATION=str(annotation),
        BUILDKITE="true",
    )
    reports_dir = workspace / "reports"

    def run_job(commands: list[str], env: dict[str, str], job: str) -> str:
        shutil.rmtree(reports_dir, ignore_errors=True)  # each job: a fresh checkout
        script = "\n".join(c.replace("$$", "$") for c in commands)  # as uploaded
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"{job}:\n{done.stdout}{done.stderr}"
        return done.stdout

    jobs = _jobs(pipeline)
    assert len(jobs) == len(sessions(load_workspace(workspace))) + 4  # 4 x 2 shards
    for step, job, count in jobs:
        env = {
            **base,
            **{k: str(v) for k, v in step["env"].items()},
            # the agents' hardware is not this machine's: simulate it
            "TESTMATRIX_STRICT_PLATFORM": "0",
        }
        if count > 1:
            env |= {
                "BUILDKITE_PARALLEL_JOB": str(job),
                "BUILDKITE_PARALLEL_JOB_COUNT": str(count),
            }
        name = f"{step['key']}.{job}"
        out = run_job([step["command"]], env, name)
        assert "in the image: nox --no-venv -s " in out, out
        [collector] = [p for p in step["plugins"] if "test-collector#v1.0.0" in p]
        pattern = collector["test-collector#v1.0.0"]["files"]
        assert [p.name for p in workspace.glob(pattern)] == (
            [f"junit-{job}.xml"] if count > 1 else ["junit.xml"]
        ), out
        for artifact in step["artifact_paths"]:  # the agent uploads them
            for path in workspace.glob(artifact):
                rel = path.relative_to(workspace)
                (store / name / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, store / name / rel)
    last = pipeline["steps"][-1]
    out = run_job(last["commands"], {**base, **(last.get("env") or {})}, "annotate")
    assert annotation.exists(), out
    job_summaries = sorted(store.glob("*/reports/*/summary*.json"))
    assert len(job_summaries) == len(jobs)
    keys = sessions(load_workspace(workspace)).values()
    expected = [(k.target, k.suite) for k in keys]
    merged = reports.matrix(reports.read_summaries(job_summaries), expected)
    assert annotation.read_text() == merged
    # every cell is the sum of its jobs' own counts
    own: dict[tuple[str, str], list[dict]] = {}
    for data in reports.read_summaries(job_summaries):
        own.setdefault((data["target"], data["suite"]), []).append(data)
    assert sorted(own) == sorted(expected)
    text = annotation.read_text()
    for (target, suite), shards in own.items():
        passed = sum(s["counts"]["passed"] for s in shards)
        skipped = sum(s["counts"]["skipped_by_entry"] for s in shards)
        row = next(
            line for line in text.splitlines() if line.startswith(f"| {suite} |")
        )
        cell = row.split(" | ")[1 + sorted({t for t, _ in own}).index(target)]
        assert cell.startswith(f":white_check_mark: {passed} passed"), (target, cell)
        assert (f"{skipped} skipped" in cell) == bool(skipped), (target, cell)
    assert ":warning:" not in annotation.read_text()
    assert "| model |" in annotation.read_text()
