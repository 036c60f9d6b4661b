"""The Buildkite step settings a skiplist may give, at every layer (workspace,
platform, variant, suite)."""

from __future__ import annotations

from testmatrix.config.kinds import (
    Bool,
    Choice,
    Either,
    Int,
    Integer,
    List,
    Pattern,
    Plugins,
    ScalarMap,
    StrOrList,
)
from testmatrix.config.tables import ArrayOf, Key, Requires, Table
from testmatrix.config.values import ENV_NAME, TEXT
from testmatrix.core.model import Workspace


def _workspace_default(name: str) -> object:
    """A workspace field's default, so a default is written once, in the model."""
    return Workspace.__dataclass_fields__[name].default


# Buildkite's signal reasons a retry rule may name (its pipeline schema's enum)
SIGNAL_REASONS = (
    "*",
    "none",
    "agent_incompatible",
    "agent_refused",
    "agent_stop",
    "cancel",
    "process_run_error",
    "signature_rejected",
    "stack_error",
)
EXIT_STATUS = Either(
    Integer(),
    Choice("exit status", ("*",)),
    List(Integer(), min_items=1),
    expect="an exit status, '*' or a list of exit statuses",
)
RETRY_RULE = Table(
    "An automatic retry rule of the steps (Buildkite's retry.automatic).",
    {
        "exit_status": Key(EXIT_STATUS, "The exit status (or statuses, or '*')."),
        "signal": Key(TEXT, "The signal that ended the job ('SIGKILL', '*')."),
        "signal_reason": Key(
            Choice("signal reason", SIGNAL_REASONS),
            "Why the job was signalled (agent_stop, agent_refused, stack_error).",
        ),
        "limit": Key(Int(0, 10), "How often to retry.", required=True),
    },
)
COMMAND_TEMPLATE = Pattern(
    r"^.*\{command\}.*$",
    "a command with {command} in it",
    "commands with {command} in them",
    message="{subject} must say {{command}} where the session's command goes, got "
    "{value}",
)
BUILDKITE_KEYS: dict[str, Key] = {
    "queue": Key(
        TEXT,
        "Agent queue of the steps (agents.queue); may say {gpus}, the suite's GPUs.",
    ),
    "agents": Key(
        ScalarMap(),
        "Agent tags the steps target; strings may say {gpus}. Merged over lower "
        "layers.",
    ),
    "timeout_in_minutes": Key(Int(1), "Step timeout in minutes."),
    "parallelism": Key(Int(1), "Parallel jobs per step; each runs one shard."),
    "soft_fail": Key(
        Either(
            Bool(),
            List(Integer(), min_items=1),
            expect="true, false or a list of exit statuses",
        ),
        "Whether a failing step leaves the build passing: true, or the exit "
        "statuses that do.",
    ),
    "env": Key(
        ScalarMap(ENV_NAME),
        "Environment variables of the steps. Merged over lower layers.",
    ),
    "retry": Key(
        Int(0, 10), "Automatic retries of a step whose agent was lost or stopped."
    ),
    "retry_rules": Key(
        ArrayOf(RETRY_RULE),
        "More automatic retry rules, after the lost-agent ones (ROCm GPU hangs exit "
        "134; agent_refused, stack_error). A layer's list replaces a lower one's.",
    ),
    "command_style": Key(
        Choice("command style", ("nox", "pytest")),
        "How a step runs its session: 'nox' (nox -s SESSION) or 'pytest' (the "
        "session's pytest command in the step's image).",
    ),
    "command_template": Key(
        COMMAND_TEMPLATE,
        "The step's command around the session's: {command} is replaced by it "
        '(inside "..." with ", \\ and ` escaped), e.g. bash '
        '.buildkite/scripts/hardware_ci/run-amd-test.sh "{command}".',
    ),
    "depends_on": Key(
        StrOrList(TEXT), "Keys of the steps the steps wait for (an image build)."
    ),
    "plugins": Key(
        Plugins(),
        "Buildkite plugins of the steps (docker, ...): references, or tables of one "
        "reference to its settings. A layer's list replaces a lower one's.",
    ),
    "if_changed": Key(
        Either(
            Bool(),
            List(TEXT, min_items=1),
            expect="true, false or a list of glob patterns",
        ),
        "Run the steps only when the build changes matching files: true for the "
        "suite's paths, its source_file_dependencies and the skiplists; or the "
        "glob patterns themselves ('!pattern' excludes).",
    ),
    "source_file_dependencies": Key(
        List(TEXT),
        "Files and directories (prefixes, '!prefix' excludes) whose changes also "
        "run the steps with if_changed = true. Merged with lower layers'.",
    ),
    "concurrency": Key(
        Int(1), "How many jobs of the concurrency_group may run at once."
    ),
    "concurrency_group": Key(
        TEXT, "The group the concurrency limit counts in; may say {gpus}."
    ),
    "priority": Key(Integer(), "Job priority: higher runs first."),
    "test_collector": Key(
        TEXT,
        "Buildkite's test-collector plugin (e.g. 'test-collector#v1.0.0'): each "
        "step uploads its JUnit XML to Test Engine, pass or fail.",
    ),
    "test_collector_token_env": Key(
        ENV_NAME,
        "The variable holding the Test Engine token (the plugin's default: "
        "BUILDKITE_ANALYTICS_TOKEN).",
    ),
}
BUILDKITE_RULES = (
    Requires(
        "concurrency",
        "concurrency_group",
        "'concurrency' in {label} needs a 'concurrency_group' beside it",
    ),
)
LAYERS = (
    "Layers merge from general to specific: [workspace.buildkite] < "
    "[platform.buildkite] < [variants.NAME.buildkite] < [suites.NAME.buildkite]."
)
BUILDKITE = Table(
    f"Buildkite step settings (testmatrix export). {LAYERS}",
    BUILDKITE_KEYS,
    rules=BUILDKITE_RULES,
    elsewhere={
        "pipeline": "[workspace.buildkite]",
        "annotate": "[workspace.buildkite]",
        "history": "[workspace.buildkite]",
    },
)
WORKSPACE_BUILDKITE = Table(
    f"Buildkite step settings of every step, and where the pipeline goes. {LAYERS}",
    {
        **BUILDKITE_KEYS,
        "pipeline": Key(
            TEXT,
            "Where testmatrix export writes the pipeline, relative to the workspace "
            "root.",
            default=_workspace_default("pipeline"),
        ),
        "annotate": Key(
            Bool(),
            "Whether the pipeline ends with a step that merges every job's "
            "summary into the platform x suite matrix and posts it with "
            "buildkite-agent annotate, even when jobs failed.",
            default=_workspace_default("annotate"),
        ),
        "history": Key(
            Choice("history store", ("artifact", "postgresql")),
            "Whether the pipeline's last step records the build in the history "
            "(docs/history.md): 'artifact' carries a SQLite file from the build "
            "named by $TESTMATRIX_HISTORY_FROM to this one, 'postgresql' writes to "
            "the URL in $TESTMATRIX_HISTORY_DB. Unset: off.",
        ),
    },
    rules=BUILDKITE_RULES,
)
