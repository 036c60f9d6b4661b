"""An import plan's records: each command as an instance with its decision, and the
suites, entries, variants and platforms they become."""

from __future__ import annotations

from dataclasses import dataclass, field

from testmatrix.ci.shell import PytestArgs
from testmatrix.core.model import Location, base_of
from testmatrix.vllm.jobs import Command, FlagSite, Job

PLATFORMS = {
    "cuda": ("NVIDIA GPUs: vLLM's main pipeline (test_areas)", "cuda"),
    "rocm": ("AMD GPUs: vLLM's AMD pipeline and the test_areas mirrors", "rocm"),
    "cpu": ("CPU-only agents (test_areas device cpu-*)", "none"),
}


HARDWARE_WORD = r"(?:\d+\s*x?\s*)?(?:MI\d{3}X?|[A-Z]{1,2}\d{2,3}|L4)s?"


@dataclass
class Decision:
    """What became of one --ignore flag of one command."""

    site: FlagSite
    target: str  # checkout-relative
    kind: str  # "exclude", "ignore" (a platform or variant entry) or "dropped"
    rule: str  # which rule decided it, in words
    runner: Instance | None = None  # a command that runs the path
    twin: Instance | None = None  # a twin that ignores it too
    comment: str | None = None
    issue: str | None = None

    @property
    def text(self) -> str:
        return f"--ignore={self.site.value}"


@dataclass
class Instance:
    """One pytest command of one job."""

    job: Job
    command: Command
    call: PytestArgs = field(default_factory=PytestArgs)  # its argv, sorted
    paths: tuple[str, ...] = ()  # checkout-relative (node ids: their file)
    ignores: tuple[str, ...] = ()  # live ignore targets, checkout-relative
    deselects: tuple[str, ...] = ()  # checkout-relative node ids
    args: tuple[str, ...] = ()
    sites: dict[str, FlagSite] = field(default_factory=dict)  # ignore target: flag
    not_carried: list[tuple[str, str]] = field(default_factory=list)
    unmapped: str | None = None  # why no session can run it
    decisions: list[Decision] = field(default_factory=list)
    suite: str | None = None
    run: int | None = None  # which run of its suite (1-based), in a suite of several

    @property
    def platform(self) -> str:
        return self.job.platform

    @property
    def variant(self) -> str | None:
        return self.job.variant

    @property
    def target(self) -> str:
        return self.job.target

    @property
    def location(self) -> Location:
        return Location(self.job.location.file, self.command.line)

    @property
    def markexpr(self) -> str | None:
        return self.call.markexpr

    @property
    def keyword(self) -> str | None:
        return self.call.keyword

    @property
    def env(self) -> dict[str, str]:
        return dict(self.command.env)

    @property
    def excludes(self) -> frozenset[str]:
        return frozenset(d.target for d in self.decisions if d.kind == "exclude")

    @property
    def entries(self) -> frozenset[tuple[str, str]]:
        """What the platform's entries must give this command's session."""
        found = {("ignore", d.target) for d in self.decisions if d.kind == "ignore"}
        return frozenset(found | {("deselect", n) for n in self.deselects})

    def runs(self, path: str) -> bool:
        """Whether the command selects any file at or under `path`."""
        for p in self.paths:
            if under(path, p):
                return not any(under(path, i) for i in self.ignores)
            if under(p, path) and not any(under(p, i) for i in self.ignores):
                return True
        return False

    def ignores_path(self, path: str) -> bool:
        return any(under(path, i) for i in self.ignores)


@dataclass
class Override:
    """What a run does differently on one target (`on.rocm`, `on."rocm:mi300"`)."""

    markexpr: str | None = None
    keyword: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] | None = None
    reason: str = ""

    def key(self) -> tuple:
        return (self.markexpr, self.keyword, tuple(sorted(self.env.items())), self.args)


@dataclass
class RunPlan:
    """One pytest run of a suite: the commands of its jobs (one per target) that
    run it, the selection they share and what differs per target."""

    instances: list[Instance]
    markexpr: str | None = None
    keyword: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    overrides: dict[str, Override] = field(default_factory=dict)  # by target
    exclude_reasons: dict[str, str] = field(default_factory=dict)  # target: reason

    @property
    def first(self) -> Instance:
        return self.instances[0]

    @property
    def paths(self) -> tuple[str, ...]:
        return self.first.paths

    @property
    def base(self) -> str:
        return base_of(self.paths)


@dataclass
class SuitePlan:
    """A suite: one CI step, on every target that runs it (its twins included)."""

    name: str
    instances: list[Instance]
    group: str
    description: str = ""
    places: list[str] = field(default_factory=list)
    runs: list[RunPlan] = field(default_factory=list)
    overrides: dict[str, Override] = field(default_factory=dict)  # every run's

    @property
    def first(self) -> Instance:
        return self.instances[0]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for run in self.runs for p in run.paths))

    @property
    def exclude_reasons(self) -> dict[str, str]:
        return self.runs[0].exclude_reasons if len(self.runs) == 1 else {}

    @property
    def base(self) -> str:
        return base_of(self.paths)

    @property
    def gpus(self) -> int:
        return self.first.job.gpus

    @property
    def parallelism(self) -> int | None:
        """The jobs' parallelism, where a command of the suite runs one shard."""
        found = [i.job.parallelism for i in self.instances if i.call.shard]
        return max((p for p in found if p), default=None)

    @property
    def timeout_in_minutes(self) -> int | None:
        found = [i.job.timeout_in_minutes for i in self.instances]
        return max((t for t in found if t), default=None)

    @property
    def soft_fail(self) -> bool:
        return all(i.job.soft_fail for i in self.instances)


@dataclass
class EntryPlan:
    """An [[ignore]] or [[deselect]] entry of a platform."""

    kind: str  # "ignore" or "deselect"
    suite: str
    paths: list[str]  # ignore: relative to the suite's base; deselect: node ids
    variants: tuple[str, ...]
    reason: str
    issue: str | None
    sources: list[Location]


@dataclass
class VariantPlan:
    name: str
    description: str
    match: list[str]
    agent_pool: str | None
    shares: str | None = None  # the variant that already claims this hardware's match


@dataclass
class PlatformPlan:
    name: str
    description: str
    hardware: str
    variants: dict[str, VariantPlan] = field(default_factory=dict)
    entries: list[EntryPlan] = field(default_factory=list)


@dataclass
class ImportPlan:
    checkout_root: str
    instances: list[Instance]
    suites: dict[str, SuitePlan]
    platforms: dict[str, PlatformPlan]
    notes: list[str]
    jobs: list[Job]


def under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")
