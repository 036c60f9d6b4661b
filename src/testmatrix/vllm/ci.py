"""vLLM's CI definitions as one list of typed CI jobs, every command kept.

The formats, as vLLM's pipeline generator (vllm-project/ci-infra) reads them:

- `test_areas/*.yaml`: each file is one group of steps. A step runs on NVIDIA agents
  (`device`: h100, b200, ...; none: the default GPU), or on CPU agents (`cpu-*`), with
  `num_devices` GPUs, in `working_dir` (default /vllm-workspace/tests). Its
  `mirror: amd:` block declares the AMD twin: the block's `commands` replace the step's
  (with the block's `working_dir`, else the step's), or the step's commands are
  inherited as they are, ignores included; `env` is merged over the step's; `device`,
  `label`, `num_devices`, `soft_fail`, `timeout_in_minutes` and `optional` override.
- `test-amd.yaml`: the AMD pipeline. Each step names an `agent_pool` such as `mi300_2`
  (variant mi300, 2 GPUs); its header's NOTES block explains steps and commands.
- `test-pipeline.yaml`, the main pipeline before test_areas: NVIDIA steps that name
  `gpu` (a100, h200; none: the default GPU) and `num_gpus`.

A job's commands run as one script: `cd` and `export` hold for the commands after
them. Pure: files in, records out; no skiplist knowledge.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testmatrix.ci.shell import (
    Shell,
    exports,
    parses,
    pytest_call,
    pytest_runner,
    read_pytest,
    split_commands,
)
from testmatrix.ci.yamlsrc import (
    Source,
    check_expansion,
    command_nodes,
    comment,
    compose,
    construct,
    key_line,
    line_of,
    mapping_value,
    walk_steps,
)
from testmatrix.core.model import FrozenMap, Location
from testmatrix.errors import TestmatrixError

if TYPE_CHECKING:
    import yaml
from testmatrix.vllm import citext
from testmatrix.vllm.jobs import Command, FileSummary, FlagSite, Job, Reading

# the working_dir of vLLM's step template when a step names none
DEFAULT_WORKING_DIR = "/vllm-workspace/tests"


# gfx targets of AMD Instinct generations, where the pipeline does not say them
AMD_GFX = {"mi250": "gfx90a", "mi300": "gfx942", "mi325": "gfx942", "mi355": "gfx950"}


# keys the import reads, and keys it knows leave the tests a job runs alone
READ_KEYS = {
    "label", "key", "device", "num_devices", "agent_pool", "num_gpus", "working_dir",
    "command", "commands", "env", "parallelism", "soft_fail", "optional",
    "timeout_in_minutes", "mirror", "mirror_hardwares", "num_nodes", "gpu",
}  # fmt: skip


KNOWN_KEYS = {
    "source_file_dependencies", "depends_on", "no_plugin", "autorun_on_main",
    "torch_nightly", "fast_check", "fast_check_only", "no_gpu", "grade", "retry",
    "agents", "plugins", "priority", "concurrency", "concurrency_group",
    "artifact_paths", "if", "branches", "skip", "allow_dependency_failure", "name",
    "notify", "cancel_on_build_failing",
}  # fmt: skip


def read(paths: list[Path], *, default_working_dir: str | None = None) -> Reading:
    """Every job of the given test_areas directories and pipeline files. Locations name
    files from the given path's directory: test_areas/kernels.yaml, test-amd.yaml."""
    reading = Reading()
    for path in paths:
        base = path.parent
        if path.is_dir():
            files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
            if not files:
                raise TestmatrixError(
                    f"{path}: no *.yaml files (a test_areas directory)"
                )
            for file in files:
                _read_file(file, reading, default_working_dir, base, area=True)
        elif path.exists():
            _read_file(path, reading, default_working_dir, base, area=None)
        else:
            raise TestmatrixError(f"{path}: no such file or directory")
    return reading


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def _read_file(
    path: Path,
    reading: Reading,
    default_working_dir: str | None,
    base: Path,
    area: bool | None,
) -> None:
    import yaml

    name = _shown(path, base)
    text, root = compose(path, name)
    check_expansion(root, name)
    shown = Path(name)  # what messages call the file
    if not isinstance(root, yaml.MappingNode):
        raise TestmatrixError(f"{name}:1: not a vLLM CI file: expected a mapping")
    steps = mapping_value(root, "steps")
    if not isinstance(steps, yaml.SequenceNode):
        where = line_of(steps) if steps is not None else 1
        raise TestmatrixError(f"{name}:{where}: not a vLLM CI file: no 'steps' list")
    nodes = list(walk_steps(steps, shown))
    kind = "test_areas" if area else _kind(root, nodes)
    if kind is None:
        raise TestmatrixError(
            f"{name}:{line_of(steps)}: not a vLLM CI file: no 'group' (test_areas), "
            "no step with an agent_pool (test-amd.yaml) or vLLM's step keys "
            "(source_file_dependencies, mirror_hardwares); to import another "
            "Buildkite pipeline, pass --from buildkite (its pytest commands as "
            "suites) or --platform (its --ignore flags alone)"
        )
    reader = _Reader(shown, name, text, kind, default_working_dir)
    before = len(reading.jobs)
    for node in nodes:
        reading.jobs += reader.jobs(node, _group(root, shown, reader, node))
    jobs = reading.jobs[before:]
    reading.files.append(
        FileSummary(
            name,
            kind,
            len(nodes),
            len(jobs),
            sum(len(j.pytest) for j in jobs),
            sum(len(c.flags) for j in jobs for c in j.commands),
        )
    )


