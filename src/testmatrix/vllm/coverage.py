"""What AMD coverage vLLM's CI files lost since an earlier version of them
(`check-vllm --baseline`): AMD jobs that ran tests then and run none now, and test
files an AMD job ran then that no AMD job runs now.

A job runs the test files its pytest commands select (their paths minus their
--ignore paths, in the checkout as it is now), or those of the sessions its
`nox -s` commands run. Jobs are known by their label, a `mirror: amd:` twin apart
from an AMD pipeline job of the same label: a renamed job is a job gone (its files,
if some other job still runs them, are not).
"""

from __future__ import annotations

from dataclasses import dataclass

from testmatrix.core.model import Target
from testmatrix.vllm import jobs as vllmjobs
from testmatrix.vllm import proof as importproof
from testmatrix.vllm.check import AMD, Finding, Matcher
from testmatrix.vllm.planmodel import ImportPlan

SHOWN = 10  # files named in one finding; the rest are counted


@dataclass(frozen=True)
class Coverage:
    """The AMD jobs that run tests, by label, and the test files each runs."""

    jobs: dict[tuple[str, bool], tuple[vllmjobs.Job, frozenset[str]]]

    def files(self) -> set[str]:
        return {f for _, files in self.jobs.values() for f in files}


def coverage(matcher: Matcher, plan: ImportPlan) -> Coverage:
    """The test files every AMD job of `plan` runs, in the workspace's checkout."""
    by_job: dict[int, set[str]] = {}
    for instance in plan.instances:
        if instance.job.platform == AMD and instance.unmapped is None:
            selected = importproof.command_selection(instance, matcher.files).files
            by_job.setdefault(id(instance.job), set()).update(selected)
    jobs: dict[tuple[str, bool], tuple[vllmjobs.Job, frozenset[str]]] = {}
    for job in plan.jobs:
        if job.platform != AMD:
            continue
        files = by_job.get(id(job), set()) | _session_files(matcher, job)
        if not files:
            continue
        key = (job.label, job.mirror_of is not None)
        if key in jobs:  # the same label twice (a parallel job): one job
            earlier, theirs = jobs[key]
            jobs[key] = (earlier, theirs | files)
        else:
            jobs[key] = (job, frozenset(files))
    return Coverage(jobs)


def _session_files(matcher: Matcher, job: vllmjobs.Job) -> set[str]:
    files: set[str] = set()
    for command in job.commands:
        name = matcher.nox_session(command)
        key = matcher.sessions.get(name) if name else None
        if key is None:
            continue
        platform = matcher.workspace.platforms[key.platform]
        variant = platform.variants.get(key.variant) if key.variant else None
        suite = matcher.workspace.suites[key.suite]
        files |= matcher.selection(Target(platform, variant), suite).files
    return files


def lost(before: Coverage, now: Coverage) -> list[Finding]:
    """One finding per baseline AMD job that runs no tests now, or that ran test
    files no AMD job runs now; at the baseline's file and line."""
    running = now.files()
    findings: list[Finding] = []
    for key, (job, files) in before.jobs.items():
        gone = sorted(files - running)
        named = ", ".join(gone[:SHOWN]) + (
            f" and {len(gone) - SHOWN} more" if len(gone) > SHOWN else ""
        )
        where = job.location
        if key not in now.jobs:
            message = (
                f"in the baseline it ran {len(files)} test files; no AMD job of this "
                "label runs tests now"
            )
            message += (
                f"; {len(gone)} of them run on no AMD job now: {named}"
                if gone
                else "; other AMD jobs run all of its files now"
            )
            kind = "lost-job"
        elif gone:
            message = (
                f"in the baseline it ran {len(gone)} test files that no AMD job runs "
                f"now: {named}"
            )
            kind = "lost-files"
        else:
            continue
        findings.append(
            Finding(where.file, where.line, job.label, job.target, kind, message)
        )
    return sorted(findings, key=lambda f: (f.file, f.line))
