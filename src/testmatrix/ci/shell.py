"""Read the shell text of a CI step: its commands, the pytest argv behind them, and cd.

Pure functions over strings: no YAML and no skiplist knowledge. A step's command text is
split into simple commands; each may be a pytest run behind wrappers (`timeout 30m`,
`VAR=1`, `uv run`, `python -m pytest`), pipes and redirections, an `export`, or a
directory change that `Shell` follows. `read_pytest` sorts a pytest argv into what
selects tests (paths, --ignore, --deselect, -m, -k), shard flags, the arguments a run
keeps, the output-only flags it drops, and what cannot be carried, with why.
"""

from __future__ import annotations

import functools
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

SHARD_FLAGS = ("--shard-id", "--num-shards", "--splits", "--group")
UNMAPPED_FLAGS = ("-k", "-m", "--deselect")
# pytest options that take a separate value; the value is not a test path
VALUE_OPTIONS = {
    "-k",
    "-m",
    "-p",
    "-c",
    "-o",
    "-W",
    "--deselect",
    "--ignore",
    "--ignore-glob",
    "--rootdir",
    "--maxfail",
    "--junitxml",
    "--junit-xml",
    "--durations",
    "--log-level",
    "--tb",
    "-n",
    "--dist",
    "--reruns",
    "--timeout",
    "--shard-id",
    "--num-shards",
    "--basetemp",
    "--confcutdir",
    "--import-mode",
    "--cov",
    "--cov-report",
}


def split_commands(text: str) -> list[str]:
    """One shell line into its simple commands.

    Backslash continuations are joined; commands are split at && || ; | and newlines.
    """
    return list(_split_commands(text))


# a quoted string, a separator (&& || ; | newline), or a run of anything else
_SHELL_PART = re.compile(r"""'[^']*'?|"[^"]*"?|&&|\|\||[;\n|]|[^'"&|;\n]+|&""")


@functools.lru_cache(maxsize=4096)  # CI files repeat commands across agents
def _split_commands(text: str) -> tuple[str, ...]:
    # a backslash continuation; in a plain YAML scalar the newline was already folded
    # to a space
    text = re.sub(r"\\[ \t]*\n|\\[ \t]+", " ", text)
    parts, buf = [], ""
    for match in _SHELL_PART.finditer(text):
        token = match.group()
        if token in ("&&", "||", ";", "\n", "|"):
            # each command of a pipe (`pytest ... | tee log`) is a command of its own
            parts.append(buf)
            buf = ""
        else:
            buf += token
    parts.append(buf)
    return tuple(p.strip() for p in parts if p.strip())


# words before the command that only change how it runs: `timeout 600 pytest`,
# `uv run pytest`
_WRAPPERS = {"time": 0, "exec": 0, "nohup": 0, "env": 0, "timeout": 1}
_RUNNERS = {("uv", "run"), ("poetry", "run"), ("pdm", "run"), ("hatch", "run")}
_REDIRECT = re.compile(r"^[0-9]*(>>?|<|>&|&>)")


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class PytestCall:
    """One pytest command: the variables assigned in front of it, and its argv."""

    env: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]


def _words(command: str) -> list[str] | None:
    words = _split(command)
    return None if words is None else list(words)


@functools.lru_cache(maxsize=4096)  # CI files repeat commands across agents
def _split(command: str) -> tuple[str, ...] | None:
    if '\\"' in command and '"' not in command.replace('\\"', ""):
        # only escaped quotes: written for a template that wraps the command in "..."
        # (vLLM's `-m \"not vlm\"`), they are quotes when the step runs
        command = command.replace('\\"', '"')
    try:
        return tuple(shlex.split(command, comments=True))
    except ValueError:
        return None


def pytest_argv(command: str) -> list[str] | None:
    """The arguments after `pytest`, else None.

    Also `python -m pytest`, after env assignments, wrappers and runners.
    """
    call = pytest_call(command)
    return None if call is None else list(call.argv)


def pytest_call(command: str) -> PytestCall | None:
    """The pytest run of a simple command, else None: `A=1 timeout 9 pytest -x t`
    gives env (A, 1) and argv [-x, t]; shell redirections are dropped."""
    words = _words(command)
    if words is None:
        return None
    env: list[tuple[str, str]] = []
    while words:
        if _ASSIGNMENT.match(words[0]):
            name, _, value = words[0].partition("=")
            env.append((name, value))
            words = words[1:]
        elif words[0] in _WRAPPERS:
            words = words[1 + _WRAPPERS[words[0]] :]
        elif tuple(words[:2]) in _RUNNERS:
            words = words[2:]
        else:
            break
    if words[:1] == ["pytest"] or (words[:1] and words[0].endswith("/pytest")):
        argv = words[1:]
    elif (
        len(words) >= 3
        and re.match(r"python[0-9.]*$", posixpath.basename(words[0]))
        and words[1:3] == ["-m", "pytest"]
    ):
        argv = words[3:]
    else:
        return None
    out, skip = [], False
    for word in argv:  # redirections are the shell's, not pytest's: `> log.txt 2>&1`
        if skip:
            skip = False
        elif _REDIRECT.match(word):
            skip = _REDIRECT.sub("", word) in ("", "&")
        else:
            out.append(word)
    return PytestCall(tuple(env), tuple(out))


