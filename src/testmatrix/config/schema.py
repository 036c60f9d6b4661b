"""What each skiplist file may say, declared once, as data.

Every table of `skiplists/` is a `Table` of `Key`s: for each key its kind of value, its
meaning, whether it is required and its default. From these declarations alone come
the checks (`checker`), the JSON Schemas for editors (`schemafiles`: `python -m
testmatrix.schema --write`), the key reference of the docs, and the tables and keys
the session listing reads (`listing`).

The loader keeps only what a declaration cannot say: paths that must exist, references
between files, duplicates and colliding session names.
"""

from __future__ import annotations

from typing import Any

from testmatrix.config.kinds import (
    Bool,
    Choice,
    Date,
    Either,
    Expression,
    Int,
    Integer,
    List,
    Pattern,
    Plugins,
    Regex,
    ScalarMap,
    Seconds,
    StrOrList,
)
from testmatrix.config.tables import (
    AnyOf,
    ArrayOf,
    Document,
    Key,
    MapOf,
    OneOf,
    Requires,
    Table,
)
from testmatrix.config.words import (  # re-exported: readers say schema.REFUSED_ARGS
    ARGS as ARGS,
)
from testmatrix.config.words import ENV_NAME, LINK, MARKER, NAME, PLACE, RELATIVE_PATH
from testmatrix.config.words import REFUSED_ARG as REFUSED_ARG
from testmatrix.config.words import REFUSED_ARGS as REFUSED_ARGS
from testmatrix.config.words import TEXT as TEXT
from testmatrix.core.model import Suite, Workspace
from testmatrix.core.names import HARDWARE


def _model_default(cls: Any, name: str) -> Any:
    """A model field's default, so a default is written once, in the model."""
    return cls.__dataclass_fields__[name].default


# -- the declarations --------------------------------------------------------------

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
            default=_model_default(Workspace, "pipeline"),
        ),
        "annotate": Key(
            Bool(),
            "Whether the pipeline ends with a step that merges every job's "
            "summary into the platform x suite matrix and posts it with "
            "buildkite-agent annotate, even when jobs failed.",
            default=_model_default(Workspace, "annotate"),
        ),
    },
    rules=BUILDKITE_RULES,
)

WORKSPACE = Table(
    "Settings of the whole workspace.",
    {
        "install": Key(
            List(TEXT, expect="a list of pip arguments (strings)"),
            "What `nox -s SESSION` installs into a fresh virtualenv (pip arguments).",
            default=list(_model_default(Workspace, "install")),
        ),
        "model_pattern": Key(
            Regex(),
            "What a model id looks like (a regular expression); a value of a model "
            "parameter (model_params) must match it to count as the test's model.",
            default=_model_default(Workspace, "model_pattern"),
        ),
        "model_params": Key(
            Regex(),
            "Which test parameters carry a model: a regular expression searched for "
            "in the parameter's name (a record's or dict's field is 'param.field'). "
            "Values the skiplists list count wherever they are; other values only "
            "under these names.",
            default=_model_default(Workspace, "model_params"),
        ),
        "gpus": Key(
            Int(0),
            "GPUs the sessions of this machine may lease (default: the detected "
            "count).",
        ),
        "lease_dir": Key(
            TEXT,
            "Directory of the GPU lease files, shared by concurrent sessions "
            "(default: a per-user temporary directory).",
        ),
        "reports_dir": Key(
            RELATIVE_PATH,
            "Where sessions write their reports (REPORTS_DIR/SESSION/), relative to "
            "the workspace root.",
            default=_model_default(Workspace, "reports_dir"),
        ),
        "buildkite": Key(WORKSPACE_BUILDKITE, WORKSPACE_BUILDKITE.meaning),
    },
)

