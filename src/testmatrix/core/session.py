"""The complete command of a session (argv and environment), the sessions a workspace
declares, and what a session installs."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from testmatrix.core import options as opt
from testmatrix.core.facts import DISTRIBUTION, Detection, Origin
from testmatrix.core.fate import Fate, FateKind, TestCase
from testmatrix.core.holding import entries_holding
from testmatrix.core.model import (
    DeselectEntry,
    IgnoreEntry,
    Platform,
    Suite,
    Target,
    Workspace,
)
from testmatrix.core.names import session_keys, suite_runs_on, target_name
from testmatrix.core.names import (
    session_name as session_name,  # named once, for nox -l too
)
from testmatrix.core.runs import expand, run_part, suite_view
from testmatrix.core.targets import platform_named, variant_named
from testmatrix.errors import UsageError, unknown

# not a pytest test class (test modules import it); a NamedTuple body holds fields only
setattr(TestCase, "__test__", False)  # noqa: B010


def suite_named(workspace: Workspace, name: str) -> Suite:
    if name not in workspace.suites:
        raise UsageError(unknown("suite", name, workspace.suites))
    return workspace.suites[name]


def gpus_to_lease(
    workspace: Workspace, platform: Platform, detect: Callable[[], Detection]
) -> int | None:
    """How many GPUs a session of `platform` may lease from, before TESTMATRIX_GPUS
    (which the lease inventory reads) overrides it: `[workspace] gpus`, else the
    detected devices when they are the platform's own. None: it leases no GPU."""
    if not platform.visible_devices_env:
        return None
    if workspace.gpus is not None:
        return workspace.gpus
    if os.environ.get("TESTMATRIX_GPUS"):
        return 0  # the inventory is the environment's; no need to probe
    detected = detect()
    return detected.devices if detected.hardware == platform.hardware else 0


def testmatrix_requirement(
    workspace: Workspace, origin: Origin, extras: str = "", *, own_project: bool = False
) -> str | None:
    """The pip requirement that installs the running testmatrix into a session's
    fresh virtualenv, beside the workspace's own `install`: the checkout it runs
    from, else the local file or directory it was installed from, else its version
    from the package index. None in testmatrix's own checkout, which `install`
    installs, and in any copy of it (`own_project`, which the caller probes): two
    testmatrix requirements would conflict."""
    if own_project:
        return None
    name = DISTRIBUTION + (f"[{extras}]" if extras else "")
    if origin.source is not None:
        if origin.source.resolve() == workspace.root.resolve():
            return None
        return f"{name} @ {origin.source.resolve().as_uri()}"
    if origin.url is not None:
        return f"{name} @ {origin.url}"
    return f"{name}=={origin.version}"


def install_args(
    workspace: Workspace, origin: Origin, extras: str = "", *, own_project: bool = False
) -> list[str]:
    """What `nox -s SESSION` installs into a fresh virtualenv: the workspace's
    `install` arguments and the testmatrix that runs the session."""
    own = testmatrix_requirement(workspace, origin, extras, own_project=own_project)
    return [*workspace.install, *([own] if own else [])]


@dataclass(frozen=True)
class SessionKey:
    """What one session runs: a suite on a platform, or on one of its variants."""

    platform: str
    variant: str | None
    suite: str

    @property
    def name(self) -> str:
        return session_name(self.platform, self.suite, self.variant)

    @property
    def target(self) -> str:
        return target_name(self.platform, self.variant)


def runs_on(suite: Suite, target: Target) -> bool:
    """Whether the suite has a session on this target: everywhere unless it names
    platforms (`rocm`: the platform and all its variants) or variants (`rocm:mi355`)."""
    return suite_runs_on(suite.runs_on, target.platform.name, target.variant_name)


def no_session_fate(suite: Suite, target: Target) -> Fate:
    """What explain says of a suite's tests on a target it does not run on."""
    where = ", ".join(suite.runs_on or ())
    message = (
        f"suite {suite.name} has no session on {target.name}: it runs on {where} only "
        f"({suite.runs_on_reason}) [{suite.location}]"
    )
    return Fate(FateKind.NO_SESSION, target.name, message=message)