def _kind(root: yaml.Node, nodes: list[yaml.MappingNode]) -> str | None:
    """Which vLLM format a lone file is, by its keys; None: not vLLM's."""
    if mapping_value(root, "group") is not None:
        return "test_areas"
    keys = {k.value for node in nodes for k, _ in node.value if hasattr(k, "value")}
    if "agent_pool" in keys:
        return "amd"
    if keys & {"source_file_dependencies", "mirror_hardwares", "num_gpus", "gpu"}:
        return "main"
    return None


def _group(root: yaml.Node, path: Path, reader: _Reader, node: yaml.Node) -> str:
    """The step's group: a test_areas file's `group`, else the area of the section
    comment above it ('mi300 · kernels'), else vLLM's group of the pipeline."""
    group = mapping_value(root, "group")
    if group is not None:
        return str(construct(group, path))
    fallbacks = {"amd": "Hardware-AMD Tests", "main": "NVIDIA"}
    fallback = fallbacks.get(reader.kind, path.stem)  # a test_areas file: its name
    return reader.section(line_of(node) - 1) or fallback


class _Reader:
    """Steps of one file into jobs."""

    def __init__(
        self, path: Path, name: str, text: str, kind: str, working_dir: str | None
    ):
        self.path = path
        self.name = name
        self.source = Source(text)
        self.kind = kind
        self.area = kind == "test_areas"
        header = citext.header_default(self.source) if not self.area else None
        self.default_dir = working_dir or header or DEFAULT_WORKING_DIR
        self.step_notes, self.command_notes = citext.notes(self.source)
        self.banners = citext.banners(self.source)

    def error(self, node: yaml.Node, message: str) -> TestmatrixError:
        return TestmatrixError(f"{self.name}:{line_of(node)}: {message}")

    def section(self, index: int) -> str | None:
        for i in range(index, -1, -1):
            found = re.search(r"·\s*([\w.+ -]+?)\s*-{3,}", self.source.lines[i])
            if found:
                return found.group(1)
        return None

    # -- values ------------------------------------------------------------------
    def values(self, node: yaml.MappingNode) -> dict[str, Any]:
        data = construct(node, self.path)
        if not isinstance(data, dict):
            raise self.error(node, "a step must be a mapping")
        return data

    def integer(self, node: yaml.Node, data: Mapping, key: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            where = mapping_value(node, key) or node
            raise self.error(
                where, f"'{key}' must be a whole number >= 1, got {value!r}"
            )
        return value

    def text(self, node: yaml.Node, data: Mapping, key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            where = mapping_value(node, key) or node
            raise self.error(where, f"'{key}' must be a string, got {value!r}")
        return str(value)

    def env(self, node: yaml.Node, data: Mapping) -> dict[str, str]:
        value = data.get("env")
        if value is None:
            return {}
        if not isinstance(value, dict):
            where = mapping_value(node, "env") or node
            raise self.error(where, f"'env' must be a mapping, got {value!r}")
        for name, item in value.items():
            if not isinstance(item, (str, int, float, bool)):
                where = mapping_value(node, "env") or node
                raise self.error(
                    where, f"'env' value of {name} must be a string, got {item!r}"
                )
        return {str(k): citext.env_text(v) for k, v in value.items()}

    # -- steps -------------------------------------------------------------------
    def jobs(self, node: yaml.MappingNode, group: str) -> list[Job]:
        data = self.values(node)
        label = str(
            data.get("label") or data.get("key") or f"step at line {line_of(node)}"
        )
        label = label.strip()
        notes = self.unread(data, label)
        if self.area:
            return self.area_jobs(node, data, label, group, notes)
        if self.kind == "main":
            return [self.main_job(node, data, label, group, notes)]
        return [self.amd_job(node, data, label, group, notes)]

    def unread(self, data: Mapping, label: str) -> list[str]:
        unknown = sorted(str(k) for k in data if k not in READ_KEYS | KNOWN_KEYS)
        if self.area:  # the older pipelines' keys, not test_areas'
            unknown = sorted({*unknown, *(k for k in ("num_gpus", "gpu") if k in data)})
        if not unknown:
            return []
        names = ", ".join(f"'{k}'" for k in unknown)
        read_instead = ""
        if self.area and ("num_gpus" in unknown or "gpu" in unknown):
            read_instead = " (test_areas steps say device and num_devices)"
        return [f"keys {names} are not read by the import{read_instead}"]

    def area_jobs(
        self,
        node: yaml.MappingNode,
        data: Mapping,
        label: str,
        group: str,
        notes: list[str],
    ) -> list[Job]:
        device = self.text(node, data, "device")
        gpus = self.integer(node, data, "num_devices") or 1
        if citext.runs_on_amd(device, data.get("depends_on")):
            # a step of AMD's own (device mi355_1, depends on image-build-amd): read
            # as test-amd.yaml's steps are, a device pool of an AMD variant
            return [self.amd_job(node, data, label, group, notes)]
        platform = "cpu" if device and device.lower().startswith("cpu") else "cuda"
        variant = (
            None if platform == "cpu" or device is None else citext.step_name(device)
        )
        commands_node = mapping_value(node, "commands") or mapping_value(
            node, "command"
        )
        working_dir = self.text(node, data, "working_dir") or self.default_dir
        env = self.env(node, data)
        jobs = [
            self.job(
                node,
                data,
                label=label,
                group=group,
                platform=platform,
                variant=variant,
                device=device,
                gpus=gpus,
                working_dir=working_dir,
                env=env,
                commands=commands_node,
                notes=notes,
            )
        ]
        mirror = data.get("mirror")
        if mirror is None:
            return jobs
        mirror_node = mapping_value(node, "mirror") or node
        if not isinstance(mirror, dict):
            raise self.error(mirror_node, f"'mirror' must be a mapping, got {mirror!r}")
        others = sorted(str(k) for k in mirror if k != "amd")
        if others:
            names = ", ".join(f"'{k}'" for k in others)
            jobs[0] = citext.with_note(jobs[0], f"mirror {names} is not imported")
        if "amd" in mirror:
            jobs.append(
                self.mirror_amd(
                    node, data, mirror_node, label, notes, env, working_dir, gpus
                )
            )
        return jobs

    def mirror_amd(
        self,
        node: yaml.MappingNode,
        data: Mapping,
        mirror_node: yaml.Node,
        label: str,
        notes: list[str],
        env: dict[str, str],
        working_dir: str,
        gpus: int,
    ) -> Job:
        """A test_areas step's `mirror: amd:` block as the AMD job vLLM's generator
        makes of it: the step's keys, overridden by the block's own."""
        amd = data["mirror"]["amd"] or {}
        commands_node = mapping_value(node, "commands") or mapping_value(
            node, "command"
        )
        amd_node = mapping_value(mirror_node, "amd") or mirror_node
        if not isinstance(amd, dict):
            raise self.error(amd_node, f"'mirror: amd' must be a mapping, got {amd!r}")
        merged = {**data, **{k: v for k, v in amd.items() if k != "env"}}
        amd_notes = list(notes)
        if amd.get("commands") is not None or amd.get("command") is not None:
            commands_node = mapping_value(amd_node, "commands") or mapping_value(
                amd_node, "command"
            )
            working_dir = self.text(amd_node, amd, "working_dir") or working_dir
        elif "working_dir" in amd:
            amd_notes.append(
                "mirror 'working_dir' without 'commands': vLLM's generator runs the "
                "inherited commands in the step's working_dir"
            )
        pool = self.text(amd_node, amd, "device")
        variant, pool_gpus, template = citext.pool(pool)
        gpus = pool_gpus or self.integer(amd_node, amd, "num_devices") or gpus
        return self.job(
            node,
            merged,
            label=str(amd.get("label") or label).strip(),
            group="Hardware-AMD Tests",
            platform="rocm",
            variant=variant,
            device=pool,
            gpus=gpus,
            working_dir=working_dir,
            env={**env, **self.env(amd_node, amd)},
            commands=commands_node,
            notes=amd_notes,
            location=Location(
                self.name, key_line(mirror_node, "amd") or line_of(amd_node)
            ),
            mirror_of=Location(self.name, line_of(node)),
            template=template,
            gfx=(AMD_GFX[variant],) if variant in AMD_GFX else (),
        )

    def main_job(
        self,
        node: yaml.MappingNode,
        data: Mapping,
        label: str,
        group: str,
        notes: list[str],
    ) -> Job:
        device = self.text(node, data, "device") or self.text(node, data, "gpu")
        platform = "cpu" if device and device.lower().startswith("cpu") else "cuda"
        gpus = self.integer(node, data, "num_devices") or self.integer(
            node, data, "num_gpus"
        )
        return self.job(
            node,
            data,
            label=label,
            group=group,
            platform=platform,
            variant=None
            if platform == "cpu" or device is None
            else citext.step_name(device),
            device=device,
            gpus=gpus or 1,
            working_dir=self.text(node, data, "working_dir") or self.default_dir,
            env=self.env(node, data),
            commands=mapping_value(node, "commands") or mapping_value(node, "command"),
            notes=notes,
        )

    def amd_job(
        self,
        node: yaml.MappingNode,
        data: Mapping,
        label: str,
        group: str,
        notes: list[str],
    ) -> Job:
        pool = self.text(node, data, "agent_pool") or self.text(node, data, "device")
        if pool is None:
            notes = [*notes, "no agent_pool: imported as the platform's default agents"]
        variant, pool_gpus, template = citext.pool(pool)
        gpus = self.integer(node, data, "num_gpus") or self.integer(
            node, data, "num_devices"
        )
        if pool_gpus and gpus and gpus != pool_gpus:
            notes = [
                *notes,
                f"num_gpus {gpus} but agent pool {pool} has {pool_gpus}: "
                f"{pool_gpus} GPUs (the agents')",
            ]
        gfx = tuple(
            f"gfx{m.group(1)}"
            for item in data.get("mirror_hardwares") or ()
            if (m := re.search(r"gfx([0-9a-f]+)", str(item)))
        )
        if not gfx and variant is not None:
            gfx = self.banners.get(variant, ()) or (
                (AMD_GFX[variant],) if variant in AMD_GFX else ()
            )
        return self.job(
            node,
            data,
            label=label,
            group=group,
            platform="rocm",
            variant=variant,
            device=pool,
            gpus=pool_gpus or gpus or 1,
            working_dir=self.text(node, data, "working_dir") or self.default_dir,
            env=self.env(node, data),
            commands=mapping_value(node, "commands") or mapping_value(node, "command"),
            notes=notes,
            template=template,
            gfx=gfx,
        )

    def job(
        self,
        node: yaml.MappingNode,
        data: Mapping,
        *,
        label: str,
        group: str,
        platform: str,
        variant: str | None,
        device: str | None,
        gpus: int,
        working_dir: str,
        env: dict[str, str],
        commands: yaml.Node | None,
        notes: list[str],
        location: Location | None = None,
        mirror_of: Location | None = None,
        template: str | None = None,
        gfx: tuple[str, ...] = (),
    ) -> Job:
        note, command_notes = self.note_for(label)
        key = self.text(node, data, "key")
        return Job(
            location=location or Location(self.name, line_of(node)),
            label=label,
            key=f"amd-{key}" if key and mirror_of else key,
            group=group,
            platform=platform,
            variant=variant,
            device=device,
            gpus=gpus,
            working_dir=working_dir,
            commands=self.commands(commands, working_dir, env, command_notes),
            nodes=self.integer(node, data, "num_nodes") or 1,
            parallelism=self.integer(node, data, "parallelism"),
            soft_fail=bool(data.get("soft_fail")),
            optional=bool(data.get("optional")),
            timeout_in_minutes=self.integer(node, data, "timeout_in_minutes"),
            pool_template=template,
            gfx=gfx,
            mirror_of=mirror_of,
            note=note,
            notes=tuple(notes),
        )

    def note_for(self, label: str) -> tuple[str, dict[str, str]]:
        key = citext.label_key(label)
        return self.step_notes.get(key, ""), self.command_notes.get(key, {})

    # -- commands ----------------------------------------------------------------
    def commands(
        self,
        node: yaml.Node | None,
        working_dir: str,
        env: dict[str, str],
        notes: dict[str, str],
    ) -> tuple[Command, ...]:
        import yaml

        if isinstance(node, yaml.MappingNode):
            raise self.error(node, "'commands' must be a string or a list of strings")
        out: list[Command] = []
        shell = Shell(working_dir.lstrip("/") or ".", None)  # relative to "/"
        running = dict(env)
        for scalar in command_nodes(node):
            start = int(scalar.start_mark.line)
            end = self.source.end_of(scalar)
            above = tuple(self.source.block_above(start))
            below = tuple(self.source.block_below(end))
            beside = self.source.trailing(start, end)
            for text in split_commands(str(scalar.value)):
                cwd = None if shell.cwd is None else "/" + shell.cwd.removeprefix(".")
                command = Command(
                    text=text,
                    line=start + 1,
                    kind="other",
                    cwd=posixpath.normpath(cwd) if cwd else None,
                    lost=shell.lost,
                    env=FrozenMap(running),
                    above=above,
                    below=below,
                    comment=beside or notes.get(citext.command_key(text)),
                )
                if shell.run(text):
                    out.append(replace(command, kind="cd"))
                    continue
                exported = exports(text)
                if exported is not None:
                    running.update(exported)
                    out.append(replace(command, kind="export", env=FrozenMap(running)))
                    continue
                call = pytest_call(text)
                if call is None:
                    runner = pytest_runner(text)
                    out.append(replace(command, runner=runner, parsed=parses(text)))
                    continue
                args = read_pytest(call.argv)
                sites = tuple(
                    self.site(value, start, end)
                    for value in (*args.ignores, *args.deselects)
                )
                command = replace(
                    command,
                    kind="pytest",
                    env=FrozenMap({**running, **dict(call.env)}),
                    call=args,
                    argv=call.argv,
                    flags=sites,
                )
                out.append(command)
        return tuple(out)

    def site(self, value: str, start: int, end: int) -> FlagSite:
        found = self.source.find(value, start, end) if value else None
        index = start if found is None else found
        line = self.source.lines[index] if index < len(self.source.lines) else ""
        return FlagSite(value, index + 1, comment(line))