RUNS_ON_REASON = (
    "{label} gives 'platforms' but no 'platforms_reason': say why it runs only there "
    "(explain shows it where the suite has no session)"
)
SELECTION = {
    "path": Key(
        RELATIVE_PATH,
        "The directory or test file, relative to the workspace root; a node id "
        "(file.py::test) or a shell glob (test_fused_*.py) too.",
    ),
    "paths": Key(
        List(RELATIVE_PATH, min_items=1),
        "The directories or test files (node ids and globs too), relative to the "
        "workspace root.",
    ),
    "exclude": Key(
        List(RELATIVE_PATH),
        "Paths left out on every platform because another suite runs them, "
        "relative to the base (the deepest directory holding the paths).",
    ),
    "exclude_reason": Key(
        TEXT,
        "Why the excluded paths are left out.",
        default="runs in another suite",
    ),
    "markexpr": Key(Expression("-m"), "The tests' marks select (pytest -m)."),
    "keyword": Key(Expression("-k"), "The tests' names select (pytest -k)."),
    "env": Key(
        ScalarMap(ENV_NAME, as_strings=True),
        "Environment variables of the runs (true/false become 1/0).",
    ),
    "args": Key(
        ARGS,
        "Extra pytest arguments. Selection and reports have keys of their own: "
        "--ignore, --deselect, -m, -k, -p, -c, --rootdir, --junitxml and "
        "testmatrix's own options are refused.",
    ),
}
OVERRIDE = Table(
    "What differs on one platform or variant ([suites.NAME.on.rocm], "
    'on."rocm:mi300"): markexpr, keyword and args replace the suite\'s (or the '
    "run's), env is merged over it; the platform's, then the variant's.",
    {
        "markexpr": SELECTION["markexpr"],
        "keyword": SELECTION["keyword"],
        "env": SELECTION["env"],
        "args": SELECTION["args"],
        "reason": Key(TEXT, "Why it differs there.", required=True),
    },
)
ON = Key(
    MapOf(OVERRIDE, "target", PLACE),
    "Per platform or variant ('rocm', 'rocm:mi300'): what differs there.",
)
RUN = Table(
    "One pytest run of a suite that is a CI job: its own process and selection; "
    "keys it does not give are the suite's.",
    {
        **SELECTION,
        "description": Key(TEXT, "What the run tests."),
        "on": ON,
    },
    rules=(OneOf("path", "paths", unless=""),),
)
_SHARED = {
    "gpus": Key(
        Int(1, 64),
        "GPUs a session of the suite leases at once on a GPU platform.",
        default=_model_default(Suite, "gpus"),
    ),
    "platforms": Key(
        List(PLACE, min_items=1),
        "Where the suite runs: platforms ('rocm': with all its variants) or "
        "variants ('rocm:mi355'). Default: everywhere.",
    ),
    "platforms_reason": Key(
        TEXT, "Why the suite runs only on its 'platforms' (required with them)."
    ),
    "reruns": Key(
        Int(1, 20), "Rerun every failure of the suite this often (a flaky suite)."
    ),
    "reruns_delay": Key(
        Seconds(),
        "Seconds between reruns.",
        default=_model_default(Suite, "reruns_delay"),
    ),
    "durations": Key(
        TEXT,
        "Recorded test durations (a JSON file) that balance the suite's shards.",
    ),
    "buildkite": Key(BUILDKITE, BUILDKITE.meaning),
}
SUITE = Table(
    "A named selection of tests: its paths minus its excludes, narrowed by markexpr "
    "and keyword; one session <platform>-<suite> (and <platform>-<variant>-<suite>) "
    "per place it runs. With [[suites.NAME.runs]] it is a CI job: its runs run in "
    "order, each its own pytest process; all run, and the session fails if any did.",
    {
        **SELECTION,
        "description": Key(
            TEXT, "What the suite tests (default: tests under its paths)."
        ),
        "runs": Key(
            ArrayOf(RUN),
            "The pytest runs of a suite that is a CI job, in order; the suite's "
            "selection keys are their defaults.",
        ),
        "on": ON,
        "group": Key(
            NAME, "The [groups.NAME] whose keys are the defaults of this suite's."
        ),
        **_SHARED,
    },
    rules=(
        OneOf("path", "paths", unless="runs"),
        Requires("platforms", "platforms_reason", RUNS_ON_REASON, unless="group"),
        Requires(
            "platforms_reason",
            "platforms",
            "'platforms_reason' in {label} explains 'platforms', which it does not "
            "give",
        ),
    ),
)
GROUP = Table(
    "Settings shared by suites (those of one CI file, say): each suite naming the "
    "group with group = NAME takes the keys it does not give itself (env and "
    "buildkite merge key by key).",
    {
        "description": Key(TEXT, "What the group's suites have in common."),
        "env": SELECTION["env"],
        "args": SELECTION["args"],
        "markexpr": SELECTION["markexpr"],
        **_SHARED,
    },
)

SUITES_FILE = Document(
    "suites",
    "skiplists/suites.toml",
    Table(
        "testmatrix workspace settings and test suites (skiplists/suites.toml).",
        {
            "workspace": Key(WORKSPACE, WORKSPACE.meaning),
            "groups": Key(
                MapOf(GROUP, "group", NAME),
                "Settings shared by suites that name the group, by name.",
            ),
            "suites": Key(
                MapOf(SUITE, "suite", NAME),
                "The test suites, by name.",
                required=True,
                missing="no suites declared (expected [suites.NAME] tables)",
            ),
        },
    ),
)

MODEL_LIST = Table(
    "A named list of model ids, defined once and referenced by [[skip]] entries.",
    {
        "models": Key(StrOrList(TEXT), "The model ids.", required=True),
        "description": Key(TEXT, "What the models have in common."),
    },
)
MODELS_FILE = Document(
    "models",
    "skiplists/models.toml",
    Table(
        "Named model lists (skiplists/models.toml).",
        {"model_lists": Key(MapOf(MODEL_LIST, "model list"), "The lists, by name.")},
    ),
)

