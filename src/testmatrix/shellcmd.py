"""Read the shell text of a CI step: its commands, the pytest argv behind them, and cd.

Pure functions over strings: no YAML and no skiplist knowledge. A step's command text is
split into simple commands; each may be a pytest run behind wrappers (`timeout 30m`,
`VAR=1`, `uv run`, `python -m pytest`), pipes and redirections, or a directory change
that `Shell` follows.
"""

from __future__ import annotations

import posixpath
import re
import shlex

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
    # a backslash continuation; in a plain YAML scalar the newline was already folded
    # to a space
    text = re.sub(r"\\[ \t]*\n|\\[ \t]+", " ", text)
    parts, buf, quote = [], "", None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf += ch
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            buf += ch
        elif text.startswith("&&", i) or text.startswith("||", i):
            parts.append(buf)
            buf = ""
            i += 1
        elif ch in ";\n|":
            # each command of a pipe (`pytest ... | tee log`) is a command of its own
            parts.append(buf)
            buf = ""
        else:
            buf += ch
        i += 1
    parts.append(buf)
    return [p.strip() for p in parts if p.strip()]


# words before the command that only change how it runs: `timeout 600 pytest`,
# `uv run pytest`
_WRAPPERS = {"time": 0, "exec": 0, "nohup": 0, "env": 0, "timeout": 1}
_RUNNERS = {("uv", "run"), ("poetry", "run"), ("pdm", "run"), ("hatch", "run")}
_REDIRECT = re.compile(r"^[0-9]*(>>?|<|>&|&>)")


def pytest_argv(command: str) -> list[str] | None:
    """The arguments after `pytest`, else None.

    Also `python -m pytest`, after env assignments, wrappers and runners.
    """
    if '\\"' in command and '"' not in command.replace('\\"', ""):
        # only escaped quotes: written for a template that wraps the command in "..."
        # (vLLM's `-m \"not vlm\"`), they are quotes when the step runs
        command = command.replace('\\"', '"')
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        return None
    while words:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
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
    return out


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


class Shell:
    """The working directory of a step's script, followed through cd, pushd and popd."""

    def __init__(self, cwd: str, checkout_root: str | None):
        self.cwd: str | None = cwd  # relative to the checkout root; None once unknown
        self.root = checkout_root
        self.stack: list[str | None] = []
        self.lost = ""  # the command after which the directory became unknown

    def run(self, command: str) -> bool:
        """Follow a directory change; False for any other command."""
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
