"""A plain Buildkite pipeline's command steps as CI jobs.

Steps and groups, `command`/`commands`, `env` (pipeline's, then the step's), `agents`
(the pipeline's, then the step's: their queue and tags tell the platform, see
`runners`), `parallelism`, `soft_fail`, `timeout_in_minutes`, and `matrix` (each
combination a job, `{{matrix}}`/`{{matrix.NAME}}` filled in, adjustments applied).
Plugins that run the commands elsewhere: docker (`workdir`, default /workdir, where it
mounts the checkout; `environment`; a `command` list), and kubernetes (the pod's first
container: `command` + `args`, `workingDir`, `env`). Trigger steps and steps without a
command are listed as not read.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testmatrix.ci.yamlsrc import (
    Source,
    command_nodes,
    compose,
    construct,
    flatten,
    line_of,
)
from testmatrix.ci.yamlsrc import mapping_value as value_of
from testmatrix.core.model import Location
from testmatrix.errors import TestmatrixError
from testmatrix.pipelines.common import (
    BUILDKITE_MATRIX,
    Reading,
    Unread,
    check_size,
    picks_runner,
    printable,
    product,
    scalar_text,
    substitute,
    with_values,
)
from testmatrix.pipelines.runners import Place, Runners
from testmatrix.pipelines.script import Builder, Item
from testmatrix.vllm.jobs import FileSummary, Job

if TYPE_CHECKING:
    import yaml

CHECKOUT = "/workdir"  # where the docker plugin mounts the checkout; bare agents too
READ = {
    "label", "name", "key", "command", "commands", "agents", "env", "plugins",
    "parallelism", "matrix", "soft_fail", "timeout_in_minutes", "skip", "if",
}  # fmt: skip
KNOWN = {
    "identifier", "id", "depends_on", "allow_dependency_failure", "artifact_paths",
    "branches", "cancel_on_build_failing", "concurrency", "concurrency_group",
    "concurrency_method", "notify", "priority", "retry", "signature", "type",
}  # fmt: skip


def read(
    path: Path,
    shown: str,
    reading: Reading,
    runners: Runners,
    wrappers: Sequence[str],
    checkout_root: str | None = None,
) -> None:
    """Every command step of one pipeline file into `reading`; `checkout_root`:
    where the checkout is on the agents (default /workdir)."""
    import yaml

    check_size(path, shown)
    text, root = compose(path, shown)
    steps = value_of(root, "steps") if isinstance(root, yaml.MappingNode) else root
    if not isinstance(steps, yaml.SequenceNode):
        raise TestmatrixError(f"{shown}:1: not a Buildkite pipeline: no 'steps' list")
    top = construct(root, Path(shown)) if isinstance(root, yaml.MappingNode) else {}
    reader = _Reader(shown, Source(text), runners, wrappers, reading)
    try:
        reader.env = _env(top.get("env"), shown, line_of(root))
        reader.agents = _agents(top.get("agents"))
    except ValueError as exc:
        raise TestmatrixError(f"{shown}:1: pipeline 'env' or 'agents': {exc}") from None
    reader.checkout = checkout_root or CHECKOUT
    before = len(reading.jobs)
    count = reader.walk(steps, Path(shown).stem)
    jobs = reading.jobs[before:]
    reading.files.append(
        FileSummary(
            shown,
            "buildkite",
            count,
            len(jobs),
            sum(len(j.pytest) for j in jobs),
            sum(len(c.flags) for j in jobs for c in j.commands),
        )
    )


def _env(value: Any, shown: str, line: int) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TestmatrixError(f"{shown}:{line}: 'env' must be a mapping")
    return {str(k): scalar_text(v) for k, v in value.items() if v is not None}


def _agents(value: Any) -> dict[str, str]:
    """Agent tags as a mapping: Buildkite takes a mapping or a list of 'k=v'."""
    if isinstance(value, dict):
        return {str(k): scalar_text(v) for k, v in value.items()}
    if isinstance(value, list):
        out = {}
        for item in value:
            key, _, tag = str(item).partition("=")
            out[key] = tag
        return out
    return {}


class _Reader:
    def __init__(
        self,
        shown: str,
        source: Source,
        runners: Runners,
        wrappers: Sequence[str],
        reading: Reading,
    ):
        self.shown = shown
        self.path = Path(shown)
        self.source = source
        self.runners = runners
        self.wrappers = wrappers
        self.reading = reading
        self.env: dict[str, str] = {}
        self.agents: dict[str, str] = {}
        self.checkout = CHECKOUT

    def walk(self, steps: yaml.Node, group: str) -> int:
        """Read every step of a list; the number of steps that run something."""
        import yaml

        count = 0
        for node in steps.value if isinstance(steps, yaml.SequenceNode) else ():
            if not isinstance(node, yaml.MappingNode):
                continue  # "wait": runs nothing
            flatten(node, self.path)
            data = construct(node, self.path)
            nested = value_of(node, "steps")
            if "group" in data and isinstance(nested, yaml.SequenceNode):
                count += self.walk(nested, str(data.get("group") or group))
                continue
            runs = {"command", "commands", "plugins", "trigger"}
            if {"wait", "block", "input"} & set(data) and not runs & set(data):
                continue  # waits for a person or for other steps
            count += 1
            self.step(node, data, group)
        return count

    def unread(self, node: yaml.Node, label: str, reason: str) -> None:
        where = Location(self.shown, line_of(node))
        self.reading.unread.append(Unread(where, label, reason))

    def step(self, node: yaml.MappingNode, data: dict, group: str) -> None:
        named = ("label", "name", "key", "trigger")
        label = next((str(data[k]).strip() for k in named if data.get(k)), "")
        label = printable(label) or f"step at line {line_of(node)}"
        if "trigger" in data:
            return self.unread(
                node,
                label,
                f"a trigger step starts the pipeline '{data['trigger']}'; import "
                "that pipeline's file",
            )
        if data.get("skip"):
            return self.unread(node, label, f"the step is skipped: {data['skip']}")
        try:
            combos = _matrix(data.get("matrix"))
        except ValueError as exc:
            return self.unread(node, label, f"its matrix cannot be expanded: {exc}")
        for values, adjust in combos:
            if adjust.get("skip"):
                reason = adjust["skip"] if isinstance(adjust["skip"], str) else "skip"
                self.unread(
                    node,
                    with_values(" ".join(_fill(label, {}).split()), values, ()),
                    f"a matrix adjustment skips this combination: {reason}",
                )
                continue
            try:
                self.job(node, data, label, group, values, adjust)
            except ValueError as exc:
                self.unread(node, label, str(exc))
        return None

    def job(
        self,
        node: yaml.MappingNode,
        raw: dict,
        label: str,
        group: str,
        values: dict[str, Any],
        adjust: dict,
    ) -> None:
        def fill(text: str) -> str:
            return _fill(text, values)

        try:
            data = substitute(raw, lambda text: printable(fill(text)))
        except ValueError as exc:
            return self.unread(node, label, str(exc))
        notes = _unknown_keys(data)
        if data.get("if"):
            notes.append(f"runs only if: {data['if']}")
        agents = {**self.agents, **_agents(data.get("agents"))}
        labels = [*agents.values(), *(f"{k}={v}" for k, v in agents.items())]
        # the runner a value picks is the job's target: the label names the rest
        kept = {
            k: v for k, v in values.items() if not picks_runner(scalar_text(v), labels)
        }
        shown_label = " ".join(_fill(label, kept).split()) or label
        if values and fill(label) == label:
            shown_label = with_values(label, values, labels)
        place = self.runners.place(labels or ["default"])
        if isinstance(place, str):
            return self.unread(node, shown_label, place)
        env = {**self.env, **_env(data.get("env"), self.shown, line_of(node))}
        plugin = _plugins(data.get("plugins"), notes, self.checkout)
        env.update(plugin.env)
        items = self.items(node, fill)
        if not items and plugin.argv:
            where = value_of(node, "plugins") or node
            start = line_of(where) - 1
            items = [Item(shlex.join(plugin.argv), start, start)]
        if not items:
            return self.unread(node, shown_label, "no command to read")
        builder = Builder(self.source, self.wrappers)
        commands = builder.script(items, plugin.workdir, env)
        job = _job(self.shown, node, data, shown_label, group, place, plugin.workdir)
        self.reading.jobs.append(
            replace(
                job,
                commands=tuple(commands),
                soft_fail=bool(data.get("soft_fail") or adjust.get("soft_fail")),
                notes=tuple(notes),
            )
        )
        return None

    def items(self, node: yaml.MappingNode, fill: Any) -> list[Item]:
        found = value_of(node, "commands") or value_of(node, "command")
        out = []
        for scalar in command_nodes(found):
            start = int(scalar.start_mark.line)
            end = self.source.end_of(scalar)
            above = tuple(self.source.block_above(start))
            text = printable(fill(str(scalar.value)))
            out.append(Item(text, start, end, above))
        return out


def _fill(text: str, values: dict[str, Any]) -> str:
    """`{{matrix}}` and `{{matrix.NAME}}` filled in; a value not given: empty."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or "matrix"
        return scalar_text(values.get(name, ""))

    return BUILDKITE_MATRIX.sub(one, text) if "{{" in text else text


