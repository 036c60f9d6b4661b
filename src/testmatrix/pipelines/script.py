"""A step's shell script into the commands the vLLM import reads (`vllm.jobs.Command`).

A script is a list of *items*: Buildkite's `commands` entries, or one GitHub `run:`
block. Within an item, shell comment lines are the note above the command after them,
a trailing `# ...` is the note beside it, and `cd`/`export` hold for the commands
after them. Commands wrapped to run elsewhere are unwrapped: `docker exec -w DIR
-e K=V NAME cmd`, `bash -c '...'`, and the scripts named with --wrapper. A command
inside an `if`/`for`/`while` block runs only sometimes: it is kept, not mapped, with
that reason.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from testmatrix.ci.shell import (
    Shell,
    exports,
    parses,
    pytest_call,
    pytest_runner,
    read_pytest,
    split_commands,
)
from testmatrix.ci.yamlsrc import Source, comment
from testmatrix.core.model import FrozenMap
from testmatrix.vllm.jobs import Command, FlagSite

OPENERS = {"if", "for", "while", "until", "case", "select"}
CLOSERS = {"fi", "done", "esac"}
KEYWORDS = {"then", "do", "else", "elif", "{", "}", "!"}
# docker exec/run options that take a value (the ones that change nothing here too)
DOCKER_VALUE = {
    "-w", "--workdir", "-e", "--env", "-u", "--user", "--env-file", "-v", "--volume",
    "--name", "--network", "--ipc", "--shm-size", "--group-add", "--cap-add",
    "--security-opt", "--device", "--gpus", "--entrypoint", "--mount", "-p",
    "--publish", "--runtime", "--ulimit", "--platform", "--pull", "-h", "--hostname",
    "--add-host", "--label", "-l", "--memory", "-m", "--cpus", "--detach-keys",
}  # fmt: skip
# conda/mamba/micromamba run options that take a value
ENV_RUN_VALUE = ("-n", "--name", "-p", "--prefix", "--cwd", "-e", "--env")
# a -v source that is the directory the command is started in
CURRENT = {"$(pwd)", "$PWD", "${PWD}", ".", "./", "`pwd`"}
GITHUB_ENV = re.compile(
    r"""^echo\s+["']?([A-Za-z_][A-Za-z0-9_]*)=([^"'>]*)["']?\s*>>\s*"?\$\{?GITHUB_ENV\}?"?$"""
)
SCRIPT_FLAGS = ("-c", "-lc", "-ec", "-xc", "-exc", "-ex")
MAX_DEPTH = 4  # bash -c inside bash -c ...
# $NAME or ${NAME}, not $$NAME (Buildkite's escape, the shell's PID) nor $1, $@
VARIABLE = re.compile(
    r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))"
)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Item:
    """One piece of script text and where it is written."""

    text: str
    start: int  # 0-based line of its first text
    end: int  # 0-based last line
    above: tuple[str, ...] = ()  # YAML comments above it


@dataclass(frozen=True)
class _At:
    """Where a command is written, and what is around it."""

    line: int  # 0-based
    item: Item
    note: str | None  # the comment beside it
    above: tuple[str, ...]  # the comments above it
    depth: int  # inside this many if/for/while blocks


@dataclass
class Builder:
    """Commands of one job, in order; cd and export followed within a script."""

    source: Source
    wrappers: Sequence[str] = ()
    out: list[Command] = field(default_factory=list)
    exported: dict[str, str] = field(default_factory=dict)  # $GITHUB_ENV lines
    variables: dict[str, str] = field(default_factory=dict)

    def script(
        self, items: Sequence[Item], cwd: str, env: dict[str, str]
    ) -> list[Command]:
        """Commands of one shell (a Buildkite step, a GitHub `run:` step)."""
        shell = Shell(cwd.lstrip("/") or ".", None)
        running = {**env}
        self.variables = {}  # a shell's own: `NAME=value` alone on a line
        first = len(self.out)
        for item in items:
            self._item(item, shell, running)
        return self.out[first:]

    def _item(self, item: Item, shell: Shell, running: dict[str, str]) -> None:
        pending: list[str] = []
        depth = 0
        for index, line, text in _logical_lines(item, self.source):
            if text.lstrip().startswith("#"):
                pending.append(text.strip().lstrip("#").strip())
                continue
            # the source line holds the YAML comment beside a plain scalar too
            note = comment(self.source.lines[line]) if line >= 0 else comment(text)
            line = item.start if line < 0 else line
            body = _strip_comment(text)
            above = tuple(pending) or (item.above if index == 0 else ())
            pending = []
            for part in split_commands(body):
                words = part.split()
                head = words[0] if words else ""
                if head in OPENERS:
                    depth += 1
                rest = part
                while rest.split(" ", 1)[0] in KEYWORDS | OPENERS:
                    rest = rest.split(" ", 1)[1] if " " in rest else ""
                if head in CLOSERS or rest.split(" ", 1)[0] in CLOSERS:
                    depth = max(0, depth - 1)
                    continue
                if not rest.strip() or head in OPENERS:
                    continue
                at = _At(line, item, note, above, depth)
                self._command(_unparen(rest.strip()), at, shell, running)

    def _command(
        self,
        text: str,
        at: _At,
        shell: Shell,
        running: dict[str, str],
        level: int = 0,
    ) -> None:
        cwd = None if shell.cwd is None else "/" + shell.cwd.removeprefix(".")
        command = Command(
            text=text,
            line=at.line + 1,
            kind="other",
            cwd=posixpath.normpath(cwd) if cwd else None,
            lost=shell.lost,
            env=FrozenMap(running),
            comment=at.note,
            above=at.above,
        )
        text = expand(text, {**running, **self.variables})
        assigned = _assignments(text)
        if assigned:
            self.variables.update(assigned)
            self.out.append(command)
            return
        if shell.run(text):
            self.out.append(replace(command, kind="cd"))
            return
        exported = exports(text)
        if exported is not None:
            running.update(exported)
            self.out.append(replace(command, kind="export", env=FrozenMap(running)))
            return
        found = GITHUB_ENV.match(text)
        if found:
            self.exported[found.group(1)] = found.group(2).strip()
            self.out.append(command)
            return
        unwrapped = self._unwrap(text)
        if unwrapped is not None and level < MAX_DEPTH:
            argv = unwrapped.argv
            inner = Shell(".", None)  # a subshell: its cd stays inside
            inner.cwd, inner.lost = shell.cwd, shell.lost
            here = None if shell.cwd is None else "/" + shell.cwd.removeprefix(".")
            if unwrapped.unknown:
                inner.cwd, inner.lost = None, f"{text} ({unwrapped.unknown})"
            elif unwrapped.cwd is not None:
                where = _inside(unwrapped, here and posixpath.normpath(here))
                inner.run(shlex.join(["cd", where or unwrapped.cwd]))
            env = {**running, **unwrapped.env}
            is_script = len(argv) >= 3 and argv[0] in ("bash", "sh")
            parts = (
                split_commands(argv[2])
                if is_script and argv[1] in SCRIPT_FLAGS
                else [shlex.join(argv)]
            )
            for part in parts:
                self._command(part, at, inner, env, level + 1)
            return
        self._run(command, text, at, running)

    def _run(
        self, command: Command, text: str, at: _At, running: dict[str, str]
    ) -> None:
        """A command that may run pytest: a pytest run, or kept with why not."""
        call = pytest_call(text)
        if call is None:
            runner = pytest_runner(text)
            self.out.append(replace(command, runner=runner, parsed=parses(text)))
            return
        if at.depth:
            why = (
                "runs inside a shell if/for/while block: only when its condition "
                "holds, or once per loop value"
            )
            self.out.append(replace(command, why=why))
            return
        args = read_pytest(call.argv)
        sites = tuple(
            self._site(value, at.line, at.item)
            for value in (*args.ignores, *args.deselects)
        )
        self.out.append(
            replace(
                command,
                kind="pytest",
                env=FrozenMap({**running, **dict(call.env)}),
                call=args,
                argv=call.argv,
                flags=sites,
            )
        )

    def _unwrap(self, text: str) -> _Inner | None:
        """The command a wrapper runs, where and with what environment, else None."""
        try:
            words = shlex.split(text, comments=True)
        except ValueError:
            return None
        while words and words[0] in ("sudo", "exec"):
            words = words[1:]
        if words[:2] in (["docker", "exec"], ["docker", "run"]):
            return _docker(words[2:])
        if words[:1] in (["bash"], ["sh"]) and len(words) >= 2:
            if words[1] in self.wrappers:
                words = words[1:]
            elif len(words) == 3 and words[1] in SCRIPT_FLAGS:
                return _Inner(words)
        if words[1:2] == ["run"] and words[0] in ("conda", "mamba", "micromamba"):
            found = _options(words[2:], takes=ENV_RUN_VALUE)
            return found if found is None or found.argv else None
        if words and words[0] in self.wrappers:
            return _options(words[1:], takes=("-e", "--env", "-w", "--workdir"))
        return None

    def _site(self, value: str, line: int, item: Item) -> FlagSite:
        found = self.source.find(value, line, item.end) if value else None
        index = line if found is None else found
        text = self.source.lines[index] if index < len(self.source.lines) else ""
        return FlagSite(value, index + 1, comment(text))


def expand(text: str, known: dict[str, str]) -> str:
    """`$NAME` and `${NAME}` filled in, as the shell would, where every variable the
    text names (outside single quotes) is known; else the text as it is."""
    if "$" not in text:
        return text
    parts = re.split(r"('[^']*')", text)  # single quotes: the shell expands nothing
    names = [
        a or b
        for i, part in enumerate(parts)
        if i % 2 == 0
        for a, b in VARIABLE.findall(part)
    ]
    if not names or any(n not in known for n in names):
        return text
    if any(shlex.quote(known[n]) != known[n] for n in names):
        return text  # a value with spaces or quotes: the shell splits it its own way

    def one(match: re.Match[str]) -> str:
        return known[match.group(1) or match.group(2)]

    return "".join(
        VARIABLE.sub(one, part) if i % 2 == 0 else part for i, part in enumerate(parts)
    )


def _assignments(text: str) -> dict[str, str] | None:
    """`A=1 B=2` alone: the shell's own variables, else None."""
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    if not words or not all(ASSIGNMENT.match(w) for w in words):
        return None
    return dict(w.split("=", 1) for w in words)