def exports(command: str) -> dict[str, str] | None:
    """What `export A=1 B=2` puts in the environment of the commands after it; None
    for any other command (`export A` alone exports a shell variable: nothing known)."""
    if not command.lstrip().startswith("export"):
        return None
    words = _words(command)
    if not words or words[0] != "export":
        return None
    found: dict[str, str] = {}
    for word in words[1:]:
        if _ASSIGNMENT.match(word):
            name, _, value = word.partition("=")
            found[name] = value
    return found


def parses(command: str) -> bool:
    """Whether the shell can split the command into words (no unbalanced quote)."""
    return _split(command) is not None


def pytest_runner(command: str) -> str | None:
    """For a command that is no pytest run but names pytest (`xargs -n1 pytest {}`,
    `find -exec pytest`, a script handed a pytest command line): the program that runs
    it, its first word. None when pytest is not named."""
    if "pytest" not in command:
        return None
    words = _words(command)
    if words is None:
        return None
    named = any(re.search(r"(^|[\s/])pytest(\s|$)", word) for word in words)
    if not named:
        return None
    index = 0
    while index < len(words) - 1 and _ASSIGNMENT.match(words[index]):
        index += 1
    return words[index]


def parse_pytest(argv: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(paths, ignores, unmapped flags) of one pytest argv."""
    paths, ignores, unmapped = [], [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if name == "--ignore":
            if not eq:
                i += 1
                value = argv[i] if i < len(argv) else ""
            ignores.append(value)
        elif name in UNMAPPED_FLAGS or name in SHARD_FLAGS or name == "--ignore-glob":
            if not eq and i + 1 < len(argv):
                i += 1
                value = argv[i]
            unmapped.append(f"{name} {value}".strip() if not eq else arg)
        elif arg.startswith("-"):
            if not eq and name in VALUE_OPTIONS and i + 1 < len(argv):
                i += 1
        else:
            paths.append(arg)
        i += 1
    return paths, ignores, unmapped


# Output-only flags, dropped by `read_pytest`: they change what pytest prints, or when
# it stops after a failure, never which tests are selected or how each one runs.
OUTPUT_ONLY = {
    "--verbose": False,
    "--quiet": False,
    "--exitfirst": False,
    "--showlocals": False,
    "--no-header": False,
    "--no-summary": False,
    "--tb": True,  # True: takes a value
    "--durations": True,
    "--durations-min": True,
    "--maxfail": True,
    "--color": True,
    "--code-highlight": True,
    "--capture": True,
    "-r": True,
}
_SHORT_OUTPUT = re.compile(r"^-[vqsxl]+$")  # -v -s -x -vv -sv ...
# Flags that change the selection in ways a suite cannot say, and why.
SELECTION_UNMAPPED = {
    "--ignore-glob": "a glob of paths to ignore; suites and entries name paths",
    "-c": "another pytest configuration file decides collection",
    "--config-file": "another pytest configuration file decides collection",
    "--rootdir": "another rootdir decides which configuration and conftests apply",
    "--confcutdir": "it changes which conftest.py files are loaded",
    "--pyargs": "its paths are Python module names",
    "--lf": "it selects what failed in an earlier run (pytest's cache)",
    "--last-failed": "it selects what failed in an earlier run (pytest's cache)",
    "--ff": "it orders by an earlier run's failures (pytest's cache)",
    "--failed-first": "it orders by an earlier run's failures (pytest's cache)",
    "--nf": "it orders by an earlier run (pytest's cache)",
    "--sw": "it resumes from an earlier run (pytest's cache)",
    "--stepwise": "it resumes from an earlier run (pytest's cache)",
    "--co": "it collects tests without running them",
    "--collect-only": "it collects tests without running them",
}
_WITH_VALUE = {"-c", "--config-file", "--rootdir", "--confcutdir", "--ignore-glob"}


@dataclass(frozen=True)
class PytestArgs:
    """A pytest argv sorted by what each argument does."""

    paths: tuple[str, ...] = ()  # positional: directories, files, node ids
    ignores: tuple[str, ...] = ()
    deselects: tuple[str, ...] = ()
    markexpr: str | None = None  # the last -m (pytest keeps the last)
    keyword: str | None = None  # the last -k
    shard: tuple[str, ...] = ()  # shard flags as written (--shard-id=$$...)
    kept: tuple[str, ...] = ()  # other arguments, each option with its value
    dropped: tuple[str, ...] = ()  # output-only flags (OUTPUT_ONLY)
    # selection changes a suite cannot carry: (flag as written, why)
    unmapped: tuple[tuple[str, str], ...] = field(default=())


def read_pytest(
    argv: list[str] | tuple[str, ...], is_path: Callable[[str], bool] | None = None
) -> PytestArgs:
    """Sort one pytest argv: what selects tests, shard flags, what a run keeps, what
    only changes output (dropped), and what cannot be carried (with why).

    Only a conftest knows which of its options take a value (`--model NAME`): with
    `is_path`, a word after an unknown long option is its value unless it is a path.
    """
    paths: list[str] = []
    ignores: list[str] = []
    deselects: list[str] = []
    shard: list[str] = []
    kept: list[str] = []
    dropped: list[str] = []
    unmapped: list[tuple[str, str]] = []
    expressions: dict[str, str] = {}
    i = 0

    def value_of(name: str, eq: str, value: str) -> tuple[str, str]:
        """(value, the flag as written), taking the next word when no '=' gave one."""
        nonlocal i
        if eq:
            return value, f"{name}={value}"
        if i + 1 < len(argv):
            i += 1
            return argv[i], f"{name} {argv[i]}"
        return "", name

    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg in ("-m", "-k") or (arg[:2] in ("-m", "-k") and arg[1:2] != "-"):
            flag = arg[:2]
            if len(arg) > 2:  # -mslow, -m=slow
                expressions[flag] = arg[2:].removeprefix("=")
            else:
                expressions[flag] = value_of(flag, "", "")[0]
        elif name == "--ignore":
            ignores.append(value_of(name, eq, value)[0])
        elif name == "--deselect":
            deselects.append(value_of(name, eq, value)[0])
        elif name in SHARD_FLAGS:
            shard.append(value_of(name, eq, value)[1])
        elif name in SELECTION_UNMAPPED:
            written = value_of(name, eq, value)[1] if name in _WITH_VALUE else arg
            unmapped.append((written, SELECTION_UNMAPPED[name]))
        elif _SHORT_OUTPUT.match(arg) or (arg.startswith("-r") and len(arg) > 2):
            dropped.append(arg)
        elif name in OUTPUT_ONLY:
            dropped.append(value_of(name, eq, value)[1] if OUTPUT_ONLY[name] else arg)
        elif arg.startswith("-"):
            following = argv[i + 1] if i + 1 < len(argv) else None
            takes = name in VALUE_OPTIONS or (
                is_path is not None
                and arg.startswith("--")
                and following is not None
                and not following.startswith("-")
                and not is_path(following)
            )
            if not eq and takes and following is not None:
                kept += [arg, following]
                i += 1
            else:
                kept.append(arg)
        else:
            paths.append(arg)
        i += 1
    return PytestArgs(
        paths=tuple(paths),
        ignores=tuple(ignores),
        deselects=tuple(deselects),
        markexpr=expressions.get("-m"),
        keyword=expressions.get("-k"),
        shard=tuple(shard),
        kept=tuple(kept),
        dropped=tuple(dropped),
        unmapped=tuple(unmapped),
    )


class Shell:
    """The working directory of a step's script, followed through cd, pushd and popd."""

    def __init__(self, cwd: str, checkout_root: str | None):
        self.cwd: str | None = cwd  # relative to the checkout root; None once unknown
        self.root = checkout_root
        self.stack: list[str | None] = []
        self.lost = ""  # the command after which the directory became unknown

    def run(self, command: str) -> bool:
        """Follow a directory change; False for any other command."""
        if not command.lstrip().startswith(("cd", "pushd", "popd")):
            return False
        try:
            words = shlex.split(command)
        except ValueError:
            return False
        if not words or words[0] not in ("cd", "pushd", "popd"):
            return False
        if words[0] == "popd":
            self._set(self.stack.pop() if self.stack else None, command)
            return True
        if words[0] == "pushd":
            self.stack.append(self.cwd)
        target = words[1] if len(words) == 2 else None
        self._set(self._resolve(target), command)
        return True

    def _resolve(self, target: str | None) -> str | None:
        if target is None or target == "-" or target.startswith("~") or "$" in target:
            return None
        if posixpath.isabs(target):
            return under_root(target, self.root)
        return (
            None
            if self.cwd is None
            else posixpath.normpath(posixpath.join(self.cwd, target))
        )

    def _set(self, cwd: str | None, command: str) -> None:
        if cwd is None and self.cwd is not None:
            self.lost = command
        self.cwd = cwd


def under_root(path: str, checkout_root: str | None) -> str | None:
    """An absolute path on the agent, relative to the checkout root.

    None when it is outside the checkout root.
    """
    root = posixpath.normpath(checkout_root or "/")
    path = posixpath.normpath(path)
    if path != root and not path.startswith(root.rstrip("/") + "/"):
        return None
    return posixpath.relpath(path, root)
