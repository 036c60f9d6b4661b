"""Names and reasons of an import: suite names from step labels, descriptions, and the
reasons of excludes and ignores."""

from __future__ import annotations

import posixpath
import re

from testmatrix.vllm.planmodel import HARDWARE_WORD, Decision, Instance, SuitePlan


def label_name(label: str) -> str:
    """A suite name from a step label: no emoji, hardware names, %N or 'Test(s)'."""
    text = re.sub(r":[a-z0-9_+-]+:", " ", label).replace("%N", " ")
    text = re.sub(r"[^\x00-\x7f]", " ", text)  # emoji and other symbols
    text = re.sub(r"^\s*(?:ROCm|AMD|NVIDIA|CUDA)\b[\s:·-]*", "", text)
    text = re.sub(rf"\b{HARDWARE_WORD}\b", " ", text)
    text = re.sub(r"\b[Tt]ests?\b", " ", text)
    return _slug(text) or _slug(label) or "suite"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _stem(path: str) -> str:
    """A path's last name, without test_ and .py: 'tests/lora/test_llama_tp.py' gives
    'llama-tp'."""
    name = posixpath.basename(path.rstrip("/"))
    return _slug(name.removeprefix("test_").removesuffix(".py"))


def name_suites(suites: list[SuitePlan]) -> None:
    """Names from the first step's label (a suite is a step: its pytest commands are
    its runs); a one-run suite of a step whose other pytest commands run elsewhere
    adds its path's last name; a name already taken gets the platform where that
    tells the suites apart, else a number."""
    taken: set[str] = set()
    platforms_of: dict[str, set[str]] = {}  # base name: platforms of its suites
    for suite in suites:
        first, job = suite.first, suite.first.job
        label = label_name(job.label)
        split = len(suite.runs) == 1 and len(job.pytest) > 1
        tail = _stem(first.paths[0]) if split else ""
        if tail and (tail == label or label.endswith("-" + tail)):
            tail = ""
        base = f"{label}-{tail}" if tail else label
        mine = {i.platform for i in suite.instances}
        seen = platforms_of.setdefault(base, set())
        candidates = [base]
        if len(mine) == 1 and not mine & seen:
            candidates.append(f"{base}-{next(iter(mine))}")
        seen |= mine
        name = next((c for c in candidates if c not in taken), None)
        number = 2
        while name is None:
            if f"{base}-{number}" not in taken:
                name = f"{base}-{number}"
            number += 1
        taken.add(name)
        suite.name = name
        for number, run in enumerate(suite.runs, 1):
            for instance in run.instances:
                instance.suite = name
                instance.run = number if len(suite.runs) > 1 else None


def describe_suite(suite: SuitePlan) -> None:
    """The suite's description, the places it runs and its excludes' reasons."""
    first = suite.first
    suite.description = f"{first.job.label} ({first.location})"
    places: list[str] = []
    platforms = list(dict.fromkeys(i.platform for i in suite.instances))
    for platform in platforms:
        variants = {i.variant for i in suite.instances if i.platform == platform}
        if None in variants:
            places.append(platform)
        else:
            places += [f"{platform}:{v}" for v in sorted(v for v in variants if v)]
    suite.places = places
    for run in suite.runs:
        for decision in run.first.decisions:
            if decision.kind == "exclude":
                run.exclude_reasons[decision.target] = exclude_reason(decision)


def _where(instance: Instance) -> str:
    if instance.suite and instance.run:
        return f"suite {instance.suite} (run {instance.run})"
    if instance.suite:
        return f"suite {instance.suite}"
    return f"step '{instance.job.label}' ({instance.location})"


def exclude_reason(decision: Decision) -> str:
    runner, twin = decision.runner, decision.twin
    if decision.rule == "another command here runs it" and runner is not None:
        fact = f"runs in {_where(runner)}"
    elif twin is not None or runner is not None:
        fact = f"{twin.target} leaves it out too" if twin is not None else ""
        where = "no imported step runs it"
        if runner is not None:
            where = f"runs in {_where(runner)} on {runner.target}"
        fact = f"{fact}; {where}" if fact else where
    else:
        fact = "no imported step runs it"
    return f"{decision.comment} ({fact})" if decision.comment else fact


def ignore_reason(decision: Decision, instance: Instance) -> str:
    """The reason of an [[ignore]] entry: the comment, else what the pipelines show."""
    if decision.comment:
        return decision.comment
    runner = decision.runner
    where = f"; {runner.target} runs it in {_where(runner)}" if runner else ""
    return f"the imported CI does not run it on {instance.platform}{where}"