@dataclass
class _Inner:
    """The command a wrapper runs: its argv, directory and environment."""

    argv: list[str]
    cwd: str | None = None  # as the wrapper says it (-w DIR)
    env: dict[str, str] = field(default_factory=dict)
    mounts: list[tuple[str, str]] = field(default_factory=list)  # -v SRC:DST
    unknown: str = ""  # why its directory is not known: the image decides it


def _docker(words: list[str]) -> _Inner | None:
    """`docker exec [options] CONTAINER cmd...` (run: IMAGE) as the inner command;
    without -w it runs where the image says: unknown here."""
    found = _options(words, takes=tuple(DOCKER_VALUE))
    if found is None or len(found.argv) < 2:
        return None  # the container or image alone: its own entrypoint runs
    found.argv = found.argv[1:]
    if found.cwd is None:
        found.unknown = "the container's own working directory (no -w)"
    return found


def _options(words: list[str], takes: tuple[str, ...]) -> _Inner | None:
    """Leading options of a wrapper: -w/--workdir/--cwd DIR, -e K=V, -v SRC:DST
    (others skipped); the rest is the command."""
    inner = _Inner([])
    i = 0
    while i < len(words) and words[i].startswith("-"):
        word = words[i]
        name, eq, value = word.partition("=")
        if not eq and name in takes:
            if i + 1 >= len(words):
                return None
            value = words[i + 1]
            i += 2
        else:
            i += 1
            if not eq and name.startswith("--") and name not in takes:
                continue  # a flag: --rm, --privileged
        if name in ("-w", "--workdir", "--cwd"):
            inner.cwd = value
        elif name in ("-e", "--env"):
            key, has, val = value.partition("=")
            if has:
                inner.env[key] = val
        elif name in ("-v", "--volume") and ":" in value:
            source, _, target = value.partition(":")
            inner.mounts.append((source, target.split(":")[0]))
    inner.argv = words[i:]
    return inner


