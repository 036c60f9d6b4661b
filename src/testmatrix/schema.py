"""What each skiplist file may say, declared once, as data.

Every table of `skiplists/` is a `Table` of `Key`s: for each key its kind of value, its
meaning, whether it is required and its default. From these declarations alone come

- the checks: `check()` walks a parsed file against its declaration and reports unknown
  keys (with did-you-mean), wrong types, out-of-range values and missing keys, each as
  one located `Problem`, and returns the values converted and with defaults filled in;
- the JSON Schemas (draft-07) shipped in `schemas/` for editors (Taplo, Even Better
  TOML): `python -m testmatrix.schema --write` regenerates them.

`config` keeps only what a declaration cannot say: paths that must exist, references
between files, duplicates and colliding session names.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import expression, tomlpos
from .errors import Problem, did_you_mean, unknown
from .model import HARDWARE, NAME_PATTERN, FrozenMap, Suite, Workspace

SCHEMA_DIR = Path(__file__).parent / "schemas"

Fail = Callable[[tuple, str], None]  # (key path below the value, message)


def show(value: object) -> str:
    """A value as TOML writes it, for messages: 'two', 3, true, a table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return repr(value)


def _model_default(cls: Any, name: str) -> Any:
    """A model field's default, so a default is written once, in the model."""
    return cls.__dataclass_fields__[name].default


# -- kinds of values ---------------------------------------------------------------


class Kind:
    """What a value must be: `convert` checks and converts a parsed TOML value (None:
    refused, with the reason given to `fail`); `json` says the same in JSON Schema."""

    expect = "a value"  # completes "'key' in [table] must be ..."
    plural = "values"

    def accepts(self, value: object) -> bool:
        raise NotImplementedError

    def cast(self, value: Any) -> Any:
        return value

    def json(self) -> dict[str, Any]:
        raise NotImplementedError

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        """The value converted, or None after reporting why not. `expect` stands for
        this kind's own phrase when the value is an item of a list."""
        if not self.accepts(value):
            fail((), f"{subject} must be {expect or self.expect}, got {show(value)}")
            return None
        return self.cast(value)


class Text(Kind):
    expect = "a non-empty string"
    plural = "non-empty strings"

    def accepts(self, value: object) -> bool:
        return isinstance(value, str) and bool(value.strip())

    def json(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"\S"}


class Pattern(Kind):
    """A string matching a regular expression (one that JSON Schema reads alike)."""

    def __init__(
        self, pattern: str, expect: str, plural: str, message: str | None = None
    ):
        self.regex = re.compile(pattern)
        self.expect, self.plural = expect, plural
        self.message = message  # the refusal, from {subject} and {value}

    def accepts(self, value: object) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if self.message and isinstance(value, str) and not self.accepts(value):
            fail((), self.message.format(subject=subject, value=show(value)))
            return None
        return super().convert(value, subject, fail, expect)

    def json(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.regex.pattern}