PLATFORM = Table(
    "The platform: its hardware and Buildkite settings.",
    {
        "description": Key(TEXT, "What the platform is (default: NAME platform)."),
        "hardware": Key(
            Choice("hardware", HARDWARE),
            "What detection must report to run the platform with --strict-platform "
            "(default: the file name if it is rocm or cuda, else none).",
        ),
        "visible_devices_env": Key(
            ENV_NAME,
            "The variable that hands a session its leased GPUs (default: "
            "HIP_VISIBLE_DEVICES on rocm, CUDA_VISIBLE_DEVICES on cuda, none "
            "elsewhere).",
        ),
        "buildkite": Key(BUILDKITE, BUILDKITE.meaning),
    },
)
VARIANT = Table(
    "A hardware variant of the platform (mi300, mi355), with entries and agents of "
    "its own.",
    {
        "description": Key(
            TEXT, "What the variant is (default: the platform and variant names)."
        ),
        "match": Key(
            List(TEXT),
            "How detection recognises the variant: AMD gfx targets (gfx942) or parts "
            "of NVIDIA device names (H100).",
            default=[],
        ),
        "buildkite": Key(BUILDKITE, BUILDKITE.meaning),
    },
)

EXCEPTION = Pattern(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
    "an exception type (NotImplementedError, or a dotted name)",
    "exception types",
)
FAILS = Table(
    "The error the entry's tests still fail with: they run, an expected failure "
    "passes the run, a pass fails it (the entry is stale), another error fails it.",
    {
        "error": Key(
            EXCEPTION,
            "The exception type (its class name or a dotted name; subclasses match).",
            required=True,
        ),
        "match": Key(
            Regex(), "A regular expression searched for in the error's message."
        ),
    },
)
ENTRY_KEYS: dict[str, Key] = {
    "reason": Key(TEXT, "Why the entry exists.", required=True),
    "issue": Key(LINK, "Where the problem is tracked (a link)."),
    "expires": Key(
        Date(), "When to look again (YYYY-MM-DD): lint reports the entry after it."
    ),
    "variants": Key(
        List(NAME),
        "The variants of the platform the entry holds on (default: the whole "
        "platform).",
    ),
}
TESTS_RULE = AnyOf("test", "tests")
IGNORE = Table(
    "Paths of a suite never collected on the platform (pytest --ignore).",
    {
        "suite": Key(TEXT, "The suite the paths belong to.", required=True),
        "path": Key(
            StrOrList(RELATIVE_PATH),
            "A file or directory, relative to the suite's base directory.",
        ),
        "paths": Key(
            StrOrList(RELATIVE_PATH),
            "Files or directories, relative to the suite's base directory.",
        ),
        **ENTRY_KEYS,
        "fails": Key(FAILS, FAILS.meaning),
    },
    rules=(AnyOf("path", "paths"),),
)
SKIP = Table(
    "Tests carrying a marker are skipped when their model is listed.",
    {
        "marker": Key(MARKER, "The pytest marker.", required=True),
        "models": Key(StrOrList(TEXT), "Model ids."),
        "model_lists": Key(
            StrOrList(TEXT), "Names of model lists (skiplists/models.toml)."
        ),
        **ENTRY_KEYS,
        "fails": Key(FAILS, FAILS.meaning),
    },
    rules=(
        AnyOf(
            "models",
            "model_lists",
            "{label} names no models (give 'models' and/or 'model_lists')",
        ),
    ),
)
DESELECT = Table(
    "Tests deselected on the platform (pytest --deselect).",
    {
        "test": Key(
            StrOrList(TEXT), "A pytest node id (prefix), relative to the workspace."
        ),
        "tests": Key(
            StrOrList(TEXT), "Pytest node ids (prefixes), relative to the workspace."
        ),
        **ENTRY_KEYS,
        "fails": Key(FAILS, FAILS.meaning),
    },
    rules=(TESTS_RULE,),
)
FLAKY = Table(
    "Tests known to be flaky on the platform: a failure is rerun.",
    {
        "test": Key(StrOrList(TEXT), "A test id, or a pattern of them."),
        "tests": Key(StrOrList(TEXT), "Test ids, or patterns of them."),
        "reruns": Key(Int(1, 20), "How often to rerun a failure.", default=2),
        "delay": Key(Seconds(), "Seconds between reruns.", default=0.0),
        **ENTRY_KEYS,
    },
    rules=(TESTS_RULE,),
)
PLATFORM_FILE = Document(
    "platform",
    "skiplists/platforms/*.toml",
    Table(
        "One hardware platform, its variants, and what it cannot run yet "
        "(skiplists/platforms/NAME.toml).",
        {
            "platform": Key(PLATFORM, PLATFORM.meaning),
            "variants": Key(MapOf(VARIANT, "variant", NAME), "The variants, by name."),
            "ignore": Key(ArrayOf(IGNORE), IGNORE.meaning),
            "skip": Key(ArrayOf(SKIP), SKIP.meaning),
            "deselect": Key(ArrayOf(DESELECT), DESELECT.meaning),
            "flaky": Key(ArrayOf(FLAKY), FLAKY.meaning),
        },
    ),
)
DOCUMENTS = (SUITES_FILE, MODELS_FILE, PLATFORM_FILE)
