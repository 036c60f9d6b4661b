"""Write the skiplists into vLLM's own CI files, updated in place (`testmatrix export
--format vllm`): the `mirror: amd:` blocks of `test_areas/*.yaml`, and the commands of
`test-amd.yaml`'s steps.

A step's AMD twin is the rocm session (on a declared variant where possible) of the
suites its NVIDIA commands belong to (matched as `check-vllm` matches them): the
block's `device` is that variant's agent pool for the suites' GPUs, its `working_dir`
the checkout root on the agents (where sessions run), its `commands` the sessions
(`nox --no-venv -s NAME`) or their pytest commands. Keys of the block other than
device, num_devices, working_dir and commands stay as written; a step whose suites run
on no rocm target loses its block. Only those lines change: every other key, comment
and blank line of the file stays byte for byte. An editor on lines (PyYAML's marks)
instead of a round-trip YAML library: no new dependency, and nothing else is
re-rendered.

In test-amd.yaml each pytest command that check-vllm maps to a suite (on the step's
variant) is replaced by that suite's session, in place: only the command's own text
changes, so the step's other commands (setup, scripts, node ids) keep their place and
order, and a trailing comment its line. A session runs from the checkout root: a
command that ran elsewhere becomes `cd ROOT && SESSION && cd BACK`, so the commands
after it still run where they did. A step no command of which maps is left as it is,
with a note; so is a command written in a block scalar or reached through an anchor
(an edit there would change other steps too).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from testmatrix.ci.yamlsrc import compose, line_of, mapping_value, walk_steps
from testmatrix.core import options as opt
from testmatrix.core.model import Suite, Target, Workspace
from testmatrix.core.names import session_name
from testmatrix.core.session import runs_on, session_commands
from testmatrix.errors import TestmatrixError
from testmatrix.vllm import jobs as vllmjobs
from testmatrix.vllm.check import Matcher
from testmatrix.vllm.planmodel import ImportPlan, Instance

if TYPE_CHECKING:
    import yaml

OWN_KEYS = ("device", "num_devices", "working_dir", "commands", "command")


@dataclass
class Export:
    files: dict[Path, str] = field(default_factory=dict)  # path: new text
    changed: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)  # test-amd steps: what changed
    left: list[str] = field(default_factory=list)  # test-amd steps left as they are
    # AMD jobs that run tests the export would drop: refused without force
    refused: list[str] = field(default_factory=list)
    force: bool = False
    removed: list[str] = field(default_factory=list)  # the same, done with force


def export(
    workspace: Workspace,
    plan: ImportPlan,
    paths: list[Path],
    style: str = "nox",
    force: bool = False,
) -> Export:
    """The new text of every test_areas and test-amd file among `paths` (directories
    or files). An AMD job that runs tests is removed, or loses tests of its own, only
    with `force`; without it each is listed in `refused`, and left as it is."""
    matcher = Matcher(workspace, plan)
    jobs = {
        str(j.location): j for j in plan.jobs if j.platform != "rocm" or j.mirror_of
    }
    amd_jobs = {
        str(j.location): j
        for j in plan.jobs
        if j.platform == "rocm" and j.mirror_of is None
    }
    by_job: dict[int, list[Instance]] = {}
    for instance in plan.instances:
        by_job.setdefault(id(instance.job), []).append(instance)
    out = Export(force=force)
    for given in paths:
        files = sorted(given.glob("*.y*ml")) if given.is_dir() else [given]
        for path in files:
            name = _shown(path, given.parent)
            text, root = compose(path, name)
            if root is None:
                continue
            if mapping_value(root, "group") is not None:
                new = _edit(text, root, name, path, jobs, by_job, matcher, style, out)
            elif any(k.startswith(f"{name}:") for k in amd_jobs):
                new = _edit_amd(text, root, name, amd_jobs, by_job, matcher, style, out)
            else:
                continue  # no step of it is a vLLM job (read for nothing else)
            out.files[path] = new
            if new != text:
                out.changed.append(path)
    return out


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def _last_line(lines: list[str], node: yaml.Node) -> int:
    """The last line (0-based) of a node's own text: trailing blank and comment lines
    belong to what follows."""
    end = int(node.end_mark.line) - (1 if node.end_mark.column == 0 else 0)
    start = int(node.start_mark.line)
    end = min(end, len(lines) - 1)
    while end > start and (not lines[end].strip() or lines[end].lstrip()[:1] == "#"):
        end -= 1
    return end


def _scalar(text: str) -> str:
    """A YAML scalar for a string: plain where that reads back the same, else
    double-quoted (JSON's escapes are YAML's)."""
    plain = re.fullmatch(r"[A-Za-z0-9_./@%+=$-][^#'\"{}\[\],&*!|>%@`]*", text)
    if plain and ": " not in text and not text.endswith((" ", ":")):
        return text
    return json.dumps(text)


def _edit(
    text: str,
    root: yaml.Node,
    name: str,
    path: Path,
    jobs: dict[str, vllmjobs.Job],
    by_job: dict[int, list[Instance]],
    matcher: Matcher,
    style: str,
    out: Export,
) -> str:
    lines = text.splitlines(keepends=True)
    steps = mapping_value(root, "steps")
    edits: list[tuple[int, int, list[str]]] = []  # [start, end) replaced by lines
    for node in walk_steps(steps, Path(name)) if steps is not None else ():
        where = f"{name}:{line_of(node)}"
        job = jobs.get(where)
        if job is None or job.platform != "cuda":
            continue
        twin = jobs.get(f"{name}:{_amd_line(node)}") if _amd_line(node) else None
        instances = by_job.get(id(job), [])
        theirs = by_job.get(id(twin), []) if twin is not None else []
        inherited = {c.line for c in job.commands}
        own = [i for i in theirs if i.command.line not in inherited]
        # an AMD job with commands of its own is the sessions of its own tests
        source = twin if own and twin is not None else job
        block = _block(source, twin, own or instances, matcher, style, out, where)
        if block is not None and twin is not None:
            block = _guarded(block, twin, own, matcher, out)
        if block is not None and block.keys is not None and own and twin is not None:
            setup = [c for c in twin.commands if c.kind != "pytest"]
            if setup:  # said, not dropped silently: a session cannot run them
                out.notes.append(
                    f"{twin.location}: AMD job '{twin.label}': its {len(setup)} "
                    f"commands other than pytest (line {setup[0].line}: "
                    f"{setup[0].text[:60]}) give way to sessions; the image must "
                    "provide what they set up"
                )
        if block is None:
            continue
        edit = _placement(lines, node, block, out, where)
        if edit is not None:
            edits.append(edit)
    return _apply(lines, edits)


def _apply(lines: list[str], edits: list[tuple[int, int, list[str]]]) -> str:
    """The text with each [start, end) range of lines replaced; ranges apart."""
    for start, end, new in sorted(edits, reverse=True):
        if new and start > 0 and not lines[start - 1].endswith("\n"):
            lines[start - 1] += "\n"  # the file's last line, without a newline
        lines[start:end] = new
    return "".join(lines)


def _amd_line(node: yaml.Node) -> int | None:
    from testmatrix.ci.yamlsrc import key_line

    mirror = mapping_value(node, "mirror")
    return key_line(mirror, "amd") if mirror is not None else None


@dataclass(frozen=True)
class _Block:
    """The AMD twin a step should have; None fields: remove the block."""

    keys: dict[str, object] | None
    suites: tuple[str, ...] = ()  # the suites its commands run


def _block(
    job: vllmjobs.Job,
    twin: vllmjobs.Job | None,
    instances: list[Instance],
    matcher: Matcher,
    style: str,
    out: Export,
    where: str,
) -> _Block | None:
    if not instances:
        return None  # no pytest command: nothing a session can stand for
    target, _ = matcher.target(job)
    rocm = matcher.workspace.platforms.get("rocm")
    if target is None or rocm is None:
        return None
    suites: list[Suite] = []
    for instance in instances:
        found = matcher.match(instance, target)
        if found.suite is None or found.status not in ("exact", "differs"):
            out.notes.append(
                f"{where}: step '{job.label}' left as it is: line "
                f"{instance.command.line} maps to no suite ({found.detail})"
            )
            return None
        if found.suite not in suites:
            suites.append(found.suite)
    candidates = [Target(rocm, v) for v in rocm.variants.values()] + [Target(rocm)]
    if twin is not None and twin.variant is not None and twin.variant in rocm.variants:
        mine = Target(rocm, rocm.variants[twin.variant])
        candidates = [mine] + [c for c in candidates if c != mine]
    best = max(candidates, key=lambda t: sum(runs_on(s, t) for s in suites))
    running = [s for s in suites if runs_on(s, best)]
    if not running:
        return _Block(None)
    if len(running) < len(suites):
        left = ", ".join(s.name for s in suites if s not in running)
        out.notes.append(
            f"{where}: step '{job.label}': {left} has no session on {best.name}; "
            "the AMD twin leaves it out"
        )
    gpus = max(s.gpus for s in running)
    keys: dict[str, object] = {}
    if best.variant is not None:
        pool = best.variant.buildkite.agents or {}
        template = str(pool.get("agent_pool") or f"{best.variant.name}_{{gpus}}")
        keys["device"] = template.replace("{gpus}", str(gpus))
    elif twin is not None and twin.device:
        keys["device"] = twin.device
    keys["working_dir"] = matcher.plan.checkout_root
    keys["commands"] = [
        _runs(matcher.workspace, Target(rocm, best.variant), suite, style)
        for suite in running
    ]
    return _Block(keys, tuple(s.name for s in running))


def _guarded(
    block: _Block,
    twin: vllmjobs.Job,
    own: list[Instance],
    matcher: Matcher,
    out: Export,
) -> _Block | None:
    """The block, unless it drops an AMD job that runs tests, or tests the job runs
    with commands of its own (`own`), without `force` (then None: left as is)."""
    where = f"{twin.location}: AMD job '{twin.label}' ({twin.target})"
    if block.keys is None:
        if not twin.pytest:
            return block
        lost = (
            f"{where} runs {len(twin.pytest)} pytest commands, but none of its "
            "suites has a rocm session: export removes its mirror: amd: block"
        )
    else:
        runs = set(block.suites)
        target, _ = matcher.target(twin)
        dropped = []
        for instance in own:
            found = matcher.match(instance, target) if target else None
            if found is None or found.suite is None or found.suite.name not in runs:
                dropped.append(f"line {instance.command.line}")
        if not dropped:
            return block
        lost = (
            f"{where}: its own pytest commands ({', '.join(dropped)}) run tests no "
            "session of its new commands runs: export replaces them"
        )
    if out.force:
        out.removed.append(lost)
        return block
    out.refused.append(lost)
    return None


def _runs(
    workspace: Workspace,
    target: Target,
    suite: Suite,
    style: str,
    run: int | None = None,
) -> str:
    """The command that runs a suite's session on a target, from the checkout root:
    `nox --no-venv -s NAME`, or (style pytest) the session's pytest command. With
    `run`, that run of a suite of several (the CI command it stands for); without,
    a suite's runs all run, each whatever the others gave, and fail together."""
    platform, variant = target.platform.name, target.variant_name
    name = session_name(platform, suite.name, variant)
    if style != "pytest":
        return f"nox --no-venv -s {name}" + (
            f" -- {opt.RUN.long}={run}" if run is not None else ""
        )
    made = session_commands(workspace, platform, suite.name, variant=variant)
    if run is not None:
        made = (made[run - 1],)
    lines = [
        shlex.join([*(f"{k}={v}" for k, v in m.env.items()), "pytest", *m.argv])
        for m in made
    ]
    command = lines[0]
    if len(lines) > 1:  # every run runs; bash's (( )) reads the variable, no $
        joined = "; ".join(f"{line} || failed=1" for line in lines)
        command = f"failed=0; {joined}; (( failed == 0 ))"
    unsafe = sorted(set(command) & UNSAFE_IN_WRAPPER)
    if unsafe:
        raise TestmatrixError(
            f"{suite.location}: suite {suite.name}'s pytest command holds "
            f"{' '.join(repr(c) for c in unsafe)}: vLLM's pipeline passes AMD "
            "commands to run-amd-test.sh inside double quotes and uploads them "
            "with interpolation, where these would run or change; export with "
            "--style nox, or rename what holds them"
        )
    return command


