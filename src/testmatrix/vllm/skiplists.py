"""An import plan written as skiplist files: suites.toml and one file per platform."""

from __future__ import annotations

import posixpath
import re
from collections import Counter

from testmatrix.config.writer import toml_array, toml_string, toml_table
from testmatrix.vllm.planmodel import (
    ImportPlan,
    Override,
    PlatformPlan,
    RunPlan,
    SuitePlan,
)


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
    whole = list(plan.platforms)  # a suite on all of them needs no 'platforms'
    lines = [
        f"# Suites imported by testmatrix from {sources}.",
        "# One per CI step: its pytest commands are its runs, its twins on other",
        "# targets are 'on' overrides. Edit freely; import --force writes them again.",
    ]
    groups: dict[str, list[SuitePlan]] = {}
    for suite in plan.suites.values():
        groups.setdefault(suite.group, []).append(suite)
    taken: set[str] = set()
    for group, suites in groups.items():
        name = _group_name(group, taken)
        shared = _shared(suites, whole)
        lines += ["", f"# -- {group} " + "-" * max(3, 76 - len(group))]
        body: list[str] = []
        named = False
        for suite in suites:
            # a suite names the group where that says less than its own keys would
            alone = _suite_lines(suite, {}, whole)
            grouped = [f"group = {toml_string(name)}"]
            grouped += _suite_lines(suite, shared, whole)
            mine = grouped if len(grouped) < len(alone) else alone
            named = named or mine is grouped
            body += ["", f"[suites.{suite.name}]", *mine]
        if named:
            lines += ["", f"[groups.{name}]", *_keys(shared)]
        lines += body
    return "\n".join(lines) + "\n"


def _group_name(group: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", group.lower()).strip("-") or "group"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name


def _settings(suite: SuitePlan, whole: list[str]) -> dict[str, object]:
    """The suite's keys a group may share: gpus, platforms, Buildkite's."""
    out: dict[str, object] = {"gpus": suite.gpus}
    out["platforms"] = tuple(suite.places) if suite.places != whole else None
    buildkite: dict[str, object] = {}
    if suite.parallelism:
        buildkite["parallelism"] = suite.parallelism
    if suite.timeout_in_minutes:
        buildkite["timeout_in_minutes"] = suite.timeout_in_minutes
    if suite.soft_fail:
        buildkite["soft_fail"] = True
    for key, value in buildkite.items():
        out[f"buildkite.{key}"] = value
    return out


def _shared(suites: list[SuitePlan], whole: list[str]) -> dict[str, object]:
    """What most of a group's suites say, written once in the group."""
    counts: dict[str, Counter] = {}
    for suite in suites:
        for key, value in _settings(suite, whole).items():
            counts.setdefault(key, Counter())[value] += 1
    shared: dict[str, object] = {}
    for key, counter in counts.items():
        value, count = counter.most_common(1)[0]
        # a key some suite lacks would reach it from the group: shared only where
        # every suite says it (gpus and platforms it always says)
        everyone = sum(counter.values()) == len(suites)
        worth = count > 1 and value is not None and (key != "gpus" or value != 1)
        if worth and everyone:
            shared[key] = value
    if any(s.places != whole for s in suites):
        shared["platforms_reason"] = (
            "imported: the CI runs each suite only where its platforms say"
        )
    return shared


def _keys(values: dict[str, object]) -> list[str]:
    """TOML lines for flat keys, buildkite.* gathered into one inline table."""
    lines: list[str] = []
    buildkite = {k.split(".", 1)[1]: v for k, v in values.items() if "." in k}
    for key, value in values.items():
        if "." in key or value is None:
            continue
        if isinstance(value, tuple):
            lines.append(f"{key} = {_array(value)}")
        elif isinstance(value, str):
            lines.append(f"{key} = {toml_string(value)}")
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        else:
            lines.append(f"{key} = {value}")
    if buildkite:
        lines.append(f"buildkite = {toml_table(buildkite)}")
    return lines


def _suite_lines(
    suite: SuitePlan, shared: dict[str, object], whole: list[str]
) -> list[str]:
    lines: list[str] = []
    if len(suite.runs) == 1:
        run = suite.runs[0]
        fields = _run_fields(run)
        lines += [f"{k} = {v}" for k, v in fields.items() if k != "on"]
        lines.append(f"description = {toml_string(suite.description)}")
        overrides = {**suite.overrides, **run.overrides}
    else:
        lines.append(f"description = {toml_string(suite.description)}")
        each = [_run_fields(run) for run in suite.runs]
        # what every run says is the suite's, said once (runs take it as default)
        common = {
            k: v
            for k, v in each[0].items()
            if k in _DEFAULTS and all(f.get(k) == v for f in each)
        }
        lines += [f"{k} = {v}" for k, v in common.items()]
        lines.append("runs = [")
        for fields in each:
            inner = ", ".join(
                f"{k} = {v}" for k, v in fields.items() if k not in common
            )
            lines.append(f"  {{ {inner} }},")
        lines.append("]")
        overrides = suite.overrides
    for target, override in overrides.items():
        lines.append(f"on.{_target_key(target)} = {_override(override)}")
    mine = _settings(suite, whole)
    defaults: dict[str, object] = {"gpus": 1, "platforms": None}
    own = {k: v for k, v in mine.items() if shared.get(k, defaults.get(k)) != v}
    if "platforms" in shared and mine.get("platforms") is None:
        own["platforms"] = tuple(whole)  # everywhere, where the group says less
    if own.get("platforms") is not None and "platforms_reason" not in shared:
        own["platforms_reason"] = "imported: the CI runs it only there"
    lines += _keys(own)
    return lines


# run keys a suite may give once for all its runs
_DEFAULTS = ("markexpr", "keyword", "env", "args")


def _run_fields(run: RunPlan) -> dict[str, str]:
    """A run's selection as TOML values, by key."""
    out: dict[str, str] = {}
    if len(run.paths) == 1:
        out["path"] = toml_string(run.paths[0])
    else:
        out["paths"] = _array(run.paths)
    base = run.base
    if run.exclude_reasons:
        shown = [posixpath.relpath(t, base) if base else t for t in run.exclude_reasons]
        out["exclude"] = _array(shown)
        out["exclude_reason"] = toml_string(_reasons(run.exclude_reasons, base))
    if run.markexpr:
        out["markexpr"] = toml_string(run.markexpr)
    if run.keyword:
        out["keyword"] = toml_string(run.keyword)
    if run.env:
        out["env"] = toml_table(run.env)
    if run.args:
        out["args"] = _array(run.args)
    if run.overrides:
        inner = ", ".join(
            f"{_target_key(t)} = {_override(o)}" for t, o in run.overrides.items()
        )
        out["on"] = f"{{ {inner} }}"
    return out


def _array(items: list[str] | tuple[str, ...]) -> str:
    """A one-line TOML array of strings (it may stand inside an inline table)."""
    return "[" + ", ".join(toml_string(i) for i in items) + "]"


def _target_key(target: str) -> str:
    return target if ":" not in target else toml_string(target)


def _override(override: Override) -> str:
    parts: list[str] = []
    if override.markexpr is not None:
        parts.append(f"markexpr = {toml_string(override.markexpr)}")
    if override.keyword is not None:
        parts.append(f"keyword = {toml_string(override.keyword)}")
    if override.env:
        parts.append(f"env = {toml_table(override.env)}")
    if override.args is not None:
        parts.append(f"args = {_array(override.args)}")
    parts.append(f"reason = {toml_string(override.reason)}")
    return "{ " + ", ".join(parts) + " }"


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
