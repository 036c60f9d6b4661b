"""The workflow as data: one job per session running the session's pytest command
(plan.session_command), its shards a matrix dimension, its reports uploaded as an
artifact; a last job merges every summary into the matrix on the run's summary page.

Job settings come from the skiplists' `github` tables, merged from general to
specific: [workspace.github] < [platform.github] < [variants.NAME.github] <
[suites.NAME.github]. Every string from them passes through `literal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from testmatrix.core.model import GithubSettings, Workspace
from testmatrix.core.session import (
    SessionCommand,
    SessionKey,
    Sharding,
    report_paths,
    session_commands,
    sessions,
)
from testmatrix.github.literal import (
    SHARD_ENV,
    SHARD_PLACEHOLDER,
    bash_words,
    check_no_placeholder,
    expression_free,
    job_id,
)
from testmatrix.system.installed import is_own_project

DEFAULTS = GithubSettings(runs_on=("ubuntu-latest",), timeout_minutes=60)
CHECKOUT = "actions/checkout@v4"
SETUP_PYTHON = "actions/setup-python@v5"
UPLOAD = "actions/upload-artifact@v4"
DOWNLOAD = "actions/download-artifact@v4"
ARTIFACT_PREFIX = "testmatrix-"
MATRIX_JOB = "_testmatrix-matrix"  # no session's name starts with '_'
SUMMARIES_DIR = "testmatrix-summaries"  # where the last job downloads the artifacts


def _with_gpus(value: str, gpus: int) -> str:
    return value.replace("{gpus}", str(gpus))


def job_settings(workspace: Workspace, key: SessionKey) -> GithubSettings:
    """The merged settings of one session's job; `{gpus}` in the runner labels and
    the concurrency group becomes the suite's GPU count."""
    platform = workspace.platforms[key.platform]
    suite = workspace.suites[key.suite]
    layers = [workspace.github, platform.github]
    if key.variant is not None:
        layers.append(platform.variants[key.variant].github)
    layers.append(suite.github)
    merged = DEFAULTS
    for layer in layers:
        merged = layer.over(merged)
    group = merged.concurrency_group
    return GithubSettings(
        **{
            **merged.__dict__,
            "runs_on": tuple(_with_gpus(v, suite.gpus) for v in merged.runs_on or ()),
            "concurrency_group": _with_gpus(group, suite.gpus) if group else None,
        }
    )


def _env_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def setup_steps(
    workspace: Workspace, settings: GithubSettings, *, report_only: bool = False
) -> list[dict]:
    """Check out; with `python` set, set it up and install what nox's sessions do
    (`report_only`: testmatrix alone, which the matrix job always needs)."""
    steps: list[dict[str, Any]] = [{"uses": CHECKOUT}]
    if not settings.python and not report_only:
        return steps
    from testmatrix import __version__
    from testmatrix.core.facts import Origin
    from testmatrix.core.session import install_args, testmatrix_requirement

    # a checkout's path means nothing on a runner: testmatrix's version from the
    # index, unless the workspace is testmatrix's own checkout
    origin = Origin(__version__)
    own = is_own_project(workspace.root)
    if report_only:
        args = [testmatrix_requirement(workspace, origin, own_project=own) or "."]
    else:
        args = install_args(workspace, origin, own_project=own)
    steps += [
        {
            "uses": SETUP_PYTHON,
            "with": {"python-version": expression_free(settings.python or "3.12")},
        },
        {
            "name": "install",
            "run": expression_free(
                bash_words(["python", "-m", "pip", "install", *args])
            ),
        },
    ]
    return steps