# what a double-quoted shell word and Buildkite's upload interpolation would read:
# vLLM's generator writes AMD commands as `run-amd-test.sh "<commands>"`
UNSAFE_IN_WRAPPER = frozenset('$`"\\\n')


def _placement(
    lines: list[str], node: yaml.Node, block: _Block, out: Export, where: str
) -> tuple[int, int, list[str]] | None:
    import yaml

    first, last = int(node.start_mark.line), _last_line(lines, node)
    indent = " " * int(node.value[0][0].start_mark.column)
    mirror_key = next(
        (
            k
            for k, _ in node.value
            if isinstance(k, yaml.ScalarNode) and k.value == "mirror"
        ),
        None,
    )
    mirror = mapping_value(node, "mirror")
    if mirror_key is not None and not first <= int(mirror_key.start_mark.line) <= last:
        out.notes.append(f"{where}: its mirror comes from an anchor; left as it is")
        return None
    amd_key = None
    if isinstance(mirror, yaml.MappingNode):
        amd_key = next(
            (
                k
                for k, _ in mirror.value
                if isinstance(k, yaml.ScalarNode) and k.value == "amd"
            ),
            None,
        )
    if block.keys is None:  # remove the AMD twin
        if (
            amd_key is None
            or mirror_key is None
            or not isinstance(mirror, yaml.MappingNode)
        ):
            return None
        if len(mirror.value) == 1:
            start, end = int(mirror_key.start_mark.line), _last_line(lines, mirror)
        else:
            amd = mapping_value(mirror, "amd")
            assert amd is not None
            start, end = int(amd_key.start_mark.line), _last_line(lines, amd)
            end = max(end, start)
        return start, end + 1, []
    if amd_key is not None and isinstance(mirror, yaml.MappingNode):
        amd = mapping_value(mirror, "amd")
        assert amd is not None
        start = int(amd_key.start_mark.line)
        end = max(start, _last_line(lines, amd))
        inner = " " * int(amd_key.start_mark.column)
        child = inner + "  "
        kept: list[str] = []
        if isinstance(amd, yaml.MappingNode) and not amd.flow_style and amd.value:
            child = " " * int(amd.value[0][0].start_mark.column)
            kept = _kept(lines, amd)
        return start, end + 1, _render(inner, block.keys, kept, child)
    if mirror_key is not None and isinstance(mirror, yaml.MappingNode) and mirror.value:
        end = _last_line(lines, mirror)  # a mirror of other kinds: add amd to it
        inner = " " * int(mirror.value[0][0].start_mark.column)
        return end + 1, end + 1, _render(inner, block.keys, [])
    if mirror_key is not None:
        out.notes.append(f"{where}: its mirror is not a block mapping; left as is")
        return None
    new = [f"{indent}mirror:\n", *_render(indent + "  ", block.keys, [])]
    return last + 1, last + 1, new


