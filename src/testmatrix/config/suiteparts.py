"""What a suite table may hold beyond one selection: the defaults of its group, the
runs of a suite that is a CI job, and what differs per platform or variant."""

from __future__ import annotations

import copy
from typing import Any, Protocol

from testmatrix.config import schema
from testmatrix.config.tomlpos import Located
from testmatrix.core.model import (
    BuildkiteSettings,
    Exclude,
    Location,
    Override,
    Platform,
    Suite,
    frozen_map,
)
from testmatrix.errors import Problem, unknown

Values = dict[str, Any]


class Reader(Protocol):
    """What these functions use of the skiplist reader (`reader.Reader`)."""

    problems: list[Problem]
    broken_platforms: set[str]

    def error(self, doc: Located, key: tuple, message: str) -> None: ...

    def suite_paths(
        self, doc: Located, key: tuple, name: str, values: Values
    ) -> list[str]: ...

    def excludes(
        self,
        doc: Located,
        key: tuple,
        name: str,
        paths: tuple[str, ...],
        values: Values,
    ) -> tuple[Exclude, ...]: ...


MERGED = ("env", "buildkite")  # a group's tables merge key by key under the suite's


def with_groups(reader: Reader, doc: Located) -> Located:
    """The suites file with each suite's group keys filled in where the suite gives
    none (a copy: positions stay those of the file)."""
    data = copy.deepcopy(doc.data)
    groups = data.get("groups")
    suites = data.get("suites")
    if not isinstance(suites, dict):
        return doc
    groups = groups if isinstance(groups, dict) else {}
    for name, table in suites.items():
        if not isinstance(table, dict):
            continue
        group = table.get("group")
        if isinstance(group, str) and group in groups:
            shared = groups[group] if isinstance(groups[group], dict) else {}
            for key, value in shared.items():
                if key == "description":
                    continue
                mine = table.get(key)
                if key not in table:
                    table[key] = copy.deepcopy(value)
                elif key in MERGED and isinstance(mine, dict):
                    table[key] = {**value, **mine} if isinstance(value, dict) else mine
        elif isinstance(group, str):
            reader.error(
                doc, ("suites", name, "group"), unknown("group", group, groups)
            )
        given = "platforms" in table and "platforms_reason" not in table
        if isinstance(group, str) and given:
            label = f"[suites.{name}]"
            reader.error(
                doc,
                ("suites", name, "platforms"),
                schema.RUNS_ON_REASON.format(label=label),
            )
    return Located(doc.rel, data, doc.positions)


def overrides(doc: Located, key: tuple, tables: dict[str, Values]) -> tuple:
    """The [...on.TARGET] tables of a suite or run, platforms before variants."""
    found = [
        Override(
            target=target,
            reason=values["reason"] or "",
            location=doc.loc(*key, "on", target),
            env=values["env"] or frozen_map(),
            markexpr=values["markexpr"],
            keyword=values["keyword"],
            args=values["args"],
        )
        for target, values in (tables or {}).items()
    ]
    return tuple(sorted(found, key=lambda o: ":" in o.target))


def job_suite(
    reader: Reader,
    doc: Located,
    name: str,
    values: Values,
    buildkite: BuildkiteSettings,
) -> Suite | None:
    """A suite of several pytest runs: each run a Suite of the same name, with the
    suite's keys as its defaults; the suite's paths are every run's."""
    key = ("suites", name)
    shared = overrides(doc, key, values["on"])
    runs: list[Suite] = []
    for index, table in values["runs"]:
        rkey = (*key, "runs", index)
        given = table if table["path"] or table["paths"] else values
        paths = reader.suite_paths(doc, rkey, name, given)
        if not paths:
            continue
        merged = {k: table[k] if table[k] is not None else values[k] for k in table}
        if table["exclude"] is None and values["exclude"] is not None:
            merged["exclude_reason"] = values["exclude_reason"]
        env = {**(values["env"] or {}), **(table["env"] or {})}
        own = overrides(doc, rkey, table["on"])
        runs.append(
            Suite(
                name=name,
                paths=tuple(paths),
                description=table["description"] or values["description"] or "",
                location=doc.loc(*rkey),
                excludes=reader.excludes(doc, rkey, name, tuple(paths), merged),
                markexpr=merged["markexpr"],
                keyword=merged["keyword"],
                env=frozen_map(env),
                args=merged["args"] or (),
                gpus=values["gpus"],
                durations=values["durations"],
                run=len(runs) + 1,
                overrides=(*shared, *own),
            )
        )
    if len(runs) != len(values["runs"]):
        return None
    every = tuple(dict.fromkeys(p for run in runs for p in run.paths))
    return Suite(
        name=name,
        paths=every,
        description=values["description"] or runs[0].description or "",
        location=doc.loc(*key),
        gpus=values["gpus"],
        runs_on=values["platforms"],
        runs_on_reason=values["platforms_reason"] or "",
        reruns=values["reruns"],
        reruns_delay=values["reruns_delay"],
        durations=values["durations"],
        buildkite=buildkite,
        runs=tuple(runs),
        overrides=shared,
        group=values["group"],
    )


def check_overrides(
    reader: Reader,
    doc: Located,
    suites: dict[str, Suite],
    platforms: dict[str, Platform],
) -> None:
    """Each target an override names is a declared platform or platform:variant."""
    for suite in suites.values():
        seen: set[Location] = set()
        every = [*suite.overrides, *(o for r in suite.runs for o in r.overrides)]
        for override in every:
            if override.location in seen:
                continue  # the suite's own, which each run holds too
            seen.add(override.location)
            platform_name, _, variant = override.target.partition(":")
            if platform_name in reader.broken_platforms:
                continue
            platform = platforms.get(platform_name)
            if platform is None:
                message = unknown("platform", platform_name, platforms)
            elif variant and variant not in platform.variants:
                noun = f"{platform_name} variant"
                message = unknown(noun, variant, platform.variants)
            else:
                continue
            at = override.location
            reader.problems.append(Problem(at.file, at.line, message))