def _job(
    shown: str,
    node: yaml.Node,
    data: dict,
    label: str,
    group: str,
    place: Place,
    workdir: str,
) -> Job:
    return Job(
        location=Location(shown, line_of(node)),
        label=label,
        key=str(data["key"]) if data.get("key") else None,
        group=group,
        platform=place.platform,
        variant=place.variant,
        device=place.told_by,
        gpus=place.gpus or 1,
        working_dir=workdir,
        commands=(),
        parallelism=_whole(data.get("parallelism")),
        timeout_in_minutes=_whole(data.get("timeout_in_minutes")),
        gfx=place.gfx,
    )


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _unknown_keys(data: dict) -> list[str]:
    unknown = sorted(str(k) for k in data if k not in READ | KNOWN)
    if not unknown:
        return []
    return [f"keys {', '.join(repr(k) for k in unknown)} are not read by the import"]


def _matrix(spec: Any) -> list[tuple[dict[str, Any], dict]]:
    """(values, adjustment) of each combination; [({}, {})] without a matrix."""
    if spec is None:
        return [({}, {})]
    adjustments: list = []
    if isinstance(spec, list):
        dims: dict[str, list] = {"": spec}
    elif isinstance(spec, dict):
        setup = spec.get("setup")
        adjustments = spec.get("adjustments") or []
        if isinstance(setup, list):
            dims = {"": setup}
        elif isinstance(setup, dict):
            dims = {str(k): v if isinstance(v, list) else [v] for k, v in setup.items()}
        else:
            raise ValueError("'setup' must be a list or a mapping of lists")
    else:
        raise ValueError("'matrix' must be a list or a mapping")
    combos: list[tuple[dict[str, Any], dict]] = [(c, {}) for c in product(dims)]
    for adjust in adjustments if isinstance(adjustments, list) else ():
        if not isinstance(adjust, dict) or "with" not in adjust:
            raise ValueError("an adjustment needs 'with'")
        given = adjust["with"]
        wanted = given if isinstance(given, dict) else {"": given}
        wanted = {str(k): v for k, v in wanted.items()}
        hit = [c for c in combos if c[0] == wanted]
        if hit:
            for combo in hit:
                combo[1].update({k: v for k, v in adjust.items() if k != "with"})
        elif not adjust.get("skip"):
            combos.append((wanted, {k: v for k, v in adjust.items() if k != "with"}))
    return [({k or "matrix": v for k, v in c.items()}, a) for c, a in combos]


