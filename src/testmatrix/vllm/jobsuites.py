"""CI steps into suites: one suite per step, its pytest commands its runs, and the
step's twins on other targets (the same paths run by AMD and NVIDIA) in the same
suite, with what they do differently as overrides of their target.

Jobs whose commands name the same paths, in the same order, with the same GPU count
share a suite when, run by run, they leave out the same paths (excludes), agree on
the entries of their platform, and no target would run two selections. Each run's
selection is then what its commands share: the environment they all set, the -m and
-k of the NVIDIA command (none, where a command has none), its arguments; a target
whose command differs gets an override with the reason its pipeline gives.

Pure: mapped commands in, suites out.
"""

from __future__ import annotations

import re

from testmatrix.vllm.jobs import Job
from testmatrix.vllm.planmodel import Instance, Override, RunPlan, SuitePlan


def group(mapped: list[Instance]) -> list[SuitePlan]:
    """Suites, in the order their first step comes."""
    by_job: dict[int, list[Instance]] = {}
    for instance in mapped:
        by_job.setdefault(id(instance.job), []).append(instance)
    suites: list[SuitePlan] = []
    index: dict[tuple, list[SuitePlan]] = {}
    for commands in by_job.values():
        key = (tuple(tuple(sorted(i.paths)) for i in commands), commands[0].job.gpus)
        candidates = index.setdefault(key, [])
        home = next((s for s in candidates if _joins(s, commands)), None)
        if home is None:
            home = SuitePlan("", [], commands[0].job.group)
            home.runs = [RunPlan([]) for _ in commands]
            candidates.append(home)
            suites.append(home)
        for run, instance in zip(home.runs, commands, strict=True):
            run.instances.append(instance)
        home.instances += commands
    for suite in suites:
        _settle(suite)
    return suites


def _selection(instance: Instance) -> tuple:
    return (
        instance.markexpr,
        instance.keyword,
        tuple(sorted(instance.env.items())),
        instance.args,
    )


def _joins(suite: SuitePlan, commands: list[Instance]) -> bool:
    """Whether a job's commands can be the suite's runs on the job's target."""
    for run, instance in zip(suite.runs, commands, strict=True):
        for other in run.instances:
            if other.excludes != instance.excludes:
                return False  # partitioning holds on every target alike
            if other.platform != instance.platform:
                continue
            same = _selection(other) == _selection(instance)
            # a platform-wide job's selection holds on every variant too
            wide = other.variant is None or instance.variant is None
            if (other.target == instance.target or wide) and not same:
                return False
            if other.target == instance.target and other.entries != instance.entries:
                return False
            if not _entries_agree(other, instance):
                return False
    return True


def _entries_agree(other: Instance, instance: Instance) -> bool:
    """On one platform the entries must agree; platform-wide ones hold on every
    variant (the import's rule for sharing a session's entries)."""
    mine, theirs = instance.entries, other.entries
    if other.variant == instance.variant:
        return theirs == mine
    if other.variant is None:
        return theirs <= mine
    if instance.variant is None:
        return mine <= theirs
    return True


def _reference(instances: list[Instance]) -> Instance:
    """The command whose selection is the run's own: NVIDIA's, where there is one
    (an AMD command that selects less is the difference, not the rule)."""
    return next((i for i in instances if i.platform == "cuda"), instances[0])


def _settle(suite: SuitePlan) -> None:
    """Each run's shared selection and the overrides of the targets that differ;
    an override every run has for a target becomes the suite's."""
    for run in suite.runs:
        ref = _reference(run.instances)
        shared = set(ref.env.items())
        for instance in run.instances:
            shared &= set(instance.env.items())
        run.env = dict(sorted(shared))
        run.markexpr = (
            None if any(i.markexpr is None for i in run.instances) else ref.markexpr
        )
        run.keyword = (
            None if any(i.keyword is None for i in run.instances) else ref.keyword
        )
        run.args = ref.args
        for instance in run.instances:
            override = _override(run, instance)
            if override is not None:
                run.overrides.setdefault(instance.target, override)
        _by_platform(run)
    targets = set.intersection(*(set(r.overrides) for r in suite.runs))
    for target in sorted(targets):
        found = [r.overrides[target] for r in suite.runs]
        if len({o.key() for o in found}) == 1 and len(suite.runs) > 1:
            suite.overrides[target] = found[0]
            for run in suite.runs:
                del run.overrides[target]