class Date(Kind):
    expect = "a date (YYYY-MM-DD)"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        fail((), f"{subject} must be {self.expect}, got {show(value)}")
        return None

    def json(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


class Int(Kind):
    def __init__(self, low: int, high: int | None = None):
        self.low, self.high = low, high
        if high is None:
            self.expect = f"an integer >= {low}"
        else:
            self.expect = f"an integer from {low} to {high}"

    def accepts(self, value: object) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        return value >= self.low and (self.high is None or value <= self.high)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer", "minimum": self.low}
        if self.high is not None:
            out["maximum"] = self.high
        return out


class Seconds(Kind):
    expect = "a number of seconds >= 0"

    def accepts(self, value: object) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return math.isfinite(value) and value >= 0

    def cast(self, value: Any) -> Any:
        return float(value)

    def json(self) -> dict[str, Any]:
        return {"type": "number", "minimum": 0}


class Bool(Kind):
    expect = "true or false"

    def accepts(self, value: object) -> bool:
        return isinstance(value, bool)

    def json(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Choice(Kind):
    """One of a few words; a wrong word is an unknown `noun` with did-you-mean."""

    def __init__(self, noun: str, choices: tuple[str, ...]):
        self.noun, self.choices = noun, choices
        words = [f"'{c}'" for c in choices]
        self.expect = ", ".join(words[:-1]) + f" or {words[-1]}"

    def accepts(self, value: object) -> bool:
        return value in self.choices

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if isinstance(value, str) and value not in self.choices:
            fail((), unknown(self.noun, value, self.choices))
            return None
        return super().convert(value, subject, fail, expect)

    def json(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


class Regex(Kind):
    expect = "a regular expression"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, str):
            return super().convert(value, subject, fail, expect)
        try:
            re.compile(value)
        except re.error as exc:
            fail((), f"{subject} is not a regular expression: {exc}")
            return None
        return value

    def accepts(self, value: object) -> bool:
        return isinstance(value, str)

    def json(self) -> dict[str, Any]:
        return {"type": "string", "format": "regex"}


class Expression(Text):
    """A pytest -m or -k expression, checked against pytest's grammar (nox loads the
    skiplists in an interpreter that need not have pytest)."""

    def __init__(self, option: str):
        self.option = option
        self.expect = f"a pytest {option} expression"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        text: str | None = super().convert(value, subject, fail, expect)
        if text is None:
            return None
        try:
            expression.check(text)
        except expression.ExpressionError as exc:
            why = f"is not a valid pytest {self.option} expression: {exc.message}"
            fail((), f"{subject} {why} (column {exc.column})")
            return None
        return text


class List(Kind):
    """An array of one kind of item; converted to a tuple. One bad item refuses the
    whole array (so later items keep their positions for messages)."""

    def __init__(self, item: Kind, *, min_items: int = 0, expect: str | None = None):
        self.item, self.min_items = item, min_items
        many = "a non-empty list" if min_items else "a list"
        self.expect = expect or f"{many} of {item.plural}"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, list):
            fail((), f"{subject} must be {expect or self.expect}, got {show(value)}")
            return None
        if len(value) < self.min_items:
            fail((), f"{subject} must be {self.expect}, got an empty array")
            return None
        items = []
        for index, item in enumerate(value):

            def at(path: tuple, message: str, index: int = index) -> None:
                fail((index, *path), message)

            items.append(self.item.convert(item, subject, at, self.expect))
        if any(item is None for item in items):
            return None
        return tuple(items)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.json()}
        if self.min_items:
            out["minItems"] = self.min_items
        return out


class StrOrList(List):
    """One item, or an array of them: always a tuple."""

    def __init__(self, item: Kind):
        super().__init__(item)
        self.expect = f"{item.expect} or a list of {item.plural}"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if isinstance(value, list):
            return super().convert(value, subject, fail, expect)
        one = self.item.convert(value, subject, fail, self.expect)
        return None if one is None else (one,)

    def json(self) -> dict[str, Any]:
        item = self.item.json()
        return {"anyOf": [item, {"type": "array", "items": item}]}