def _kept(lines: list[str], amd: yaml.MappingNode) -> list[str]:
    """The lines of the block's keys that export does not write, as they are."""
    import yaml

    out: list[str] = []
    pairs = amd.value
    for i, (key, value) in enumerate(pairs):
        if not isinstance(key, yaml.ScalarNode) or key.value in OWN_KEYS:
            continue
        start = int(key.start_mark.line)
        end = _last_line(lines, value)
        if i + 1 < len(pairs):
            end = min(end, int(pairs[i + 1][0].start_mark.line) - 1)
        out += lines[start : end + 1]
    return out


def _render(
    indent: str, keys: dict[str, object], kept: list[str], child: str | None = None
) -> list[str]:
    inner = child or indent + "  "
    out = [f"{indent}amd:\n"]
    for key, value in keys.items():
        if isinstance(value, list):
            out.append(f"{inner}{key}:\n")
            out += [f"{inner}- {_scalar(str(v))}\n" for v in value]
        else:
            out.append(f"{inner}{key}: {_scalar(str(value))}\n")
    return out + kept


def _edit_amd(
    text: str,
    root: yaml.Node,
    name: str,
    jobs: dict[str, vllmjobs.Job],
    by_job: dict[int, list[Instance]],
    matcher: Matcher,
    style: str,
    out: Export,
) -> str:
    """test-amd.yaml with each mapped pytest command replaced by its session."""
    lines = text.splitlines(keepends=True)
    steps = mapping_value(root, "steps")
    nodes = list(walk_steps(steps, Path(name))) if steps is not None else []
    owners: dict[int, int] = {}  # id(command scalar): how many steps reach it
    for node in nodes:
        for scalar in _command_scalars(node):
            owners[id(scalar)] = owners.get(id(scalar), 0) + 1
    edits: list[tuple[int, int, list[str]]] = []
    for node in nodes:
        where = f"{name}:{line_of(node)}"
        job = jobs.get(where)
        if job is None:
            continue
        why: list[str] = []
        new = _amd_sessions(job, by_job, matcher, style, why)
        span = (int(node.start_mark.line), _last_line(lines, node))
        changed = _rewrite(lines, node, job, new, owners, span, why, edits)
        label = f"{where}: step '{job.label}' ({job.target})"
        if changed:
            kept = f"; {'; '.join(why)}" if why else ""
            out.rewritten.append(f"{label}: {changed} commands run sessions{kept}")
        elif why:
            out.left.append(f"{label} left as it is: {'; '.join(why)}")
        else:
            out.left.append(f"{label} left as it is: no pytest command (scripts only)")
    return _apply(lines, edits)