def _override(run: RunPlan, instance: Instance) -> Override | None:
    override = Override()
    differs: list[str] = []
    if instance.markexpr != run.markexpr:
        override.markexpr = instance.markexpr
        differs.append(f"-m {instance.markexpr!r}")
    if instance.keyword != run.keyword:
        override.keyword = instance.keyword
        differs.append(f"-k {instance.keyword!r}")
    extra = {k: v for k, v in instance.env.items() if run.env.get(k) != v}
    if extra:
        override.env = dict(sorted(extra.items()))
        differs.append("env " + " ".join(f"{k}={v}" for k, v in extra.items()))
    if instance.args != run.args:
        override.args = instance.args
        differs.append(f"arguments {' '.join(instance.args) or '(none)'}")
    if not differs:
        return None
    override.reason = _reason(instance, differs)
    return override


def _reason(instance: Instance, differs: list[str]) -> str:
    """The pipeline's comment on the command (beside it, above it, a NOTES entry),
    else where the difference is written."""
    command = instance.command
    for text in (command.comment, " ".join(command.above), " ".join(command.below)):
        if text:
            return re.sub(r"\s+", " ", text).strip(" :;,-^#")
    return (
        f"imported: {instance.location} ('{instance.job.label}') runs it with "
        + ", ".join(differs)
    )


def _by_platform(run: RunPlan) -> None:
    """Variant overrides alike on every target of a platform the run has become
    the platform's own."""
    platforms: dict[str, list[Instance]] = {}
    for instance in run.instances:
        platforms.setdefault(instance.platform, []).append(instance)
    for platform, instances in platforms.items():
        targets = {i.target for i in instances}
        if platform in targets:
            continue
        found = [run.overrides.get(t) for t in targets]
        if any(o is None for o in found):
            continue
        if len({o.key() for o in found if o is not None}) == 1:
            run.overrides[platform] = found[0]  # type: ignore[assignment]
            for target in targets:
                del run.overrides[target]


def run_paths(suite: SuitePlan) -> tuple:
    """What a suite runs, run by run: each run's paths (a twin runs the same)."""
    return tuple(tuple(sorted(run.paths)) for run in suite.runs)


def twins(suites: list[SuitePlan]) -> list[tuple[str, str]]:
    """Pairs of twin suites: one CI step imported twice, an AMD-only suite and an
    NVIDIA-only one that run the same paths, run by run, on as many GPUs (what
    `on` overrides are for; a platform-wide job's suite cannot take a variant's
    different selection, nor a step on more GPUs another's)."""
    out: list[tuple[str, str]] = []

    def amd(suite: SuitePlan) -> set[bool]:
        return {i.platform == "rocm" for i in suite.instances}

    for i, a in enumerate(suites):
        for b in suites[i + 1 :]:
            apart = amd(a) | amd(b) == {True, False} and len(amd(a)) == len(amd(b)) == 1
            if apart and a.gpus == b.gpus and run_paths(a) == run_paths(b):
                out.append((a.name, b.name))
    return out


def shape(jobs: list[Job], suites: list[SuitePlan]) -> dict[str, int]:
    """The import's shape: CI steps with a pytest command (a step and its mirror
    are one), the suites they became, twin suites among them."""
    steps = {str(j.mirror_of or j.location) for j in jobs if j.pytest}
    return {"steps": len(steps), "twin_suites": len(twins(suites))}