def _inside(inner: _Inner, here: str | None) -> str | None:
    """The directory a wrapped command runs in, on the agent: its -w, moved back
    out of the container where a -v mounts the current directory there."""
    if inner.cwd is None:
        return here
    for source, target in inner.mounts:
        mounted = here if source in CURRENT else source
        if here is not None and not posixpath.isabs(mounted or ""):
            mounted = posixpath.join(here, mounted or "")
        under = inner.cwd == target or inner.cwd.startswith(target.rstrip("/") + "/")
        if mounted and under:
            return posixpath.normpath(mounted + inner.cwd[len(target) :])
    return inner.cwd


def _unparen(text: str) -> str:
    """A command without the parentheses of a subshell around it: `(pytest a`,
    `tee log)`."""
    if text.startswith("(") and not text.startswith("(("):
        text = text[1:].lstrip()
    if text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip()
    return text


def _strip_comment(text: str) -> str:
    """The line without its trailing `# comment` (outside quotes)."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text


def _logical_lines(item: Item, source: Source) -> list[tuple[int, int, str]]:
    """(index, 0-based source line, text) of each logical line of an item: backslash
    continuations joined, the line found in the source where it can be (-1: not
    found, a folded or escaped scalar)."""
    out: list[tuple[int, int, str]] = []
    buf: list[str] = []
    cursor = item.start
    for piece in [*item.text.split("\n"), ""]:
        if piece.rstrip().endswith("\\") and not piece.lstrip().startswith("#"):
            buf.append(piece.rstrip()[:-1])
            continue
        buf.append(piece)
        text = " ".join(b.strip() for b in buf).strip()
        first = next((b.strip() for b in buf if b.strip()), "")
        buf = []
        if not text:
            continue
        found = source.find(first[:60], cursor, item.end)
        if found is not None:
            cursor = found + 1
        out.append((len(out), -1 if found is None else found, text))
    return out