def sessions(workspace: Workspace) -> dict[str, SessionKey]:
    """Every session by name, in declaration order: each suite on each target it
    runs on (the order and names `nox -l` lists, from the same code)."""
    targets = [(t.platform.name, t.variant_name) for t in workspace.targets()]
    suites = [(s.name, s.runs_on) for s in workspace.suites.values()]
    keys = (SessionKey(p, v, s) for p, v, s in session_keys(targets, suites))
    return {key.name: key for key in keys}


def session_named(workspace: Workspace, name: str) -> SessionKey:
    """The session of a name as `nox -l` lists it."""
    known = sessions(workspace)
    if name not in known:
        raise UsageError(unknown("session", name, known))
    return known[name]


def session_argv(
    workspace: Workspace,
    platform: str,
    suite: str,
    *,
    variant: str | None = None,
    apply: bool = True,
    run: int | None = None,
) -> list[str]:
    """The pytest arguments that select a session's tests: the suite's paths and
    selection, the target, and the target's ignore and deselect flags for the suite
    (what a bare `pytest --platform P --suite S` run reproduces). testmatrix's own
    options are in their prefixed form, which exists whatever else is installed.
    For a suite of several runs, `run` (1-based) says which one; globs among its
    paths are expanded against the workspace, as the shell would."""
    plat = platform_named(workspace, platform)
    var = variant_named(plat, variant)
    whole = suite_named(workspace, suite)
    if plat is not None and not runs_on(whole, Target(plat, var)):
        raise UsageError(no_session_fate(whole, Target(plat, var)).message)
    target = suite_view(whole, platform if plat else None, variant, run)
    paths = [p for path in target.paths for p in expand(workspace.root, path)]
    argv = [*paths, opt.PLATFORM.flag(platform)]
    if variant is not None:
        argv.append(opt.VARIANT.flag(variant))
    argv.append(opt.SUITE.flag(suite))
    if whole.runs:
        argv.append(opt.RUN.flag(target.run))
    if target.markexpr:
        argv += ["-m", target.markexpr]
    if target.keyword:
        argv += ["-k", target.keyword]
    argv += target.args
    argv += [f"--ignore={e.target}" for e in target.excludes]
    if not apply:
        return argv + [opt.NO_SKIPLIST.long]
    if plat is None:
        return argv
    # expected failures run: their tests must fail as recorded
    held = [e for e in entries_holding(plat, variant, target) if e.fails is None]
    argv += [
        f"--ignore={e.target}{'/' if e.path.endswith('/') else ''}"
        for e in held
        if isinstance(e, IgnoreEntry)
    ]
    argv += [f"--deselect={e.nodeid}" for e in held if isinstance(e, DeselectEntry)]
    return argv


@dataclass(frozen=True)
class SessionCommand:
    """The complete command of one session: pytest's arguments and its environment."""

    key: SessionKey
    argv: tuple[str, ...]  # after `pytest`
    env: Mapping[str, str] = field(default_factory=dict)
    gpus: int = 1  # leased at once on a GPU platform
    applied: bool = True  # the skiplist applies (no --no-skiplist)
    run: int | None = None  # which run of a suite of several (1-based)
    runs: int = 1  # how many runs the suite's session has

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def ignores(self) -> int:
        return sum(1 for a in self.argv if a.startswith("--ignore="))

    def as_dict(self) -> dict:
        return {"argv": list(self.argv), "env": dict(self.env)}


@dataclass(frozen=True)
class Sharding:
    """Parallel jobs: shard `shard_id` of `num_shards` (strings: may be $$VARs).

    Sessions always shard with testmatrix's own, prefixed options: exact (every test
    in one shard) and balanced by recorded durations, whether or not pytest-shard,
    which owns the short `--shard-id`, is installed."""

    shard_id: str
    num_shards: str

    def flags(self) -> list[str]:
        return [opt.SHARD_ID.flag(self.shard_id), opt.NUM_SHARDS.flag(self.num_shards)]


