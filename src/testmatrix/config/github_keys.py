"""What the `github` tables may say: GitHub Actions job settings of each layer, and
where `testmatrix export --format github` writes the workflow."""

from __future__ import annotations

from testmatrix.config.kinds import Int, ScalarMap, StrOrList
from testmatrix.config.tables import Key, Table
from testmatrix.config.values import ENV_NAME, TEXT, model_default
from testmatrix.core.model import Workspace

GITHUB_KEYS: dict[str, Key] = {
    "runs_on": Key(
        StrOrList(TEXT),
        "Runner labels of the jobs (runs-on), e.g. ['self-hosted', 'gfx942']; may "
        "say {gpus}, the suite's GPUs. Default: ubuntu-latest.",
    ),
    "timeout_minutes": Key(Int(1), "Job timeout in minutes (timeout-minutes)."),
    "env": Key(
        ScalarMap(ENV_NAME),
        "Environment variables of the jobs. Merged over lower layers.",
    ),
    "parallelism": Key(
        Int(1, 256), "Parallel jobs per session (a matrix dimension): one shard each."
    ),
    "concurrency_group": Key(
        TEXT,
        "The concurrency group of the jobs; may say {gpus}. GitHub runs one job of "
        "a group at a time and cancels all but the newest pending one.",
    ),
    "python": Key(
        TEXT,
        "A Python version: the jobs set it up (actions/setup-python) and pip install "
        "the workspace's `install` and testmatrix first. Default: the runner's own.",
    ),
}
GITHUB_LAYERS = (
    "Layers merge from general to specific: [workspace.github] < [platform.github] "
    "< [variants.NAME.github] < [suites.NAME.github]."
)
GITHUB = Table(
    f"GitHub Actions job settings (testmatrix export --format github). {GITHUB_LAYERS}",
    GITHUB_KEYS,
    elsewhere={"workflow": "[workspace.github]"},
)
WORKSPACE_GITHUB = Table(
    f"GitHub Actions settings of every job, and where the workflow goes. "
    f"{GITHUB_LAYERS}",
    {
        **GITHUB_KEYS,
        "workflow": Key(
            TEXT,
            "Where testmatrix export --format github writes the workflow, relative "
            "to the workspace root.",
            default=model_default(Workspace, "workflow"),
        ),
    },
)
