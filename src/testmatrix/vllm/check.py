"""Check vLLM's own CI files against the skiplists: `testmatrix check-vllm`.

vLLM's CI files are read as they are (vllmci: `mirror: amd:` blocks expanded as vLLM's
generator does). Every AMD job's effective selection (per pytest command: the files
under its paths minus its --ignore paths, its -m, -k, environment, arguments and
--deselect ids) is compared with the session the skiplists define for that suite on
the job's target, computed by `plan.session_command` (importproof does the same for an
import). A command `nox -s SESSION` runs that session by definition. Every NVIDIA job
whose suite the skiplists run on rocm must have an AMD twin: a `mirror: amd:` block,
or an AMD job (test-amd.yaml) that runs the same suite.

Pure apart from reading the files and the checkout's file names.
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testmatrix.core.model import Platform, Suite, Target, Variant, Workspace
from testmatrix.core.names import session_name
from testmatrix.core.runs import expand
from testmatrix.core.session import runs_on, sessions
from testmatrix.vllm import ci as vllmci
from testmatrix.vllm import jobs as vllmjobs
from testmatrix.vllm import plan as importplan
from testmatrix.vllm import proof as importproof
from testmatrix.vllm.planmodel import ImportPlan, Instance

AMD, NVIDIA = "rocm", "cuda"
# the kinds of finding that are not an AMD job disagreeing with the skiplists: an
# NVIDIA job without its twin, coverage lost since the baseline (--baseline)
NOT_DISAGREEING = ("no-twin", "lost-job", "lost-files")


@dataclass(frozen=True)
class Finding:
    """One disagreement: an AMD job, or an NVIDIA job without its AMD twin."""

    file: str
    line: int
    label: str
    target: str
    kind: str  # "differs", "no-session", "no-suite", "missing-path", "no-twin",
    # "lost-job", "lost-files"
    message: str

    def text(self) -> str:
        return f"{self.file}:{self.line}: job '{self.label}' ({self.target}): " + (
            self.message
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "label": self.label,
            "target": self.target,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass
class Check:
    findings: list[Finding] = field(default_factory=list)
    amd_jobs: int = 0
    amd_agree: int = 0
    nvidia_jobs: int = 0
    unchecked: list[str] = field(default_factory=list)  # commands no suite can hold
    notes: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        kinds = Counter(f.kind for f in self.findings)
        amd = {
            f.file + str(f.line) for f in self.findings if f.kind not in NOT_DISAGREEING
        }
        return {
            "amd_jobs": self.amd_jobs,
            "amd_agree": self.amd_agree,
            "amd_disagree": len(amd),
            "nvidia_jobs": self.nvidia_jobs,
            "nvidia_without_twin": kinds["no-twin"],
            "findings": len(self.findings),
            "by_kind": dict(sorted(kinds.items())),
            "unchecked_commands": len(self.unchecked),
        }


@dataclass(frozen=True)
class Match:
    """What became of one CI command: the suite it runs (if any), and how."""

    suite: Suite | None
    status: str  # "exact", "differs", "no-session", "no-suite", "unmapped", ...
    detail: str = ""
    run: int | None = None  # which run of a suite of several


class Matcher:
    """Commands onto the skiplists' suites: by their paths, then by the session's
    selection on the job's target (several suites may share paths)."""

    def __init__(self, workspace: Workspace, plan: ImportPlan):
        self.workspace = workspace
        self.plan = plan
        self.files = importproof.Files(workspace.root)
        # each run of a suite of several is a command of its CI step
        self.by_paths: dict[frozenset[str], list[tuple[Suite, int | None]]] = {}
        for suite in workspace.suites.values():
            for part in suite.parts:
                mine = self.by_paths.setdefault(frozenset(part.paths), [])
                mine.append((suite, part.run))
        self.sessions = sessions(workspace)
        self._selections: dict[tuple, importproof.Selection] = {}

    def target(self, job: vllmjobs.Job) -> tuple[Target | None, str]:
        """The skiplists' target of a job, and a note when its variant is not
        declared (the platform-wide session stands for it)."""
        platform: Platform | None = self.workspace.platforms.get(job.platform)
        if platform is None:
            return None, f"the skiplists declare no platform {job.platform}"
        variant: Variant | None = None
        note = ""
        if job.variant is not None:
            variant = platform.variants.get(job.variant)
            if variant is None:
                note = (
                    f"variant {job.variant} is not declared on {job.platform}: "
                    "compared with the platform-wide session"
                )
        return Target(platform, variant), note

    def selection(
        self, target: Target, suite: Suite, run: int | None = None
    ) -> importproof.Selection:
        key = (target.platform.name, target.variant_name, suite.name, run)
        found = self._selections.get(key)
        if found is None:
            _, found = importproof.session_selection(
                self.workspace, self.files, key[0], suite.name, key[1], run=run
            )
            self._selections[key] = found
        return found

    def match(self, instance: Instance, target: Target) -> Match:
        if instance.unmapped is not None:
            status = (
                "missing-path" if "not in the checkout" in instance.unmapped else ""
            )
            return Match(None, status or "unmapped", instance.unmapped)
        candidates = self.by_paths.get(frozenset(instance.paths), [])
        paths = " ".join(instance.paths)
        if not candidates:
            return Match(
                None, "no-suite", f"no suite of the skiplists has paths {paths}"
            )
        running = [(s, r) for s, r in candidates if runs_on(s, target)]
        if not running:
            where = "; ".join(
                f"{s.name} runs on {', '.join(s.runs_on or ('everywhere',))}"
                for s, _ in candidates
            )
            return Match(
                candidates[0][0],
                "no-session",
                f"no suite with paths {paths} has a session on {target.name} ({where})",
            )
        original = importproof.command_selection(instance, self.files)
        best: tuple[int, Suite, int | None, list[str]] | None = None
        for suite, run in running:
            theirs = self.selection(target, suite, run)
            differs = importproof.differences(original, theirs)
            if not differs:
                return Match(suite, "exact", run=run)
            cost = len(original.files ^ theirs.files) + 10_000 * (
                len(differs) - bool(original.files ^ theirs.files)
            )
            if best is None or cost < best[0]:
                best = (cost, suite, run, differs)
        assert best is not None
        _, suite, run, differs = best
        name = session_name(target.platform.name, suite.name, target.variant_name)
        if run is not None:
            name += f" run {run}"
        return Match(suite, "differs", f"session {name}: " + "; ".join(differs), run)

    def nox_session(self, command: vllmjobs.Command) -> str | None:
        """The session a `nox ... -s NAME` command runs, or None: not nox."""
        try:
            words = shlex.split(command.text)
        except ValueError:
            return None
        while words and "=" in words[0] and not words[0].startswith("-"):
            words = words[1:]  # VAR=1 nox ...
        if not words or Path(words[0]).name != "nox":
            return None
        for i, word in enumerate(words):
            if word in ("-s", "-e", "--session", "--sessions") and i + 1 < len(words):
                return words[i + 1]
            for flag in ("--session=", "--sessions="):
                if word.startswith(flag):
                    return word[len(flag) :]
        return None


