"""The kinds of value skiplist keys share: names, paths, places, pytest arguments
(and the options those refuse), declared once for every table of `schema`."""

from __future__ import annotations

from testmatrix.config.kinds import Pattern, PytestArgs, Text
from testmatrix.core.names import NAME_PATTERN

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

TEXT = Text()
NAME = Pattern(
    NAME_PATTERN.pattern,
    "a name (lower-case letters, digits, '-' or '_')",
    "names (lower-case letters, digits, '-' or '_')",
)
RELATIVE_PATH = Pattern(r"^[^/~\s].*$", "a relative path", "relative paths")
LINK = Pattern(r"^https?://\S+$", "a link (http:// or https://)", "links")
ENV_NAME = Pattern(
    r"^[A-Za-z_][A-Za-z0-9_]*$",
    "an environment variable name (letters, digits and '_', not starting with a digit)",
    "environment variable names",
)
MARKER = Pattern(
    r"^[A-Za-z_][A-Za-z0-9_]*$",
    "a pytest marker name",
    "pytest marker names",
    message="marker {value} is not a valid pytest marker name",
)
PLACE = Pattern(
    r"^[a-z0-9][a-z0-9_-]*(:[a-z0-9][a-z0-9_-]*)?$",
    "a platform ('rocm') or a variant ('rocm:mi355')",
    "platforms ('rocm') or variants ('rocm:mi355')",
)
