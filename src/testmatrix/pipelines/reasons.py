"""Reasons for the [[deselect]] entries of a plain import, from the pipeline's comments.

The planner gives every deselect one reason ("imported: the command deselects it");
a plain pipeline often says why beside the flag or above its command. The entries are
split by the reason each test's comment gives; a link in it becomes the issue.
"""

from __future__ import annotations

import re

from testmatrix.ci.yamlsrc import URL
from testmatrix.vllm.planmodel import EntryPlan, ImportPlan, Instance

DEFAULT = "imported: the command deselects it"


def deselect_reasons(plan: ImportPlan) -> None:
    """Give each deselect entry's tests the reason their commands' comments give."""
    found: dict[tuple[str, str], tuple[str, str | None]] = {}
    for instance in plan.instances:
        for nodeid, given in _reasons(instance).items():
            found.setdefault((instance.platform, nodeid), given)
    for platform in plan.platforms.values():
        entries: list[EntryPlan] = []
        for entry in platform.entries:
            if entry.kind != "deselect" or entry.reason != DEFAULT:
                entries.append(entry)
                continue
            split: dict[tuple[str, str | None], EntryPlan] = {}
            for path in entry.paths:
                reason, issue = found.get((platform.name, path), (DEFAULT, None))
                part = split.get((reason, issue))
                if part is None:
                    part = split[(reason, issue)] = EntryPlan(
                        "deselect",
                        entry.suite,
                        [],
                        entry.variants,
                        reason,
                        issue,
                        entry.sources,
                    )
                part.paths.append(path)
            entries += split.values()
        platform.entries = entries


def _reasons(instance: Instance) -> dict[str, tuple[str, str | None]]:
    """{node id: (reason, issue)} for the deselects a command's comments explain."""
    command = instance.command
    if command.call is None:
        return {}
    sites = command.flags[len(command.call.ignores) :]
    if len(sites) != len(instance.deselects):
        return {}
    above = " ".join(command.above)
    out: dict[str, tuple[str, str | None]] = {}
    for nodeid, site in zip(instance.deselects, sites, strict=True):
        file = nodeid.split("::")[0].rsplit("/", 1)[-1]
        named = re.findall(r"[\w.-]+\.py\b", above)
        text = site.comment or (above if not named or file in named else "")
        reason = re.sub(r"\s+", " ", text or "").strip(" :;,-^")
        if reason:
            links = URL.findall(reason)
            out[nodeid] = (reason, links[0].rstrip(".,;)") if links else None)
    return out