class Integer(Kind):
    """Any integer (Buildkite's priority may be negative)."""

    expect = "an integer"

    def accepts(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def json(self) -> dict[str, Any]:
        return {"type": "integer"}


class Either(Kind):
    """A value of one of several kinds (the first that accepts it converts it)."""

    def __init__(self, *kinds: Kind, expect: str):
        self.kinds = kinds
        self.expect = expect

    def accepts(self, value: object) -> bool:
        return any(self._accepts(kind, value) for kind in self.kinds)

    @staticmethod
    def _accepts(kind: Kind, value: object) -> bool:
        if isinstance(kind, List):
            return (
                isinstance(value, list)
                and len(value) >= kind.min_items
                and all(kind.item.accepts(v) for v in value)
            )
        return kind.accepts(value)

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        for kind in self.kinds:
            if self._accepts(kind, value):
                return kind.convert(value, subject, fail, expect)
        fail((), f"{subject} must be {expect or self.expect}, got {show(value)}")
        return None

    def json(self) -> dict[str, Any]:
        return {"anyOf": [kind.json() for kind in self.kinds]}


def freeze(value: Any) -> Any:
    """A parsed TOML value as a hashable one: tables become FrozenMaps, arrays
    tuples."""
    if isinstance(value, dict):
        return FrozenMap({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


class Plugins(Kind):
    """Buildkite plugins: each a reference ('docker#v5.12.0') or a one-key table of
    the reference to its settings."""

    expect = (
        "a list of Buildkite plugins: references ('docker#v5.12.0') or tables of one "
        "reference to its settings"
    )

    def accepts(self, value: object) -> bool:
        return isinstance(value, list) and all(self._plugin(v) for v in value)

    @staticmethod
    def _plugin(value: object) -> bool:
        if isinstance(value, str):
            return bool(value.strip())
        return (
            isinstance(value, dict)
            and len(value) == 1
            and all(isinstance(v, dict) for v in value.values())
        )

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, list):
            return super().convert(value, subject, fail, expect)
        good = True
        for index, item in enumerate(value):
            if not self._plugin(item):
                fail(
                    (index,),
                    f"{subject} item {index + 1} must be a plugin reference or a "
                    f"table of one reference to its settings, got {show(item)}",
                )
                good = False
        return freeze(value) if good else None

    def json(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string", "pattern": r"\S"},
                    {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 1,
                        "additionalProperties": {"type": "object"},
                    },
                ]
            },
        }


SCALAR_TYPES = (str, int, float, bool)


class ScalarMap(Kind):
    """A table of names to strings, numbers or booleans; `names` checks the names,
    `as_strings` stores every value as the string a process environment holds."""

    def __init__(self, names: Pattern | None = None, *, as_strings: bool = False):
        self.names, self.as_strings = names, as_strings
        if names is None:
            self.expect = "a table of names to strings, numbers or booleans"
        else:
            self.expect = f"a table of {names.plural} to strings, numbers or booleans"

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        if not isinstance(value, dict):
            fail((), f"{subject} must be {self.expect}, got {show(value)}")
            return None
        good = True
        for name, item in value.items():
            if self.names is not None and not self.names.accepts(name):
                fail((name,), f"{subject} names '{name}', not {self.names.expect}")
                good = False
            if not isinstance(item, SCALAR_TYPES):
                wanted = "a string, number or boolean"
                fail(
                    (name,),
                    f"{subject} must map '{name}' to {wanted}, got {show(item)}",
                )
                good = False
        if not good:
            return None
        if self.as_strings:
            return FrozenMap({k: _as_env(v) for k, v in value.items()})
        return FrozenMap(value)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        }
        if self.names is not None:
            out["propertyNames"] = {"pattern": self.names.regex.pattern}
        return out


