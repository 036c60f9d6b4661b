"""Prove an import: each CI command against the session it became.

For every pytest command the file-level selection of the original (the files under its
paths minus those under its --ignore paths, with its -m, -k, environment, arguments and
--deselect ids as given) is compared with the session's, computed by
`plan.session_command`: the function nox sessions, Buildkite steps and `testmatrix
argv` all run. The files are the checkout's own, so a difference is a real one.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testmatrix.ci.shell import read_pytest
from testmatrix.core import options as opt
from testmatrix.core.model import Workspace, is_glob
from testmatrix.core.names import session_name
from testmatrix.core.runs import expand
from testmatrix.core.session import SessionCommand, session_command
from testmatrix.vllm.jobs import Command, Job
from testmatrix.vllm.planmodel import ImportPlan, Instance

# what a session adds that is its own, not the suite's selection
SESSION_FLAGS = (
    "--junitxml",
    *(
        name
        for option in (
            opt.PLATFORM,
            opt.VARIANT,
            opt.SUITE,
            opt.RUN,
            opt.SUMMARY,
            opt.DURATIONS,
        )
        for name in option.names()
    ),
)


@dataclass(frozen=True)
class Result:
    """One command of a job and what became of it."""

    job: Job
    command: Command
    status: str  # "exact", "different" or "not-mapped"
    detail: str = ""
    session: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.job.location.file,
            "line": self.command.line,
            "label": self.job.label,
            "platform": self.job.platform,
            "variant": self.job.variant,
            "kind": "pytest" if self.command.kind == "pytest" else "other",
            "command": self.command.text,
            "sessions": [self.session] if self.session else [],
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Selection:
    files: frozenset[str]  # of its directories, files and expanded globs
    tests: frozenset[str]  # node ids it names (file.py::test)
    markexpr: str | None
    keyword: str | None
    env: tuple[tuple[str, str], ...]
    args: tuple[str, ...]
    deselects: frozenset[str]


class Files:
    """The checkout's files under a path, each directory walked once."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[str, frozenset[str]] = {}

    def under(self, path: str) -> frozenset[str]:
        found = self.cache.get(path)
        if found is not None:
            return found
        full = self.root / path
        if full.is_file():
            found = frozenset([path])
        elif full.is_dir():
            names: set[str] = set()
            for directory, dirs, files in os.walk(full):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                rel = os.path.relpath(directory, self.root).replace(os.sep, "/")
                names.update(f"{rel}/{name}" for name in files)
            found = frozenset(names)
        else:
            found = frozenset()
        self.cache[path] = found
        return found

    def selected(self, paths: tuple[str, ...], ignores: tuple[str, ...]) -> frozenset:
        """The files under the paths (globs expanded as the shell would; node ids
        aside: `tests`), minus those under the ignores."""
        chosen: set[str] = set()
        for given in paths:
            for path in expand(self.root, given):
                if "::" not in path:
                    chosen |= self.under(path)
        for ignore in ignores:
            chosen -= self.under(ignore)
        return frozenset(chosen)


def prove(plan: ImportPlan, workspace: Workspace | None, root: Path) -> list[Result]:
    """A result for every command of every job, in the pipelines' order (without a
    workspace: a plan that maps no command)."""
    files = Files(root)
    by_command = {id(i.command): i for i in plan.instances}
    results: list[Result] = []
    for job in plan.jobs:
        for command in job.commands:
            instance = by_command.get(id(command))
            if instance is not None:
                results.append(_prove(instance, workspace, files))
            elif command.kind == "other":
                results.append(Result(job, command, "not-mapped", _other(command)))
    return results


def _other(command: Command) -> str:
    if command.why:
        return command.why
    if not command.parsed:
        return "the shell cannot split it into words (an unbalanced quote)"
    if command.runner:
        return (
            f"'{command.runner}' runs pytest on what it finds when the job runs; "
            "not a pytest command line"
        )
    return "not a pytest command: a session runs pytest only"


def _prove(instance: Instance, workspace: Workspace | None, files: Files) -> Result:
    job, command = instance.job, instance.command
    if instance.unmapped is not None or instance.suite is None:
        return Result(job, command, "not-mapped", instance.unmapped or "no suite")
    assert workspace is not None, "a mapped command needs the written workspace"
    name = session_name(instance.platform, instance.suite, instance.variant)
    original = command_selection(instance, files)
    _, session = session_selection(
        workspace,
        files,
        instance.platform,
        instance.suite,
        instance.variant,
        run=instance.run,
    )
    differs = _differences(original, session)
    notes = [f"{flag} not carried: {why}" for flag, why in instance.not_carried]
    if differs:
        return Result(job, command, "different", "; ".join(differs + notes), name)
    detail = f"{len(original.files)} files"
    shell = shell_note(files.root, instance.paths)
    if shell:
        notes.append(shell)
    if notes:
        detail += "; " + "; ".join(notes)
    return Result(job, command, "exact", detail, name)