def conflicting_posarg(key: SessionKey, posargs: Sequence[str]) -> str | None:
    """Why an argument given after `--` would contradict the session, or None: the
    session fixes the platform, variant and suite, and its --ignore flags come from
    them."""
    fixed = {
        opt.PLATFORM.long: key.platform,
        opt.VARIANT.long: key.variant,
        opt.SUITE.long: key.suite,
    }
    for i, arg in enumerate(posargs):
        given, _, value = arg.partition("=")
        name = opt.canonical(given)
        if name == opt.SKIPLISTS.long:
            return (
                f"'{given}' after -- is not for sessions: their --ignore flags come "
                "from the workspace's own skiplists"
            )
        if name not in fixed:
            continue
        value = value or (posargs[i + 1] if i + 1 < len(posargs) else "")
        if value == fixed[name]:
            continue
        platform, variant, suite = key.platform, key.variant, key.suite
        if name == opt.PLATFORM.long:
            platform, variant = value, None  # variants belong to their platform
        elif name == opt.VARIANT.long:
            variant = value
        else:
            suite = value
        instead = session_name(platform, suite, variant)
        what = opt.BY_NAME[name].name
        mine = fixed[name] or "none (platform-wide)"
        return (
            f"'{given} {value}' after -- contradicts this session's {what} ({mine}), "
            f"whose --ignore flags it runs with; run nox -s {instead} instead"
        )
    return None


def _merge_expressions(argv: list[str], posargs: Sequence[str]) -> list[str]:
    """The user's -m/-k after `--` narrow the suite's own: pytest keeps only the last
    -m and -k it is given, so the two become one `(suite) and (user)` expression."""
    rest: list[str] = []
    given: dict[str, str] = {}
    i = 0
    while i < len(posargs):
        arg = posargs[i]
        if arg in ("-m", "-k") and i + 1 < len(posargs):
            given[arg] = posargs[i + 1]
            i += 2
            continue
        if arg[:2] in ("-m", "-k") and len(arg) > 2 and not arg.startswith("--"):
            given[arg[:2]] = arg[2:]
        else:
            rest.append(arg)
        i += 1
    out = list(argv)
    for flag, expression in given.items():
        if flag in out:
            index = out.index(flag) + 1
            out[index] = f"({out[index]}) and ({expression})"
        else:
            out += [flag, expression]
    return out + rest


def _canonical_args(posargs: Sequence[str]) -> list[str]:
    """The user's arguments with testmatrix's options in their prefixed form (given in
    either form), so the session means testmatrix's even where another plugin owns the
    short name (pytest-shard's --shard-id)."""
    out = []
    for arg in posargs:
        name, value = opt.split(arg)
        out.append(name if value is None else f"{name}={value}")
    return out


def _value_of(argv: Sequence[str], name: str) -> str | None:
    """The value an option (prefixed form) is given in argv, either as `--x=v` or
    `--x v`; the last one wins, as in pytest."""
    found = None
    for i, arg in enumerate(argv):
        given, value = opt.split(arg)
        if given == name:
            found = value if value is not None else (argv[i + 1 : i + 2] or [""])[0]
    return found


def _without(argv: Sequence[str], name: str) -> list[str]:
    """argv without an option (prefixed form) and its value, in either spelling."""
    out: list[str] = []
    skip = False
    for arg in argv:
        given, value = opt.split(arg)
        if skip:
            skip = False
        elif given != name:
            out.append(arg)
        else:
            skip = value is None
    return out


def report_paths(
    workspace: Workspace, key: SessionKey, shard: str | None, run: int | None = None
) -> ReportPaths:
    """Where a session writes its JUnit XML and summary: <reports_dir>/<session>/, and
    in a parallel job one file per shard (junit-K.xml, summary-K.json), since every
    job of a Buildkite step uploads into the same artifact paths; a suite of several
    runs writes one per run (junit-run2.xml, junit-run2-K.xml)."""
    directory = f"{workspace.reports_dir}/{key.name}"
    suffix = "" if run is None else f"-run{run}"
    suffix += "" if shard is None else f"-{shard}"
    return ReportPaths(
        directory, f"{directory}/junit{suffix}.xml", f"{directory}/summary{suffix}.json"
    )


@dataclass(frozen=True)
class ReportPaths:
    directory: str
    junit: str
    summary: str