def read_plan(
    paths: list[Path],
    workspace: Workspace,
    *,
    checkout_root: str | None = None,
    default_working_dir: str | None = None,
) -> ImportPlan:
    """vLLM's CI files read as they are, each pytest command resolved against the
    workspace's checkout (paths, ignores, -m, -k ...), as an import would see them."""
    reading = vllmci.read(paths, default_working_dir=default_working_dir)
    root = workspace.root
    known: dict[str, bool] = {}

    def exists(rel: str) -> bool:
        if rel not in known:
            known[rel] = (root / rel).exists()
        return known[rel]

    return importplan.plan(
        reading.jobs,
        exists=exists,
        checkout_root=checkout_root,
        allow_partial=True,
        glob=lambda rel: [p for p in expand(root, rel) if p != rel],
    )


def check(workspace: Workspace, plan: ImportPlan) -> Check:
    """Every AMD job against the skiplists, and every NVIDIA job's AMD twin."""
    matcher = Matcher(workspace, plan)
    result = Check()
    by_job: dict[int, list[Instance]] = {}
    for instance in plan.instances:
        by_job.setdefault(id(instance.job), []).append(instance)
    amd_suites: set[str] = set()
    mirrored: set[str] = set()
    for job in plan.jobs:
        if job.platform != AMD:
            continue
        result.amd_jobs += 1
        if job.mirror_of is not None:
            mirrored.add(str(job.mirror_of))
        amd_suites |= _check_amd(job, by_job.get(id(job), []), matcher, result)
    for job in plan.jobs:
        if job.platform != NVIDIA:
            continue
        result.nvidia_jobs += 1
        if str(job.location) in mirrored:
            continue
        _check_twin(job, by_job.get(id(job), []), matcher, amd_suites, result)
    result.findings.sort(key=lambda f: (f.file, f.line, f.kind))
    return result