def command_selection(instance: Instance, files: Files) -> Selection:
    """What a CI command selects: the files under its paths minus its --ignore paths,
    with its -m, -k, environment, arguments and --deselect ids."""
    ignores = tuple(d.target for d in instance.decisions)
    return Selection(
        files.selected(instance.paths, ignores),
        node_ids(files.root, instance.paths),
        instance.markexpr,
        instance.keyword,
        tuple(sorted(instance.env.items())),
        instance.args,
        frozenset(instance.deselects),
    )


def session_selection(
    workspace: Workspace,
    files: Files,
    platform: str,
    suite: str,
    variant: str | None,
    run: int | None = None,
) -> tuple[SessionCommand, Selection]:
    """The command `plan.session_command` builds for a session (one run of a suite
    of several), and what it selects in the same terms as a CI command (the
    session's own flags left aside)."""
    made = session_command(workspace, platform, suite, variant=variant, run=run)
    root = files.root
    argv = read_pytest(made.argv, lambda w: (root / w.split("::")[0]).exists())
    own = tuple(a for a in argv.kept if a.split("=", 1)[0] not in SESSION_FLAGS)
    return made, Selection(
        files.selected(argv.paths, argv.ignores),
        node_ids(root, argv.paths),
        argv.markexpr,
        argv.keyword,
        tuple(sorted(made.env.items())),
        own,
        frozenset(argv.deselects),
    )


def node_ids(root: Path, paths: Sequence[str]) -> frozenset[str]:
    """The node ids among a command's paths (globs in their file part expanded)."""
    return frozenset(p for given in paths for p in expand(root, given) if "::" in p)


def shell_note(root: Path, paths: Sequence[str]) -> str:
    """What the proof read as the shell would: each glob and its matches."""
    notes = []
    for path in paths:
        if is_glob(path):
            found = expand(root, path)
            notes.append(
                f"glob '{path}' expanded as the shell would: {len(found)} files"
            )
    ids = [p for p in paths if "::" in p]
    if ids:
        notes.append(f"{len(ids)} node id{'s' * (len(ids) > 1)} compared as written")
    return "; ".join(notes)


def differences(original: Selection, session: Selection) -> list[str]:
    """What a session selects unlike a CI command, in words (empty: alike)."""
    return _differences(original, session)


def _differences(original: Selection, session: Selection) -> list[str]:
    out = []
    more = sorted(session.files - original.files)
    fewer = sorted(original.files - session.files)
    if more:
        out.append(f"the session adds {len(more)} files ({_some(more)})")
    if fewer:
        out.append(f"the session misses {len(fewer)} files ({_some(fewer)})")
    for what, mine, theirs in (
        ("-m", original.markexpr, session.markexpr),
        ("-k", original.keyword, session.keyword),
        ("env", dict(original.env), dict(session.env)),
        ("arguments", original.args, session.args),
        ("--deselect", sorted(original.deselects), sorted(session.deselects)),
        ("node ids", sorted(original.tests), sorted(session.tests)),
    ):
        if mine != theirs:
            out.append(f"{what}: CI {mine!r}, session {theirs!r}")
    return out


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f", and {len(names) - 3} more" if len(names) > 3 else "")


# -- the report ----------------------------------------------------------------


def totals(results: list[Result]) -> dict[str, int]:
    pytest = Counter(r.status for r in results if r.command.kind == "pytest")
    return {
        "pytest_commands": sum(pytest.values()),
        "exact": pytest["exact"],
        "different": pytest["different"],
        "not_mapped": pytest["not-mapped"],
        "other_commands": sum(1 for r in results if r.command.kind != "pytest"),
    }


def step_lines(results: list[Result]) -> list[str]:
    """One line per job: where, label, target -> sessions, exact or what differs;
    then a line for each command that is not mapped (other commands counted)."""
    lines: list[str] = []
    by_job: dict[int, list[Result]] = {}
    for result in results:
        by_job.setdefault(id(result.job), []).append(result)
    for group in by_job.values():
        job = group[0].job
        mine = [r for r in group if r.command.kind == "pytest"]
        sessions = list(dict.fromkeys(r.session for r in mine if r.session))
        head = f"{job.location}: '{job.label}' {job.target}"
        if sessions:
            head += " -> " + ", ".join(sessions)
        statuses = Counter(r.status for r in mine)
        if not mine:
            state = "no pytest command"
        elif statuses["different"]:
            state = f"{statuses['different']} of {len(mine)} pytest commands differ"
        elif statuses["exact"] == len(mine):
            state = "exact"
        else:
            state = (
                f"{statuses['exact']} of {len(mine)} pytest commands exact, "
                f"{statuses['not-mapped']} not mapped"
            )
        others = [
            r for r in group if r.command.kind != "pytest" and not r.command.runner
        ]
        if others:
            plural = "s" if len(others) > 1 else ""
            state += f" ({len(others)} other command{plural}, not pytest)"
        lines.append(f"{head}: {state}")
        for result in group:
            command = result.command
            runs_tests = (
                command.kind == "pytest"
                or bool(command.runner)
                or not command.parsed
                or bool(command.why)
            )
            if result.status == "exact" or not runs_tests:
                continue
            where = f"{job.location.file}:{result.command.line}"
            lines.append(
                f"{where}:   {result.status}: {result.command.text} ({result.detail})"
            )
    return lines