class _Plugin:
    def __init__(self, checkout: str) -> None:
        self.checkout = checkout
        self.workdir = checkout
        self.env: dict[str, str] = {}
        self.argv: list[str] = []


def _plugins(value: Any, notes: list[str], checkout: str) -> _Plugin:
    """What the docker and kubernetes plugins change: where and how commands run."""
    out = _Plugin(checkout)
    entries = value if isinstance(value, list) else [value] if value else []
    for entry in entries:
        name, config = (
            (entry, {})
            if isinstance(entry, str)
            else next(iter(entry.items()), ("", {}))
        )
        base = str(name).split("#")[0].rsplit("/", 1)[-1]
        base = base.removesuffix("-buildkite-plugin")
        config = config if isinstance(config, dict) else {}
        if base == "docker":
            _docker(config, out, notes)
        elif base == "kubernetes":
            _kubernetes(config, out, notes)
        else:
            notes.append(f"plugin '{name}' is not read")
    return out


def _docker(config: dict, out: _Plugin, notes: list[str]) -> None:
    out.workdir = str(config.get("workdir") or out.checkout)
    for item in config.get("environment") or []:
        key, has, val = str(item).partition("=")
        if has:
            out.env[key] = val
    command = config.get("command")
    if isinstance(command, list):
        out.argv = [str(c) for c in command]
    if config.get("mount-checkout") is False:
        notes.append(
            "the docker plugin does not mount the checkout (mount-checkout: false): "
            "the commands run on the image's copy of the files"
        )


def _kubernetes(config: dict, out: _Plugin, notes: list[str]) -> None:
    pod = config.get("podSpec") or {}
    containers = pod.get("containers") if isinstance(pod, dict) else None
    if not isinstance(containers, list) or not containers:
        notes.append("kubernetes plugin without podSpec.containers: not read")
        return
    first = containers[0] if isinstance(containers[0], dict) else {}
    if len(containers) > 1:
        notes.append("kubernetes pod with several containers: the first one is read")
    out.workdir = str(first.get("workingDir") or "/workspace")
    for item in first.get("env") or []:
        if isinstance(item, dict) and "name" in item and "value" in item:
            out.env[str(item["name"])] = scalar_text(item["value"])
    argv = [*(first.get("command") or []), *(first.get("args") or [])]
    out.argv = [str(a).strip("'") if i >= 2 else str(a) for i, a in enumerate(argv)]
