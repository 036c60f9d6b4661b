"""vLLM's CI as typed records: a job per step and platform, each command with where it
stands and what it runs (vllm.ci and the pipelines readers make them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from testmatrix.ci.shell import (
    PytestArgs,
)
from testmatrix.core.model import FrozenMap, Location

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class FlagSite:
    """Where a path flag (--ignore, --deselect) of a command is written."""

    value: str  # as written, relative to the command's directory
    line: int
    comment: str | None  # the comment at the end of its line


@dataclass(frozen=True)
class Command:
    """One simple shell command of a job, in the order the job's script runs them."""

    text: str
    line: int  # where its YAML item starts
    kind: str  # "pytest", "cd", "export" or "other"
    cwd: str | None  # absolute directory on the agent; None: unknown (see lost)
    lost: str  # the command after which the directory became unknown
    env: FrozenMap  # the job's env, the exports before it, its own assignments
    call: PytestArgs | None = None  # a pytest run's argv, sorted
    argv: tuple[str, ...] = ()  # a pytest run's argv as written
    runner: str | None = None  # what runs pytest in a command that is not pytest
    parsed: bool = True  # False: the shell cannot split it (an unbalanced quote)
    comment: str | None = None  # beside the command, or the NOTES note on it
    above: tuple[str, ...] = ()  # the comment lines right above its YAML item
    below: tuple[str, ...] = ()  # a '# ^' note right below it, pointing up at it
    flags: tuple[FlagSite, ...] = ()
    why: str = ""  # why a command that names pytest is not read as a pytest run


@dataclass(frozen=True)
class Job:
    """One CI job: a step of a pipeline on one platform (and variant)."""

    location: Location
    label: str
    key: str | None
    group: str
    platform: str  # "cuda" (NVIDIA), "rocm" (AMD) or "cpu"
    variant: str | None  # mi300, h100; None: the platform's default agents
    device: str | None  # as written: h100, cpu-small, mi300_2
    gpus: int
    working_dir: str
    commands: tuple[Command, ...]
    parallelism: int | None = None
    nodes: int = 1  # num_nodes: each command runs on its own node
    soft_fail: bool = False
    optional: bool = False
    timeout_in_minutes: int | None = None
    pool_template: str | None = None  # agent pool with {gpus}: mi300_{gpus}
    gfx: tuple[str, ...] = ()  # gfx targets the pipeline names for this hardware
    mirror_of: Location | None = None  # the NVIDIA step an AMD job mirrors
    note: str = ""  # the pipeline header's NOTES on this step
    notes: tuple[str, ...] = ()  # what the reader noticed (keys not read, ...)

    @property
    def target(self) -> str:
        return f"{self.platform}:{self.variant}" if self.variant else self.platform

    @property
    def pytest(self) -> tuple[Command, ...]:
        return tuple(c for c in self.commands if c.kind == "pytest")


@dataclass(frozen=True)
class FileSummary:
    """What one input file held."""

    path: str
    kind: str  # "test_areas", "amd" or "main"
    steps: int
    jobs: int
    pytest: int
    flags: int  # --ignore and --deselect flags of its jobs


@dataclass
class Reading:
    jobs: list[Job] = field(default_factory=list)
    files: list[FileSummary] = field(default_factory=list)