def _as_env(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


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
_LONG = "|".join(re.escape(o[2:]) for o in REFUSED_ARGS if o.startswith("--"))
_SHORT = "".join(o[1] for o in REFUSED_ARGS if not o.startswith("--"))
# the option alone, `--opt=value` or `--opt value` in one item, or a short option with
# its value attached (-knot_x, -pno:x)
REFUSED_ARG = re.compile(rf"^(--(?:{_LONG})(?=[=\s]|$)|-[{_SHORT}])")


class PytestArgs(List):
    """Extra pytest arguments, refusing those the session passes or keys say."""

    def __init__(self) -> None:
        super().__init__(Text(), expect="a list of pytest arguments (strings)")

    def convert(
        self, value: object, subject: str, fail: Fail, expect: str | None = None
    ) -> Any:
        args = super().convert(value, subject, fail, expect)
        if args is None:
            return None
        refused = False
        for index, arg in enumerate(args):
            match = REFUSED_ARG.match(arg)
            if match:
                advice = REFUSED_ARGS[match.group(1)]
                fail((index,), f"{subject} may not pass '{arg}': {advice}")
                refused = True
        return None if refused else args

    def json(self) -> dict[str, Any]:
        out = super().json()
        out["items"] = {**out["items"], "not": {"pattern": REFUSED_ARG.pattern}}
        return out


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

# -- tables ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Key:
    """One key of a table: its kind, what it means (a sentence), whether it must be
    given (`missing`: the message when not), and its value when absent (None: unset,
    or a default `meaning` describes, computed where the model is built)."""

    kind: Kind | Table | MapOf | ArrayOf
    meaning: str
    required: bool = False
    default: Any = None
    missing: str | None = None


@dataclass(frozen=True, eq=False)
class OneOf:
    """Exactly one of two keys."""

    first: str
    second: str

    def check(self, data: dict, at: tuple, label: str, report: Fail) -> None:
        if self.first in data and self.second in data:
            both = f"'{self.first}' and '{self.second}'"
            report(at + (self.second,), f"{label} gives both {both}: use one")
        elif self.first not in data and self.second not in data:
            report(at, f"{label} has no '{self.first}' (or '{self.second}')")

    def json(self) -> dict[str, Any]:
        return {"oneOf": [{"required": [self.first]}, {"required": [self.second]}]}


@dataclass(frozen=True, eq=False)
class AnyOf:
    """At least one of two keys; `message` from {label}."""

    first: str
    second: str
    message: str = "{label} has no '{first}' (or '{second}')"

    def check(self, data: dict, at: tuple, label: str, report: Fail) -> None:
        if self.first not in data and self.second not in data:
            text = self.message.format(
                label=label, first=self.first, second=self.second
            )
            report(at, text)

    def json(self) -> dict[str, Any]:
        return {"anyOf": [{"required": [self.first]}, {"required": [self.second]}]}


@dataclass(frozen=True, eq=False)
class Requires:
    """A key that makes sense only with another; `message` from {label}."""

    key: str
    needed: str
    message: str

    def check(self, data: dict, at: tuple, label: str, report: Fail) -> None:
        if self.key in data and self.needed not in data:
            report(at + (self.key,), self.message.format(label=label))

    def json(self) -> dict[str, Any]:
        return {"dependencies": {self.key: [self.needed]}}


Rule = OneOf | AnyOf | Requires


@dataclass(frozen=True, eq=False)
class Table:
    """A table's keys, the rules between them, and keys that belong elsewhere."""

    meaning: str
    keys: Mapping[str, Key]
    rules: tuple[Rule, ...] = ()
    elsewhere: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class MapOf:
    """[KEY.NAME] tables, each of `table`; `noun` names one, `names` checks names."""

    table: Table
    noun: str
    names: Pattern | None = None


@dataclass(frozen=True, eq=False)
class ArrayOf:
    """[[KEY]] tables, each of `table`."""

    table: Table


@dataclass(frozen=True, eq=False)
class Document:
    """One kind of skiplist file: where it lives and its top-level tables."""

    name: str  # the schema's file stem
    path: str  # where it lives in the workspace (a glob for platforms)
    root: Table


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
            default=_model_default(Workspace, "pipeline"),
        ),
        "annotate": Key(
            Bool(),
            "Whether the pipeline ends with a step that merges every job's "
            "summary into the platform x suite matrix and posts it with "
            "buildkite-agent annotate, even when jobs failed.",
            default=_model_default(Workspace, "annotate"),
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
SUITE = Table(
    "A named selection of tests: its paths minus its excludes, narrowed by markexpr "
    "and keyword; one session <platform>-<suite> (and <platform>-<variant>-<suite>) "
    "per place it runs.",
    {
        "path": Key(
            RELATIVE_PATH,
            "The suite's directory or test file, relative to the workspace root.",
        ),
        "paths": Key(
            List(RELATIVE_PATH, min_items=1),
            "The suite's directories or test files, relative to the workspace root.",
        ),
        "description": Key(
            TEXT, "What the suite tests (default: tests under its paths)."
        ),
        "exclude": Key(
            List(RELATIVE_PATH),
            "Paths left out on every platform because another suite runs them, "
            "relative to the suite's base (the deepest directory holding its paths).",
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
            "Environment variables of the suite's runs (true/false become 1/0).",
        ),
        "args": Key(
            PytestArgs(),
            "Extra pytest arguments. Selection and reports have keys of their own: "
            "--ignore, --deselect, -m, -k, -p, -c, --rootdir, --junitxml and "
            "testmatrix's own options are refused.",
        ),
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
    },
    rules=(
        OneOf("path", "paths"),
        Requires("platforms", "platforms_reason", RUNS_ON_REASON),
        Requires(
            "platforms_reason",
            "platforms",
            "'platforms_reason' in {label} explains 'platforms', which it does not "
            "give",
        ),
    ),
)

SUITES_FILE = Document(
    "suites",
    "skiplists/suites.toml",
    Table(
        "testmatrix workspace settings and test suites (skiplists/suites.toml).",
        {
            "workspace": Key(WORKSPACE, WORKSPACE.meaning),
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


# -- the checker -------------------------------------------------------------------


def _bare(name: str) -> str:
    """A key as a table header writes it."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _header(label: str | None, name: str) -> str:
    """[suites.pooling] from [suites] and 'pooling'; [workspace] at the top."""
    if label is None:
        return f"[{_bare(name)}]"
    if not label.endswith("]"):  # inside an array entry: "'fails' in [[skip]] entry"
        return f"'{name}' in {label}"
    return f"{label[:-1]}.{_bare(name)}]"


def _expected(root: Table) -> str:
    """'[platform], [variants.NAME], [[ignore]] or [[skip]]': a file's tables."""
    tables = []
    for name, key in root.keys.items():
        if isinstance(key.kind, MapOf):
            tables.append(f"[{name}.NAME]")
        elif isinstance(key.kind, ArrayOf):
            tables.append(f"[[{name}]]")
        else:
            tables.append(f"[{name}]")
    if len(tables) == 1:
        return tables[0]
    return ", ".join(tables[:-1]) + f" or {tables[-1]}"


def _absent(key: Key) -> Any:
    if isinstance(key.kind, Table):
        return {name: _absent(k) for name, k in key.kind.keys.items()}
    if isinstance(key.kind, MapOf):
        return {}
    if isinstance(key.kind, ArrayOf):
        return []
    if isinstance(key.default, list):
        return tuple(key.default)
    return key.default


class Checker:
    """Walks one parsed file against its declaration, collecting located problems."""

    def __init__(self, file: str, positions: dict[tuple, int]):
        self.file = file
        self.positions = positions
        self.problems: list[Problem] = []

    def report(self, at: tuple, message: str) -> None:
        line = tomlpos.line_of(self.positions, *at)
        self.problems.append(Problem(self.file, line, message))

    def document(self, document: Document, data: dict) -> dict[str, Any]:
        return self.table(document.root, data, (), None)

    def table(
        self, decl: Table, data: dict, at: tuple, label: str | None
    ) -> dict[str, Any]:
        """The table's values: converted where valid, else (and where absent) the
        declared default; nested tables as dicts, [x.NAME] as {name: dict},
        [[x]] as [(index, dict)]."""
        values: dict[str, Any] = {}
        for name, value in data.items():  # in the file's order
            key = decl.keys.get(name)
            if key is None:
                self.report(at + (name,), self.unknown(decl, name, label))
                continue
            value = self.value(key, name, value, at + (name,), label)
            values[name] = _absent(key) if value is None else value
        # then what is missing: often the consequence of a misspelt key above
        for name, key in decl.keys.items():
            if name not in data:
                if key.required:
                    self.report(at, key.missing or f"{label} has no '{name}'")
                values[name] = _absent(key)
        for rule in decl.rules:
            rule.check(data, at, label or "", self.report)
        return values

    def unknown(self, decl: Table, name: str, label: str | None) -> str:
        if label is None:
            hint = did_you_mean(name, decl.keys)
            return f"unknown table '{name}'{hint}; expected {_expected(decl)}"
        if name in decl.elsewhere:
            return (
                f"'{name}' does not belong in {label}: set it in {decl.elsewhere[name]}"
            )
        hint = did_you_mean(name, decl.keys)
        known = "" if hint else f"; known: {', '.join(decl.keys)}"
        return f"unknown key '{name}' in {label}{hint}{known}"

    def value(
        self, key: Key, name: str, value: object, at: tuple, label: str | None
    ) -> Any:
        subject = f"'{name}'" if label is None else f"'{name}' in {label}"
        kind = key.kind
        if isinstance(kind, Kind):

            def fail(path: tuple, message: str) -> None:
                self.report(at + path, message)

            return kind.convert(value, subject, fail)
        if isinstance(kind, ArrayOf):
            if not isinstance(value, list) or not all(
                isinstance(v, dict) for v in value
            ):
                self.report(
                    at, f"'{name}' must be an array of tables: write [[{name}]]"
                )
                return None
            entry = f"[[{name}]] entry"
            return [
                (i, self.table(kind.table, v, at + (i,), entry))
                for i, v in enumerate(value)
            ]
        if not isinstance(value, dict):
            self.report(at, f"{subject} must be a table, got {show(value)}")
            return None
        header = _header(label, name)
        if isinstance(kind, Table):
            return self.table(kind, value, at, header)
        if key.required and not value:
            self.report(at, key.missing or f"{header} declares no {kind.noun}")
        tables: dict[str, dict[str, Any]] = {}
        for item, table in value.items():
            if kind.names is not None and not kind.names.accepts(item):
                rule = "must be lower-case letters, digits, '-' or '_'"
                self.report(at + (item,), f"{kind.noun} name '{item}' {rule}")
            if not isinstance(table, dict):
                got = show(table)
                self.report(
                    at + (item,), f"'{item}' in {header} must be a table, got {got}"
                )
                continue
            tables[item] = self.table(
                kind.table, table, at + (item,), _header(header, item)
            )
        return tables


def check(
    document: Document, data: dict, file: str, positions: dict[tuple, int]
) -> tuple[dict[str, Any], list[Problem]]:
    """A parsed file's values (converted, defaults filled in) and its problems."""
    checker = Checker(file, positions)
    return checker.document(document, data), checker.problems


# -- JSON Schema -------------------------------------------------------------------


def _key_schema(key: Key) -> dict[str, Any]:
    kind = key.kind
    if isinstance(kind, Kind):
        out = kind.json()
    elif isinstance(kind, Table):
        out = _table_schema(kind)
    elif isinstance(kind, ArrayOf):
        out = {"type": "array", "items": _table_schema(kind.table)}
    else:
        out = {"type": "object"}
        if kind.names is not None:
            out["propertyNames"] = {"pattern": kind.names.regex.pattern}
        if key.required:
            out["minProperties"] = 1
        out["additionalProperties"] = _table_schema(kind.table)
    out = {"description": key.meaning, **out}
    if key.default is not None:
        out["default"] = key.default
    return out


def _table_schema(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "description": table.meaning,
        "properties": {name: _key_schema(key) for name, key in table.keys.items()},
        "additionalProperties": False,
    }
    required = [name for name, key in table.keys.items() if key.required]
    if required:
        out["required"] = required
    if table.rules:
        out["allOf"] = [rule.json() for rule in table.rules]
    return out


def json_schema(document: Document) -> dict[str, Any]:
    """The JSON Schema (draft-07) of one kind of skiplist file."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"testmatrix {document.path}",
        **_table_schema(document.root),
    }


def schema_text(document: Document) -> str:
    return json.dumps(json_schema(document), indent=2, ensure_ascii=False) + "\n"


def schema_path(document: Document) -> Path:
    return SCHEMA_DIR / f"{document.name}.schema.json"


def main(argv: list[str] | None = None) -> int:
    """--write: regenerate the shipped schemas; --check (the default): exit 1 when
    they differ from the declarations."""
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"], ["--write"]):
        print("usage: python -m testmatrix.schema [--check | --write]", file=sys.stderr)
        return 2
    stale = []
    for document in DOCUMENTS:
        path, text = schema_path(document), schema_text(document)
        if args == ["--write"]:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path.name)
    if stale:
        print(
            f"stale: {', '.join(stale)}; run: python -m testmatrix.schema --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