def session_job(workspace: Workspace, key: SessionKey) -> dict[str, Any]:
    """One session's job: its runner, environment, shards, command and artifact."""
    settings = job_settings(workspace, key)
    shards = settings.parallelism if (settings.parallelism or 1) > 1 else None
    plain = session_commands(workspace, key.platform, key.suite, variant=key.variant)
    for each in plain:
        check_no_placeholder(each.argv, key.name)
    commands = plain
    if shards:
        sharding = Sharding(SHARD_PLACEHOLDER, str(shards))
        commands = session_commands(
            workspace, key.platform, key.suite, variant=key.variant, sharding=sharding
        )
    command = commands[0]
    shared = {
        k: v for k, v in command.env.items() if all(c.env.get(k) == v for c in commands)
    }
    env = {
        "TESTMATRIX_STRICT_PLATFORM": "1",
        **{k: _env_text(v) for k, v in (settings.env or {}).items()},
        **shared,  # a suite of several runs: what every run sets
    }
    job_env = {name: expression_free(value) for name, value in env.items()}
    artifact = ARTIFACT_PREFIX + key.name
    if shards:
        job_env[SHARD_ENV] = "${{ matrix.shard }}"
        artifact += "-${{ matrix.shard }}"
    label = key.suite if key.variant is None else f"{key.variant} {key.suite}"
    job: dict[str, Any] = {
        "name": f"{key.platform} {label}",
        "runs-on": [expression_free(label) for label in settings.runs_on or ()],
        "timeout-minutes": settings.timeout_minutes,
    }
    if settings.concurrency_group:
        job["concurrency"] = {
            "group": expression_free(settings.concurrency_group),
            "cancel-in-progress": False,
        }
    if shards:
        job["strategy"] = {"fail-fast": False, "matrix": {"shard": list(range(shards))}}
    job["env"] = job_env
    reports = report_paths(workspace, key, None)
    job["steps"] = [
        *setup_steps(workspace, settings),
        *_pytest_steps(commands, shared),
        {
            "name": "upload reports",
            "if": "always()",
            "uses": UPLOAD,
            "with": {
                "name": artifact,
                "path": expression_free(f"{reports.directory}/"),
                "if-no-files-found": "warn",
            },
        },
    ]
    return job


def _pytest_steps(
    commands: Sequence[SessionCommand], shared: dict[str, str]
) -> list[dict[str, Any]]:
    """One step per pytest run; a suite's later runs run after a failed one too
    (`!cancelled()`), and the job fails if any run failed."""
    steps: list[dict[str, Any]] = []
    for command in commands:
        step: dict[str, Any] = {
            "name": "pytest" if command.run is None else f"pytest run {command.run}",
            "run": expression_free(bash_words(["pytest", *command.argv])),
        }
        own = {k: v for k, v in command.env.items() if k not in shared}
        if own:
            step["env"] = {k: expression_free(v) for k, v in own.items()}
        if steps:
            step["if"] = "${{ !cancelled() }}"
        steps.append(step)
    return steps


def matrix_job(workspace: Workspace, needs: list[str]) -> dict[str, Any]:
    """After every job, failed ones included: the merged matrix on the summary page
    (`testmatrix report` marks sessions that sent no summary)."""
    settings = workspace.github.over(DEFAULTS)
    glob = f"{SUMMARIES_DIR}/*/summary*.json"
    return {
        "name": "testmatrix matrix",
        "if": "always()",
        "needs": needs,
        # the workspace's runners; it needs no GPU, so {gpus} is 1
        "runs-on": [expression_free(_with_gpus(v, 1)) for v in settings.runs_on or ()],
        "timeout-minutes": 10,
        "steps": [
            *setup_steps(workspace, settings, report_only=True),
            {
                "uses": DOWNLOAD,
                "with": {"pattern": f"{ARTIFACT_PREFIX}*", "path": SUMMARIES_DIR},
            },
            {
                "name": "matrix",
                "run": (
                    "python -m testmatrix report --expected --allow-empty "
                    f"-o matrix.md '{glob}'\n"
                    'cat matrix.md >> "$GITHUB_STEP_SUMMARY"\n'
                ),
            },
        ],
    }


def build_workflow(workspace: Workspace) -> dict[str, Any]:
    """The workflow as a dict, in the order people read it."""
    every = sessions(workspace)
    jobs = {job_id(name): session_job(workspace, key) for name, key in every.items()}
    if jobs:
        jobs[MATRIX_JOB] = matrix_job(workspace, list(jobs))
    return {
        "name": "testmatrix",
        "on": {"push": None, "pull_request": None, "workflow_dispatch": None},
        "permissions": {"contents": "read"},
        # a newer push to the same branch supersedes a run still going
        "concurrency": {
            "group": "${{ github.workflow }}-${{ github.ref }}",
            "cancel-in-progress": True,
        },
        "jobs": jobs,
    }