def _amd_sessions(
    job: vllmjobs.Job,
    by_job: dict[int, list[Instance]],
    matcher: Matcher,
    style: str,
    why: list[str],
) -> dict[int, str]:
    """{id(Command): what runs instead} for a test-amd step's mapped pytest
    commands; why each other one is kept goes into `why`."""
    new: dict[int, str] = {}
    target, _ = matcher.target(job)
    for instance in by_job.get(id(job), []):
        command = instance.command
        found = matcher.match(instance, target) if target else None
        if (
            found is None
            or found.suite is None
            or found.status not in ("exact", "differs")
        ):
            detail = (found.detail or found.status) if found else "no rocm"
            why.append(f"line {command.line} kept: {detail}")
            continue
        if command.cwd is None:
            why.append(f"line {command.line} kept: its directory is unknown")
            continue
        assert target is not None
        runs = _runs(matcher.workspace, target, found.suite, style, found.run)
        home = "/" + matcher.plan.checkout_root.strip("/")
        if command.cwd.rstrip("/") != home.rstrip("/"):
            runs = f"cd {home} && {runs} && cd {command.cwd}"
        new[id(command)] = runs
    return new


def _rewrite(
    lines: list[str],
    node: yaml.Node,
    job: vllmjobs.Job,
    new: dict[int, str],
    owners: dict[int, int],
    span: tuple[int, int],
    why: list[str],
    edits: list[tuple[int, int, list[str]]],
) -> int:
    """Add the edits that put each step command's sessions in place of its pytest
    commands (a scalar other steps share, or written by hand, is kept and said
    why); the number of commands replaced."""
    import yaml

    first, last = span
    changed = 0
    scalars = _command_scalars(node)
    shared = _shared_lines(scalars)
    for scalar in scalars:
        mine = [c for c in job.commands if id(c) in new and c.line == line_of(scalar)]
        if not mine:
            continue
        lines_of = f"line {line_of(scalar)}"
        if owners[id(scalar)] > 1 or not first <= scalar.start_mark.line <= last:
            why.append(f"{lines_of} kept: it comes from an anchor other steps use")
            continue
        if shared & set(range(scalar.start_mark.line, scalar.end_mark.line + 1)):
            why.append(f"{lines_of} kept: it shares its line with another command")
            continue
        if not isinstance(scalar, yaml.ScalarNode) or scalar.style in ("|", ">"):
            why.append(f"{lines_of} kept: a block scalar (written by hand)")
            continue
        value = re.sub(r"\\[ \t]*\n|\\[ \t]+", " ", str(scalar.value))
        if any(value.count(c.text) != 1 for c in mine):
            why.append(f"{lines_of} kept: its pytest command is not found in it")
            continue
        for command in mine:
            value = value.replace(command.text, new[id(command)], 1)
        edits.append(_span(lines, scalar, _scalar(value)))
        changed += len(mine)
    return changed


def _shared_lines(scalars: list[yaml.ScalarNode]) -> set[int]:
    """Lines on which more than one command scalar stands (a flow list)."""
    seen: dict[int, int] = {}
    for scalar in scalars:
        for line in range(int(scalar.start_mark.line), int(scalar.end_mark.line) + 1):
            seen[line] = seen.get(line, 0) + 1
    return {line for line, n in seen.items() if n > 1}


def _command_scalars(node: yaml.Node) -> list[yaml.ScalarNode]:
    from testmatrix.ci.yamlsrc import command_nodes

    return command_nodes(mapping_value(node, "commands")) or command_nodes(
        mapping_value(node, "command")
    )


def _span(lines: list[str], node: yaml.Node, text: str) -> tuple[int, int, list[str]]:
    """The edit that writes `text` in place of a flow scalar's own characters: what
    stands before it and after it on its lines (a `- `, a comment) stays."""
    start, end = node.start_mark, node.end_mark
    first, last = int(start.line), int(end.line)
    head = lines[first][: int(start.column)]
    tail = lines[last][int(end.column) :] if last < len(lines) else ""
    return first, last + 1, [head + text + tail]
