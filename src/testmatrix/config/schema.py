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

from testmatrix.config.buildkite_keys import BUILDKITE, WORKSPACE_BUILDKITE
from testmatrix.config.github_keys import GITHUB, WORKSPACE_GITHUB
from testmatrix.config.inventory_keys import INVENTORY
from testmatrix.config.kinds import (
    Choice,
    Date,
    Expression,
    Glob,
    Int,
    List,
    MessagePattern,
    Pattern,
    PytestArgs,
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
from testmatrix.config.values import (
    DEVICES_ENV,
    ENV_NAME,
    LINK,
    MARKER,
    NAME,
    PLACE,
    RELATIVE_PATH,
    TEXT,
    model_default,
)
from testmatrix.core.model import Suite, Workspace
from testmatrix.core.names import HARDWARE

# pytest options a suite's `args` may not pass, and what to write instead: the session
# passes them itself, or another key says it once for every command that runs the suite
_EXCLUDE = "use 'exclude' (every platform) or an [[ignore]] entry (one platform)"
_REPORTS = "the session writes its reports under 'reports_dir' in [workspace]"
_SHARDS = "use 'parallelism' in the suite's 'buildkite' table"
# testmatrix's own options, in either form (options.py: --testmatrix-platform and
# its short alias --platform)
_OWN = {
    "platform": "use 'platforms': the session passes --testmatrix-platform",
    "variant": "use 'platforms' ('platform:variant'): the session passes "
    "--testmatrix-variant",
    "suite": "the session passes --testmatrix-suite: declare another suite instead",
    "run": "the session passes --testmatrix-run: declare [[suites.NAME.runs]] instead",
    "no-skiplist": "pass it when running: nox -s SESSION -- --no-skiplist",
    "skiplists": "the session passes the workspace's skiplists/",
    "summary-json": _REPORTS,
    "shard-id": _SHARDS,
    "num-shards": _SHARDS,
    "shard-durations": "use 'durations' on the suite",
    "strict-platform": "Buildkite steps set TESTMATRIX_STRICT_PLATFORM=1",
}
REFUSED_ARGS = {
    "--ignore": _EXCLUDE,
    "--ignore-glob": _EXCLUDE,
    "--deselect": "use a [[deselect]] entry in the platform's file",
    "-p": "declare plugins in conftest.py (pytest_plugins): sessions load testmatrix's",
    "-m": "use 'markexpr'",
    "-k": "use 'keyword'",
    **{f"--{name}": advice for name, advice in _OWN.items()},
    **{f"--testmatrix-{name}": advice for name, advice in _OWN.items()},
    "--junitxml": _REPORTS,
    "--junit-xml": _REPORTS,
    "--rootdir": "the workspace root (which holds skiplists/) is the rootdir",
    "-c": "the workspace root (which holds skiplists/) has the pytest configuration",
}
ARGS = PytestArgs(REFUSED_ARGS)
# the refused option an argument starts with (the vLLM importer says which of a job's
# arguments it cannot carry over)
REFUSED_ARG = ARGS.regex

# -- the declarations --------------------------------------------------------------

WORKSPACE = Table(
    "Settings of the whole workspace.",
    {
        "install": Key(
            List(TEXT, expect="a list of pip arguments (strings)"),
            "What `nox -s SESSION` installs into a fresh virtualenv (pip arguments).",
            default=list(model_default(Workspace, "install")),
        ),
        "model_pattern": Key(
            Regex(),
            "What a model id looks like (a regular expression); a value of a model "
            "parameter (model_params) must match it to count as the test's model.",
            default=model_default(Workspace, "model_pattern"),
        ),
        "model_params": Key(
            Regex(),
            "Which test parameters carry a model: a regular expression searched for "
            "in the parameter's name (a record's or dict's field is 'param.field'). "
            "Values the skiplists list count wherever they are; other values only "
            "under these names.",
            default=model_default(Workspace, "model_params"),
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
            default=model_default(Workspace, "reports_dir"),
        ),
        "buildkite": Key(WORKSPACE_BUILDKITE, WORKSPACE_BUILDKITE.meaning),
        "github": Key(WORKSPACE_GITHUB, WORKSPACE_GITHUB.meaning),
        "inventory": Key(INVENTORY, INVENTORY.meaning),
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
        default=model_default(Suite, "gpus"),
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
        default=model_default(Suite, "reruns_delay"),
    ),
    "durations": Key(
        RELATIVE_PATH,
        "Recorded test durations (a JSON file, relative to the workspace root) "
        "that balance the suite's shards.",
    ),
    "buildkite": Key(BUILDKITE, BUILDKITE.meaning),
    "github": Key(GITHUB, GITHUB.meaning),
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
        "models": Key(StrOrList(TEXT, min_items=1), "The model ids.", required=True),
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
            DEVICES_ENV,
            "The variable that hands a session its leased GPUs (default: "
            "HIP_VISIBLE_DEVICES on rocm, CUDA_VISIBLE_DEVICES on cuda, none "
            "elsewhere).",
        ),
        "buildkite": Key(BUILDKITE, BUILDKITE.meaning),
        "github": Key(GITHUB, GITHUB.meaning),
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
            List(TEXT, min_items=1),
            "How detection recognises the variant: AMD gfx targets (gfx942) or parts "
            "of NVIDIA device names (H100).",
            default=[],
        ),
        "buildkite": Key(BUILDKITE, BUILDKITE.meaning),
        "github": Key(GITHUB, GITHUB.meaning),
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
            MessagePattern(),
            "A pattern searched for in the first 4096 characters of the error's "
            "message, in a safe subset of regular expressions matched in linear time "
            "(no entry can hang a run): literal text, '.', \\d \\w \\s (and \\D "
            "\\W \\S), \\n \\t, [classes], ? * + after one of those, ^ and $ at "
            "the ends, | between alternatives; a backslash before punctuation is that "
            "character. No groups, counted or nested repetition, backreferences or "
            "lookarounds; at most 200 characters.",
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
            StrOrList(RELATIVE_PATH, min_items=1),
            "A file or directory, relative to the suite's base directory.",
        ),
        "paths": Key(
            StrOrList(RELATIVE_PATH, min_items=1),
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
        "models": Key(StrOrList(TEXT, min_items=1), "Model ids."),
        "model_lists": Key(
            StrOrList(TEXT, min_items=1),
            "Names of model lists (skiplists/models.toml).",
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
            StrOrList(TEXT, min_items=1),
            "A pytest node id (prefix), relative to the workspace.",
        ),
        "tests": Key(
            StrOrList(TEXT, min_items=1),
            "Pytest node ids (prefixes), relative to the workspace.",
        ),
        **ENTRY_KEYS,
        "fails": Key(FAILS, FAILS.meaning),
    },
    rules=(TESTS_RULE,),
)
FLAKY = Table(
    "Tests known to be flaky on the platform: a failure is rerun.",
    {
        "test": Key(
            StrOrList(Glob(), min_items=1),
            "A test id (a prefix of node ids), or a glob of them (*, ?, [...]).",
        ),
        "tests": Key(
            StrOrList(Glob(), min_items=1),
            "Test ids (prefixes of node ids), or globs of them (*, ?, [...]).",
        ),
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