def session_command(
    workspace: Workspace,
    platform: str,
    suite: str,
    *,
    variant: str | None = None,
    posargs: Sequence[str] = (),
    sharding: Sharding | None = None,
    exists: Callable[[str], bool] | None = None,
    run: int | None = None,
) -> SessionCommand:
    """The one builder of a session's command: nox, Buildkite (either style),
    `testmatrix argv` and `sessions` all run exactly this.

    For a suite of several runs this is one run's command (`run`, 1-based, is then
    required); `session_commands` gives them all, in the order they run.

    `posargs` are the user's extra pytest arguments (`nox -s S -- ...`); testmatrix's
    options among them may be in either form and are passed in the prefixed one;
    `--no-skiplist` turns the skiplist off. Reports go to <reports_dir>/<session>/
    (one file per shard when sharded) unless the user names their own. `exists`
    tells whether a workspace-relative file exists (default: look in the workspace);
    it decides whether recorded durations balance the shards.
    """
    key = SessionKey(platform, variant, suite)
    conflict = conflicting_posarg(key, posargs)
    if conflict:
        raise UsageError(conflict)
    the_suite = suite_named(workspace, suite)
    posargs = _canonical_args(posargs)
    off = opt.NO_SKIPLIST.long
    apply = off not in posargs
    argv = session_argv(
        workspace, platform, suite, variant=variant, apply=apply, run=run
    )
    plat = platform_named(workspace, platform)
    view = suite_view(the_suite, platform if plat else None, variant, run)
    part = view.run if the_suite.runs else None
    argv = _merge_expressions(argv, [a for a in posargs if a != off])
    if sharding is not None:
        argv += sharding.flags()
    given = {opt.split(a)[0] for a in argv}
    reports = report_paths(workspace, key, _value_of(argv, opt.SHARD_ID.long), part)
    if "--junitxml" not in given and "--junit-xml" not in given:
        argv.append(f"--junitxml={reports.junit}")
    durations = the_suite.durations
    if exists is None:
        root = workspace.root
        exists = lambda rel: os.path.isfile(os.path.join(root, rel))  # noqa: E731
    balance = opt.NUM_SHARDS.long in given and opt.DURATIONS.long not in given
    if balance and durations and exists(durations):
        argv.append(opt.DURATIONS.flag(durations))  # balance shards by time
    if opt.SUMMARY.long not in given:
        argv.append(opt.SUMMARY.flag(reports.summary))
    env = {k: str(v) for k, v in view.env.items()}
    count = len(the_suite.parts)
    return SessionCommand(key, tuple(argv), env, the_suite.gpus, apply, part, count)


def session_commands(
    workspace: Workspace,
    platform: str,
    suite: str,
    *,
    variant: str | None = None,
    posargs: Sequence[str] = (),
    sharding: Sharding | None = None,
    exists: Callable[[str], bool] | None = None,
) -> tuple[SessionCommand, ...]:
    """Every pytest command of a session, in the order they run: one for a suite of
    one run (`session_command`'s), one per run for a suite that is a CI job.

    Adapters run them all, in order, each its own process, whatever an earlier one
    gave (a failure does not stop the later runs); the session fails if any failed.
    Each run writes its own reports (`junit-runN.xml`, `summary-runN.json`).
    `--testmatrix-run N` among `posargs` (`nox -s S -- --testmatrix-run=2`) keeps
    run N alone."""
    the_suite = suite_named(workspace, suite)
    runs: list[int | None] = [None]
    if the_suite.runs:
        runs = list(range(1, len(the_suite.runs) + 1))
    chosen = _value_of(_canonical_args(posargs), opt.RUN.long)
    if chosen is not None:
        if not chosen.isdigit():
            raise UsageError(f"{opt.RUN.long} takes a run number, got '{chosen}'")
        runs = [run_part(the_suite, int(chosen)).run]
        posargs = _without(_canonical_args(posargs), opt.RUN.long)
    return tuple(
        session_command(
            workspace,
            platform,
            suite,
            variant=variant,
            posargs=posargs,
            sharding=sharding,
            exists=exists,
            run=run,
        )
        for run in runs
    )
