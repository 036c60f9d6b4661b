"""The typed, validated, frozen form of `skiplists/`: what every adapter reads."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import field, fields
from pathlib import Path
from typing import Any

# names of suites, platforms and variants; the hardware a platform can need: shared
# with the session listing, which must accept no name the model refuses
from testmatrix.core.names import HARDWARE as HARDWARE
from testmatrix.core.names import NAME_PATTERN as NAME_PATTERN
from testmatrix.core.names import target_name
from testmatrix.core.record import record

Scalar = str | int | float | bool


class FrozenMap(Mapping):
    """A read-only, hashable mapping: settings are shared by every session and never
    mutated, and frozen records holding them stay hashable."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping | None = None):
        self._data = dict(data or {})

    def __getitem__(self, key: object) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[object]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._data == dict(other.items())

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def frozen_map(data: Mapping | None = None) -> FrozenMap:
    return FrozenMap(data)


@record
class Location:
    """Where a declaration stands: a skiplist file (workspace-relative) and line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@record
class BuildkiteSettings:
    """Buildkite step settings of one layer; None: not set here (a lower layer's holds).

    Layers merge from general to specific: workspace < platform < variant < suite.
    Strings in `queue`, `agents` and `concurrency_group` may say `{gpus}`: the
    suite's GPU count. config.buildkite_keys says what each one means.
    """

    queue: str | None = None
    agents: Mapping[str, Scalar] | None = None
    timeout_in_minutes: int | None = None
    parallelism: int | None = None
    soft_fail: bool | tuple[int, ...] | None = None  # True, or exit statuses
    env: Mapping[str, Scalar] | None = None
    retry: int | None = None
    # {exit_status, signal, signal_reason, limit}, after the lost-agent rules
    retry_rules: tuple[Mapping[str, Any], ...] | None = None
    command_style: str | None = None  # "nox" or "pytest"
    command_template: str | None = None  # says {command}
    depends_on: tuple[str, ...] | None = None
    plugins: tuple[str | Mapping[str, Any], ...] | None = None  # frozen, as written
    if_changed: bool | tuple[str, ...] | None = None  # True: derived from the suite
    source_file_dependencies: tuple[str, ...] | None = None
    concurrency: int | None = None
    concurrency_group: str | None = None
    priority: int | None = None
    test_collector: str | None = None  # the plugin reference
    test_collector_token_env: str | None = None

    MERGED = ("env", "agents")  # tables: the upper layer's keys over the lower's
    JOINED = ("source_file_dependencies",)  # lists: the lower layer's, then more

    def over(self, lower: BuildkiteSettings) -> BuildkiteSettings:
        """These settings laid over `lower`: set values win, env and agents merge,
        source_file_dependencies add up."""
        values: dict[str, Any] = {}  # each field's own type, read by name
        for name in (f.name for f in fields(self)):
            mine, theirs = getattr(self, name), getattr(lower, name)
            if mine is not None and theirs is not None and name in self.MERGED:
                values[name] = frozen_map({**theirs, **mine})
            elif mine is not None and theirs is not None and name in self.JOINED:
                values[name] = (*theirs, *(v for v in mine if v not in theirs))
            else:
                values[name] = theirs if mine is None else mine
        return BuildkiteSettings(**values)


@record
class GithubSettings:
    """GitHub Actions job settings of one layer (testmatrix export --format github);
    None: not set here. Layers merge as Buildkite's do; `env` tables merge, and
    strings in `runs_on` and `concurrency_group` may say `{gpus}`."""

    runs_on: tuple[str, ...] | None = None  # runner labels
    timeout_minutes: int | None = None
    env: Mapping[str, Scalar] | None = None
    parallelism: int | None = None  # shards: a matrix dimension
    concurrency_group: str | None = None
    python: str | None = None  # set: actions/setup-python and pip install first

    def over(self, lower: GithubSettings) -> GithubSettings:
        """These settings laid over `lower`: set values win, env tables merge."""
        values: dict[str, Any] = {}
        for name in (f.name for f in fields(self)):
            mine, theirs = getattr(self, name), getattr(lower, name)
            if name == "env" and mine is not None and theirs is not None:
                values[name] = frozen_map({**theirs, **mine})
            else:
                values[name] = theirs if mine is None else mine
        return GithubSettings(**values)


@record
class Exclude:
    """A path a suite leaves out on every platform: partitioning, never a skip
    (vLLM splits one directory over several CI jobs this way)."""

    path: str  # as written, relative to the suite's base directory
    target: str  # workspace-relative
    reason: str
    location: Location


@record
class Override:
    """What a suite, or one of its runs, does differently on one platform or variant
    (`[suites.NAME.on."rocm:mi300"]`): its -m, -k and arguments replace the suite's,
    its environment is merged over the suite's."""

    target: str  # "rocm" or "rocm:mi300"
    reason: str
    location: Location
    env: Mapping[str, str] = field(default_factory=frozen_map)
    markexpr: str | None = None
    keyword: str | None = None
    args: tuple[str, ...] | None = None


@record
class Suite:
    """A named selection of tests: paths minus excludes, narrowed by -m and -k, run
    with its environment and arguments on the platforms (or variants) it names.

    A suite may be a CI job of several pytest runs (`runs`: each a Suite of the same
    name with `run` set, its own process and selection, run in order); the suite's
    own paths are then every run's. Paths may be node ids (`file.py::test`) and shell
    globs (`test_fused_*.py`), expanded against the checkout when a session runs."""

    name: str
    paths: tuple[str, ...]  # workspace-relative, posix, no trailing slash
    description: str
    location: Location
    excludes: tuple[Exclude, ...] = ()
    markexpr: str | None = None  # pytest -m
    keyword: str | None = None  # pytest -k
    env: Mapping[str, str] = field(default_factory=frozen_map)
    args: tuple[str, ...] = ()  # extra pytest arguments
    gpus: int = 1  # GPUs a session leases at once on a GPU platform
    runs_on: tuple[str, ...] | None = None  # "rocm", "rocm:mi355"; None: everywhere
    runs_on_reason: str = ""
    reruns: int | None = None  # rerun every failure this often (a flaky suite)
    reruns_delay: float = 0.0
    durations: str | None = None  # recorded durations that balance shards
    buildkite: BuildkiteSettings = field(default_factory=BuildkiteSettings)
    github: GithubSettings = field(default_factory=GithubSettings)
    runs: tuple[Suite, ...] = ()  # a CI job's pytest runs, in order
    run: int | None = None  # which run (1-based) this is, for a run of a suite
    overrides: tuple[Override, ...] = ()  # per platform, then per variant
    group: str | None = None  # the [groups.NAME] it takes its defaults from

    @property
    def parts(self) -> tuple[Suite, ...]:
        """What runs, in order: the suite's runs, or the suite as its one run."""
        return self.runs or (self,)

    @property
    def path(self) -> str:
        """The first path: where the suite's tests live, for one-path suites."""
        return self.paths[0]

    @property
    def base(self) -> str:
        """The directory that ignore and exclude paths are relative to: the deepest one
        holding every path."""
        return base_of(self.paths)

    def holds(self, path: str) -> bool:
        """Whether a workspace-relative path (a file, or a node id's file) lies under
        one of the suite's paths (excludes aside); a node id holds its file, a glob
        the files it matches."""
        return any(path_holds(p, path) for p in self.paths)

    def exclude_for(self, path: str) -> Exclude | None:
        """The exclude that leaves this path out of the suite, if any."""
        for exclude in self.excludes:
            if path == exclude.target or path.startswith(exclude.target + "/"):
                return exclude
        return None


def _globbing(text: str) -> bool:
    """Whether text holds one of a shell glob's special characters (a regex for
    them cost every run 0.2 M instructions to compile)."""
    return "*" in text or "?" in text or "[" in text


def is_glob(path: str) -> bool:
    """Whether a suite path is a shell glob (node ids are not globs)."""
    return _globbing(path.split("::", 1)[0])


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A shell glob as a regex over posix paths: `*` and `?` stop at `/`, as in the
    shell (fnmatch's `*` crosses directories)."""
    out = []
    for part in re.split(r"(\*|\?|\[[^]]*\])", pattern):
        if part == "*":
            out.append("[^/]*")
        elif part == "?":
            out.append("[^/]")
        elif part.startswith("[") and part.endswith("]") and len(part) > 2:
            body = part[1:-1]
            out.append("[^" + body[1:] + "]" if body[:1] == "!" else "[" + body + "]")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


def path_holds(suite_path: str, path: str) -> bool:
    """Whether one suite path holds a workspace-relative file or directory path."""
    own = suite_path.split("::", 1)[0]
    if is_glob(own):
        return bool(glob_regex(own).fullmatch(path.split("::", 1)[0]))
    return path == own or path.startswith(own + "/")


def _concrete(path: str) -> str:
    """A suite path as a path: a node id's file; a glob's directory, then '*'."""
    file = path.split("::", 1)[0]
    if not is_glob(file):
        return file
    parts = file.split("/")
    first = next(i for i, p in enumerate(parts) if _globbing(p))
    return "/".join([*parts[:first], "*"])


def base_of(paths: tuple[str, ...]) -> str:
    """The deepest directory holding every path; a lone file's directory."""
    parts = [_concrete(p).split("/") for p in paths]
    common: list[str] = []
    for names in zip(*parts, strict=False):  # as deep as the shortest path
        if len(set(names)) != 1 or names[0] == "*":
            break
        common.append(names[0])
    if len(paths) == 1 and common and "." in common[-1] and common[-1].endswith(".py"):
        common.pop()  # a one-file suite: its directory
    return "/".join(common)


@record
class ModelList:
    """A named list of model ids, defined once and referenced by entries."""

    name: str
    models: tuple[str, ...]
    description: str
    location: Location


def cite(reason: str, issue: str | None, location: str) -> str:
    """An entry's reason as users see it, from an entry or from its record in a
    report: reason, issue link and declaration."""
    link = f" ({issue})" if issue else " (no issue link)"
    return f"{reason}{link} [{location}]"


@record
class Signature:
    """The error an entry's tests are expected to fail with: an exception type (by
    class name, or dotted name) and a pattern searched for in its message."""

    error: str
    match: str | None = None

    def __str__(self) -> str:
        return f"{self.error}: {self.match}" if self.match else self.error


@record
class Entry:
    """What every skiplist entry carries: why, where it is tracked, where it stands,
    and the variants it holds on (empty: the whole platform)."""

    platform: str
    reason: str
    issue: str | None
    expires: _dt.date | None
    location: Location
    variants: tuple[str, ...] = field(default=(), kw_only=True)
    # set: the tests run and must fail with this error (an expected failure)
    fails: Signature | None = field(default=None, kw_only=True)

    kind = "entry"

    @property
    def subject(self) -> str:
        """What the entry names, for messages: a path, a marker, a test id."""
        raise NotImplementedError

    def holds_on(self, variant: str | None) -> bool:
        """Whether the entry applies to a session of this variant (None: the
        platform-wide session, which applies platform-wide entries only)."""
        return not self.variants or variant in self.variants

    def cite(self) -> str:
        """The reason as users see it: reason, issue link and declaration."""
        return cite(self.reason, self.issue, str(self.location))


@record
class IgnoreEntry(Entry):
    """A file or directory of one suite that is never collected on the platform."""

    suite: str
    path: str  # relative to the suite's base directory, as written
    target: str  # workspace-relative path that pytest --ignore receives

    kind = "ignore"

    @property
    def subject(self) -> str:
        return f"'{self.target}'"


@record
class SkipEntry(Entry):
    """Tests carrying `marker` are skipped when their model is one of `models`."""

    marker: str
    models: frozenset[str]
    model_lists: tuple[str, ...]

    kind = "skip"

    @property
    def subject(self) -> str:
        return f"marker '{self.marker}'"


@record
class DeselectEntry(Entry):
    """One test id (a pytest node id prefix, as --deselect takes it)."""

    nodeid: str

    kind = "deselect"

    @property
    def subject(self) -> str:
        return f"'{self.nodeid}'"


@record
class FlakyEntry(Entry):
    """Tests known to be flaky on the platform: rerun up to `reruns` times."""

    pattern: str
    reruns: int
    delay: float

    kind = "flaky"

    @property
    def subject(self) -> str:
        return f"'{self.pattern}'"


@record
class Variant:
    """A hardware variant of a platform (ROCm: mi300, mi355), with entries of its own
    and its own Buildkite agents."""

    name: str
    platform: str
    description: str
    # what detection reports for this hardware: AMD gfx targets (gfx942), or parts of
    # NVIDIA device names (H100)
    match: tuple[str, ...]
    location: Location
    buildkite: BuildkiteSettings = field(default_factory=BuildkiteSettings)
    github: GithubSettings = field(default_factory=GithubSettings)


@record
class Platform:
    """One hardware platform, its variants and its entries."""

    name: str
    description: str
    hardware: str  # what detection must report for --strict-platform
    visible_devices_env: str
    location: Location
    ignores: tuple[IgnoreEntry, ...] = ()
    skips: tuple[SkipEntry, ...] = ()
    deselects: tuple[DeselectEntry, ...] = ()
    flaky: tuple[FlakyEntry, ...] = ()
    variants: Mapping[str, Variant] = field(default_factory=frozen_map)
    buildkite: BuildkiteSettings = field(default_factory=BuildkiteSettings)
    github: GithubSettings = field(default_factory=GithubSettings)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return (*self.ignores, *self.skips, *self.deselects, *self.flaky)


@record
class Target:
    """What a session runs on: a platform as a whole, or one of its variants."""

    platform: Platform
    variant: Variant | None = None

    @property
    def name(self) -> str:
        """'rocm' or 'rocm:mi300': how suites' runs_on and messages name it."""
        return target_name(self.platform.name, self.variant_name)

    @property
    def variant_name(self) -> str | None:
        return self.variant.name if self.variant else None


@record
class Workspace:
    """Everything `skiplists/` declares, with paths resolved against `root`."""

    root: Path
    skiplist_dir: Path
    suites: Mapping[str, Suite]
    platforms: Mapping[str, Platform]
    model_lists: Mapping[str, ModelList]
    install: tuple[str, ...] = (".",)
    model_pattern: str = r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$"
    # parameter names that carry a model: vLLM's model, model_name, model_id,
    # model_info (EmbedModelInfo records), and the module-scoped server fixtures
    # (searched in the name: a record's or dict's field counts, 'config.model')
    model_params: str = (
        r"(^|\.)(models?|model_(name|id|path|info)|\w+_model|server|remote_server"
        r"|llm)(\.|$)"
    )
    gpus: int | None = None  # GPUs sessions may lease (default: the detected count)
    lease_dir: str | None = None
    reports_dir: str = "reports"
    pipeline: str = ".buildkite/pipeline.yml"
    annotate: bool = True  # the pipeline's last step posts the merged matrix
    # the last step records the build in the history: "artifact" (a SQLite file
    # carried from build to build) or "postgresql" ($TESTMATRIX_HISTORY_DB); None: off
    history: str | None = None
    buildkite: BuildkiteSettings = field(default_factory=BuildkiteSettings)
    workflow: str = ".github/workflows/testmatrix.yml"  # export --format github
    github: GithubSettings = field(default_factory=GithubSettings)

    def suites_holding(self, path: str) -> tuple[str, ...]:
        """The names of the suites whose paths hold a workspace-relative path
        (cached per path on the instance: a file holds many tests, and hashing a
        whole workspace per call cost more than the answer)."""
        cache = self.__dict__.get("_holding")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_holding", cache)  # frozen: no field changes
        found = cache.get(path)
        if found is None:
            suites = self.suites.values()
            found = cache[path] = tuple(s.name for s in suites if s.holds(path))
        return found

    def targets(self) -> tuple[Target, ...]:
        """Every platform, and each of its variants, in declaration order."""
        out: list[Target] = []
        for platform in self.platforms.values():
            out.append(Target(platform))
            out += [Target(platform, v) for v in platform.variants.values()]
        return tuple(out)

    @property
    def known_models(self) -> frozenset[str]:
        """Every model named anywhere in the skiplists."""
        models: set[str] = set()
        for model_list in self.model_lists.values():
            models.update(model_list.models)
        for platform in self.platforms.values():
            for skip in platform.skips:
                models.update(skip.models)
        return frozenset(models)
