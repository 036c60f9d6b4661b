"""What an import plan reports: flag counts, each --ignore/--deselect flag and what it
became, job notes, dropped output-only flags."""

from __future__ import annotations

import posixpath
from collections import Counter

from testmatrix.vllm.naming import exclude_reason, ignore_reason
from testmatrix.vllm.planmodel import ImportPlan, Instance


def counts(instances: list[Instance]) -> Counter:
    """How many flags each decision kind took."""
    return Counter(d.kind for i in instances for d in i.decisions)


def _entry_variants(plan: ImportPlan, instance: Instance, target: str) -> tuple | None:
    """The variants of the [[ignore]] entry that holds a path for a command's suite
    (() for the whole platform); None when no entry does."""
    platform = plan.platforms.get(instance.platform)
    suite = plan.suites.get(instance.suite or "")
    if platform is None or suite is None:
        return None
    shown = posixpath.relpath(target, suite.base) if suite.base else target
    for entry in platform.entries:
        here = not entry.variants or instance.variant in entry.variants
        mine = entry.kind == "ignore" and entry.suite == suite.name
        if mine and here and shown in entry.paths:
            return entry.variants
    return None


def flag_records(plan: ImportPlan) -> list[dict]:
    """Every --ignore flag: where, which command, and what became of it, and why."""
    out: list[dict] = []
    for instance in plan.instances:
        base = {
            "label": instance.job.label,
            "platform": instance.platform,
            "variant": instance.variant,
            "suite": instance.suite,
        }
        if instance.unmapped is not None:
            call = instance.call
            for value in call.ignores if call else ():
                out.append(
                    {
                        "file": instance.job.location.file,
                        "line": instance.command.line,
                        "flag": f"--ignore={value}",
                        **base,
                        "decision": "not-mapped",
                        "rule": "its command is not mapped",
                        "reason": instance.unmapped,
                        "issue": None,
                        "variants": None,
                    }
                )
            continue
        for decision in instance.decisions:
            if decision.kind == "exclude":
                reason = exclude_reason(decision)
            elif decision.kind == "ignore":
                reason = ignore_reason(decision, instance)
            else:
                reason = decision.rule
            variants = (
                _entry_variants(plan, instance, decision.target)
                if decision.kind == "ignore"
                else None
            )
            out.append(
                {
                    "file": instance.job.location.file,
                    "line": decision.site.line,
                    "flag": decision.text,
                    **base,
                    "decision": decision.kind,
                    "rule": decision.rule,
                    "reason": reason,
                    "issue": decision.issue,
                    "variants": list(variants) if variants is not None else None,
                }
            )
    return out


def flag_lines(plan: ImportPlan) -> list[str]:
    lines = []
    for record in flag_records(plan):
        where = record["platform"] + (
            f":{record['variant']}" if record["variant"] else ""
        )
        head = f"{record['file']}:{record['line']}: {record['flag']} ({where})"
        kind = record["decision"]
        if kind == "exclude":
            what = f"exclude in suite {record['suite']} ({record['rule']})"
        elif kind == "ignore":
            variants = record["variants"]
            scope = (
                f"{record['platform']} ignore on {', '.join(variants)}"
                if variants
                else f"{record['platform']} ignore"
            )
            what = f"{scope} for suite {record['suite']} ({record['rule']})"
        elif kind == "dropped":
            what = "not written"
        else:
            what = "not mapped"
        lines.append(f"{head}: {what}: {record['reason']}")
    return lines


def job_notes(plan: ImportPlan) -> list[str]:
    return [
        f"{job.location}: step '{job.label}' ({job.target}): {note}"
        for job in plan.jobs
        for note in job.notes
    ]


def dropped_flags(plan: ImportPlan) -> Counter:
    """How often each output-only flag was dropped (shellcmd.OUTPUT_ONLY's rule)."""
    return Counter(flag for i in plan.instances for flag in i.call.dropped)