def _check_amd(
    job: vllmjobs.Job, instances: list[Instance], matcher: Matcher, result: Check
) -> set[str]:
    """The suites the job runs; its disagreements added to the result."""
    target, note = matcher.target(job)
    where = f"{job.location.file}:"
    if target is None:
        result.findings.append(_finding(job, "no-session", note))
        return set()
    problems: list[tuple[str, str]] = []
    suites: set[str] = set()
    runs = 0
    for command in job.commands:
        name = matcher.nox_session(command)
        if name is None:
            continue
        runs += 1
        key = matcher.sessions.get(name)
        if key is None:
            problems.append(
                (
                    "no-session",
                    f"line {command.line}: no session {name} in the skiplists",
                )
            )
        elif key.platform != target.platform.name or key.variant != target.variant_name:
            problems.append(
                (
                    "differs",
                    f"line {command.line}: runs {name}, a session of {key.target}",
                )
            )
        else:
            suites.add(key.suite)
    for instance in instances:
        runs += 1
        found = matcher.match(instance, target)
        if found.suite is not None:
            suites.add(found.suite.name)
        if found.status == "exact":
            continue
        if found.status == "unmapped":
            result.unchecked.append(
                f"{where}{instance.command.line}: job '{job.label}' ({job.target}): "
                f"not checked: {found.detail}"
            )
            continue
        problems.append((found.status, f"line {instance.command.line}: {found.detail}"))
    if not runs:
        result.unchecked.append(
            f"{job.location}: job '{job.label}' ({job.target}): not checked: no "
            "pytest or nox command"
        )
    if problems:
        kinds = [k for k, _ in problems]
        kind = "differs" if "differs" in kinds else kinds[0]
        message = "; ".join(p for _, p in problems)
        if note:
            message += f" ({note})"
        result.findings.append(_finding(job, kind, message))
    elif runs:
        result.amd_agree += 1
    return suites


def _check_twin(
    job: vllmjobs.Job,
    instances: list[Instance],
    matcher: Matcher,
    amd_suites: set[str],
    result: Check,
) -> None:
    target, _ = matcher.target(job)
    rocm = matcher.workspace.platforms.get(AMD)
    if target is None or rocm is None:
        return
    rocm_targets = [Target(rocm)] + [Target(rocm, v) for v in rocm.variants.values()]
    missing: list[str] = []
    for instance in instances:
        found = matcher.match(instance, target)
        suite = found.suite
        if suite is None or suite.name in amd_suites:
            continue
        on = [t.name for t in rocm_targets if runs_on(suite, t)]
        if on and suite.name not in missing:
            missing.append(f"{suite.name} (runs on {', '.join(on)})")
    if missing:
        message = (
            "no AMD twin (no mirror: amd: block, no AMD job runs it), but the "
            f"skiplists run {'; '.join(missing)}"
        )
        result.findings.append(_finding(job, "no-twin", message))


def _finding(job: vllmjobs.Job, kind: str, message: str) -> Finding:
    return Finding(
        job.location.file, job.location.line, job.label, job.target, kind, message
    )


def lines(result: Check) -> list[str]:
    totals = result.totals()
    out = [f.text() for f in result.findings]
    out += result.unchecked
    kinds = totals["by_kind"]
    lost = kinds.get("lost-job", 0) + kinds.get("lost-files", 0)
    since = f"{lost} losing coverage since the baseline; " if lost else ""
    out.append(
        f"testmatrix check-vllm: {totals['amd_jobs']} AMD jobs: "
        f"{totals['amd_agree']} agree with the skiplists, "
        f"{totals['amd_disagree']} disagree; {totals['nvidia_jobs']} NVIDIA jobs: "
        f"{totals['nvidia_without_twin']} without the AMD twin the skiplists "
        f"expect; {since}{totals['unchecked_commands']} commands not checked; "
        f"{totals['findings']} findings"
    )
    return out
