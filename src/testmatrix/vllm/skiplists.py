"""Write imports as skiplist files.

A generic pipeline's --ignore flags (bkimport): the platform file always, suites.toml
when there is none; with one, imported suites are first rebased onto its suites.
vLLM's CI (importplan): suites.toml and one file per platform, staged beside the
skiplist directory so the import can prove them before they replace anything.
"""

from __future__ import annotations

import posixpath

from testmatrix.config.writer import toml_array, toml_string, toml_table
from testmatrix.vllm.planmodel import ImportPlan, PlatformPlan


def _reasons(reasons: dict[str, str], base: str) -> str:
    """One exclude_reason for a suite's excludes: the shared one, or each path's."""
    distinct = list(dict.fromkeys(reasons.values()))
    if len(distinct) == 1:
        return distinct[0]
    return "; ".join(
        f"{posixpath.relpath(target, base) if base else target}: {reason}"
        for target, reason in reasons.items()
    )


def render_plan(plan: ImportPlan, sources: str) -> dict[str, str]:
    """{path relative to the skiplist directory: TOML text} for an import plan."""
    files = {"suites.toml": _suites_text(plan, sources)}
    for platform in plan.platforms.values():
        files[f"platforms/{platform.name}.toml"] = _platform_text(platform, sources)
    return files


def _suites_text(plan: ImportPlan, sources: str) -> str:
    whole = set(plan.platforms)  # a suite on all of them needs no 'platforms'
    lines = [
        f"# Suites imported by testmatrix from {sources}.",
        "# One per pytest selection of the CI: its paths minus excludes, -m, -k,",
        "# environment and arguments. Edit freely; `testmatrix import --force` writes",
        "# them again.",
    ]
    groups: dict[str, list] = {}
    for suite in plan.suites.values():
        groups.setdefault(suite.group, []).append(suite)
    for group, suites in groups.items():
        lines += ["", f"# -- {group} " + "-" * max(3, 76 - len(group))]
        for suite in suites:
            first = suite.first
            lines += ["", f"[suites.{suite.name}]"]
            if len(suite.paths) == 1:
                lines.append(f"path = {toml_string(suite.paths[0])}")
            else:
                lines.append(f"paths = {toml_array(suite.paths)}")
            lines.append(f"description = {toml_string(suite.description)}")
            base = suite.base
            if suite.exclude_reasons:
                shown = [
                    posixpath.relpath(t, base) if base else t
                    for t in suite.exclude_reasons
                ]
                lines.append(f"exclude = {toml_array(shown)}")
                reason = _reasons(suite.exclude_reasons, base)
                lines.append(f"exclude_reason = {toml_string(reason)}")
            if first.markexpr:
                lines.append(f"markexpr = {toml_string(first.markexpr)}")
            if first.keyword:
                lines.append(f"keyword = {toml_string(first.keyword)}")
            if first.env:
                lines.append(f"env = {toml_table(dict(sorted(first.env.items())))}")
            if first.args:
                lines.append(f"args = {toml_array(first.args)}")
            if suite.gpus != 1:
                lines.append(f"gpus = {suite.gpus}")
            if set(suite.places) != whole:
                lines.append(f"platforms = {toml_array(suite.places)}")
                lines.append(
                    "platforms_reason = "
                    + toml_string(
                        "imported: the CI runs this selection only there "
                        f"({', '.join(suite.places)})"
                    )
                )
            buildkite: dict[str, object] = {}
            if suite.parallelism:
                buildkite["parallelism"] = suite.parallelism
            if suite.timeout_in_minutes:
                buildkite["timeout_in_minutes"] = suite.timeout_in_minutes
            if suite.soft_fail:
                buildkite["soft_fail"] = True
            if buildkite:
                lines.append(f"buildkite = {toml_table(buildkite)}")
    return "\n".join(lines) + "\n"


def _platform_text(platform: PlatformPlan, sources: str) -> str:
    lines = [
        f"# Imported by testmatrix from {sources}; edit freely.",
        "",
        "[platform]",
        f"description = {toml_string(platform.description)}",
        f"hardware = {toml_string(platform.hardware)}",
    ]
    for variant in platform.variants.values():
        lines += ["", f"[variants.{variant.name}]"]
        lines.append(f"description = {toml_string(variant.description)}")
        if variant.match:
            lines.append(f"match = {toml_array(variant.match)}")
        elif variant.shares:
            lines.append(
                f"# detection cannot tell it from {variant.shares} (the same hardware "
                f"target): run its sessions with --variant {variant.name}"
            )
        if variant.agent_pool:
            pool = {"agents": {"agent_pool": variant.agent_pool}}
            lines.append(f"buildkite = {toml_table(pool)}")
    suite = None
    for entry in platform.entries:
        if entry.suite != suite:
            suite = entry.suite
            lines += ["", f"# -- suite {suite} " + "-" * max(3, 70 - len(suite))]
        lines.append("")
        shown = ", ".join(str(s) for s in entry.sources[:4])
        more = len(entry.sources) - 4
        lines.append(f"# from {shown}" + (f" and {more} more" if more > 0 else ""))
        if entry.kind == "ignore":
            lines += ["[[ignore]]", f"suite = {toml_string(entry.suite)}"]
            lines.append(f"paths = {toml_array(entry.paths)}")
        else:
            lines += ["[[deselect]]", f"tests = {toml_array(entry.paths)}"]
        if entry.variants:
            lines.append(f"variants = {toml_array(entry.variants)}")
        lines.append(f"reason = {toml_string(entry.reason)}")
        if entry.issue:
            lines.append(f"issue = {toml_string(entry.issue)}")
    return "\n".join(lines) + "\n"
