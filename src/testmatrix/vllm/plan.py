"""CI jobs into suites and platform entries: every decision of the vLLM import.

Each pytest command of a job is an *instance*: on one target (platform, variant) it
selects the files under its paths minus its --ignore paths, narrowed by -m and -k, run
with its environment and arguments. Instances that select alike share a suite.

Each --ignore of an instance is decided by the first rule that holds:
1. another command on the same target runs the path: partitioning, a suite exclude;
2. a twin (a command with the same paths on another target) leaves it out too: the
   split is shared, a suite exclude;
3. a command of another selection on the platform's other variants runs it: the
   platform splits the directory between its agents, a suite exclude;
4. other targets run it (twins included): this platform, or this variant, does not:
   an [[ignore]] entry, on the variants that leave it out;
5. nothing imported runs it: a suite exclude that says so.
Ignores that match nothing (outside the command's paths, missing in the checkout) are
reported and not written: they change no selection.

Pure: jobs and the checkout's file names in, a plan out.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from testmatrix.ci.shell import VALUE_OPTIONS, PytestArgs, read_pytest
from testmatrix.ci.yamlsrc import URL
from testmatrix.config import schema
from testmatrix.core import expression
from testmatrix.core.model import is_glob
from testmatrix.errors import TestmatrixError
from testmatrix.vllm import jobsuites
from testmatrix.vllm.jobs import Job
from testmatrix.vllm.naming import describe_suite, ignore_reason, name_suites
from testmatrix.vllm.planmodel import (
    PLATFORMS,
    Decision,
    EntryPlan,
    ImportPlan,
    Instance,
    PlatformPlan,
    SuitePlan,
    VariantPlan,
    under,
)


def plan(
    jobs: list[Job],
    *,
    exists: Callable[[str], bool],
    checkout_root: str | None = None,
    allow_partial: bool = False,
    glob: Callable[[str], list[str]] | None = None,
) -> ImportPlan:
    """Decide the suites, entries and variants that reproduce every job's pytest
    commands. `exists` tells whether a checkout-relative path exists in the checkout
    being imported into; `glob` what a shell glob matches there. A test path missing
    from it is an error (every one is listed), or with `allow_partial` a command left
    unmapped."""
    notes: list[str] = []
    root = _checkout_root(jobs, checkout_root, exists, notes)
    instances: list[Instance] = []
    errors: list[str] = []
    for job in jobs:
        for command in job.pytest:
            instance = Instance(job, command)
            _resolve(instance, root, exists, errors, allow_partial, glob)
            instances.append(instance)
    if errors:
        raise TestmatrixError("\n".join(errors))
    mapped = [i for i in instances if i.unmapped is None]
    for instance in mapped:
        _decide(instance, instances)
    suites = jobsuites.group(mapped)
    name_suites(suites)
    for suite in suites:
        describe_suite(suite)
        shards = {i.target: i.job.parallelism for i in suite.instances if i.call.shard}
        if len(set(shards.values())) > 1:
            each = ", ".join(f"{t} {n}" for t, n in shards.items())
            notes.append(
                f"suite {suite.name}: the jobs shard it differently ({each}); its "
                f"Buildkite steps use parallelism {suite.parallelism}"
            )
    platforms = _platforms(jobs, suites)
    return ImportPlan(
        root, instances, {s.name: s for s in suites}, platforms, notes, jobs
    )


def _checkout_root(
    jobs: list[Job],
    given: str | None,
    exists: Callable[[str], bool],
    notes: list[str],
) -> str:
    if given is not None:
        return posixpath.normpath(given)
    # only the directories pytest runs in say where the checkout is: a step that runs a
    # script from "/" must not move the root
    dirs = [c.cwd for j in jobs for c in j.pytest if c.cwd]
    if not dirs:
        dirs = [j.working_dir for j in jobs if posixpath.isabs(j.working_dir)]
    if not dirs:
        return "/"
    root = posixpath.commonpath(dirs)
    note = (
        f"taking {root} as the checkout root, the deepest directory holding every "
        "directory pytest runs in; pass --checkout-root to change it"
    )

    def fits(candidate: str) -> bool:
        found = [
            _relative(posixpath.join(c.cwd, p.split("::")[0]), candidate)
            for j in jobs
            for c in j.pytest
            if c.cwd and c.call
            for p in c.call.paths
            if "$" not in p
        ]
        return all(f is not None and exists(f) for f in found)

    candidate = root
    while not fits(candidate) and candidate != "/":
        candidate = posixpath.dirname(candidate)
        if fits(candidate):
            note = (
                f"taking {candidate} as the checkout root: every test path then exists "
                "in the checkout; pass --checkout-root to change it"
            )
            root = candidate
            break
    notes.append(note)
    return root


def _relative(path: str, root: str) -> str | None:
    """An absolute agent path relative to the checkout root; None outside it."""
    path = posixpath.normpath(path)
    if not under(path, root) and root != "/":
        return None
    rel = posixpath.relpath(path, root)
    return None if rel == ".." or rel.startswith("../") else rel


def _resolve(
    instance: Instance,
    root: str,
    exists: Callable[[str], bool],
    errors: list[str],
    allow_partial: bool,
    glob: Callable[[str], list[str]] | None = None,
) -> None:
    """The command's paths relative to the checkout root (node ids and globs as
    written), or why it cannot map."""
    command = instance.command
    assert command.call is not None
    instance.call = command.call
    if command.cwd is None:
        instance.unmapped = f"working directory unknown after '{command.lost}'"
        return
    cwd = _relative(command.cwd, root)
    if cwd is None:
        instance.unmapped = f"runs in {command.cwd}, outside the checkout root {root}"
        return
    here = command.cwd

    def is_path(word: str) -> bool:
        rel = _relative(posixpath.join(here, word.split("::")[0]), root)
        return rel is not None and exists(rel)

    call = instance.call = read_pytest(command.argv, is_path)
    why: list[str] = [f"{flag}: {reason}" for flag, reason in call.unmapped]
    if instance.job.nodes > 1:
        why.append(
            f"the step runs on {instance.job.nodes} nodes (num_nodes), one command "
            "on each"
        )
    if not call.paths:
        why.append(
            "no test path: pytest collects its configured testpaths or the "
            "working directory"
        )
    missing: list[str] = []
    paths = _test_paths(instance, call.paths, root, exists, glob, missing, why)
    if not allow_partial:  # else a missing path leaves the command unmapped
        errors += missing
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            if "::" in a + b or is_glob(a + b):
                continue  # pytest runs a node id inside a directory it runs once
            if under(a, b) or under(b, a):
                why.append(f"paths '{a}' and '{b}' overlap")
    why += _bad_expressions(call)
    instance.paths = tuple(dict.fromkeys(paths))
    instance.args = _carried(call.kept, instance.not_carried)
    live: list[str] = []
    for site in command.flags:
        if site.value not in call.ignores:
            continue  # a --deselect
        target = _relative(posixpath.join(command.cwd, site.value), root)
        dropped = _dropped(target, instance.paths, exists)
        if target is None or dropped:
            why_not = dropped or "outside the checkout: it ignores nothing"
            instance.decisions.append(
                Decision(site, target or site.value, "dropped", why_not)
            )
        elif any(under(p, target) for p in instance.paths):
            why.append(f"--ignore={site.value} ignores all of a test path")
        elif target not in live:
            live.append(target)
            instance.sites[target] = site
    instance.ignores = tuple(live)
    instance.deselects = tuple(
        d
        for written in call.deselects
        if (d := _nodeid(written, command.cwd, root)) is not None
    )
    if len(instance.deselects) != len(call.deselects):
        why.append("a --deselect names a test outside the checkout")
    if why:
        instance.unmapped = "; ".join(why)


def _bad_expressions(call: PytestArgs) -> list[str]:
    """Why the command's -m or -k is no pytest expression, if it is not."""
    out = []
    for flag, text in (("-m", call.markexpr), ("-k", call.keyword)):
        if text is not None:
            try:
                expression.check(text)
            except expression.ExpressionError as exc:
                out.append(f"{flag} '{text}' is not a valid expression: {exc.message}")
    return out


def _test_paths(
    instance: Instance,
    written_paths: tuple[str, ...],
    root: str,
    exists: Callable[[str], bool],
    glob: Callable[[str], list[str]] | None,
    errors: list[str],
    why: list[str],
) -> list[str]:
    """A command's test paths relative to the checkout root: files, directories,
    node ids and globs (expanded by the shell, and so by the session); a missing
    path is an error (noted in `errors`), what no session can run is in `why`."""
    command = instance.command
    assert command.cwd is not None
    paths: list[str] = []
    for written in written_paths:
        file_part, sep, rest = written.partition("::")
        if "$" in written:
            why.append(f"'{written}' names a shell variable, known only when it runs")
            continue
        rel = _relative(posixpath.join(command.cwd, file_part), root)
        if rel is None or rel == ".":
            why.append(f"'{written}' is outside the checkout or all of it")
            continue
        if is_glob(file_part):
            if glob is None or not glob(rel):
                why.append(f"'{written}' is a shell glob matching nothing here")
            else:
                paths.append(rel + sep + rest)
            continue
        if not exists(rel):
            errors.append(
                f"{instance.location}: step '{instance.job.label}': pytest path "
                f"'{written}' ({rel}) is not in the checkout"
            )
            why.append(f"'{written}' ({rel}) is not in the checkout")
            continue
        paths.append(rel + sep + rest)  # a node id stays one: a run may name tests
    return paths


def _dropped(
    target: str | None, paths: tuple[str, ...], exists: Callable[[str], bool]
) -> str | None:
    """Why an --ignore changes no selection, or None when it does."""
    if target is None:
        return "outside the checkout: it ignores nothing"
    if not any(under(target, p) or under(p, target) for p in paths):
        return "outside the command's test paths: it ignores nothing"
    if not exists(target):
        return "matches nothing in the checkout (no such file or directory)"
    return None


def _nodeid(written: str, cwd: str, root: str) -> str | None:
    file_part, sep, rest = written.partition("::")
    rel = _relative(posixpath.join(cwd, file_part), root)
    return None if rel is None else f"{rel}{sep}{rest}"


def _carried(
    kept: tuple[str, ...], not_carried: list[tuple[str, str]]
) -> tuple[str, ...]:
    """The pytest arguments a suite can carry; the others noted with the schema's
    reason (none of them changes which tests are selected)."""
    out: list[str] = []
    i = 0
    while i < len(kept):
        arg = kept[i]
        takes = "=" not in arg and arg in VALUE_OPTIONS and i + 1 < len(kept)
        group = list(kept[i : i + (2 if takes else 1)])
        i += len(group)
        refused = schema.REFUSED_ARG.match(arg)
        if refused:
            not_carried.append((" ".join(group), schema.REFUSED_ARGS[refused.group(1)]))
        else:
            out += group
    return tuple(out)


def _decide(instance: Instance, everyone: list[Instance]) -> None:
    """Classify each live --ignore of a mapped command (the module's rules)."""
    if not instance.ignores:
        return
    others = [d for d in everyone if d is not instance and d.paths]
    mine = set(instance.paths)
    same = [d for d in others if d.target == instance.target]
    twins = [d for d in others if d.target != instance.target and set(d.paths) == mine]
    # on the platform's other variants, commands of other selections: a split
    split = [
        d
        for d in others
        if d.platform == instance.platform
        and d.target != instance.target
        and set(d.paths) != mine
    ]
    elsewhere = [d for d in others if d.target != instance.target]
    for target in instance.ignores:
        site = instance.sites[target]
        # partitioning: a command here runs what this one leaves out (one with
        # another -m or -k runs other tests of the path: not a split of these)
        here = _prefer(
            [d for d in same if d.runs(target) and _covers(d, instance)],
            instance,
            target,
        )
        twin = next((t for t in twins if t.ignores_path(target)), None)
        there = _prefer([d for d in split if d.runs(target)], instance, target)
        anywhere = _prefer([d for d in elsewhere if d.runs(target)], instance, target)
        if here is not None:
            decision = Decision(site, target, "exclude", "another command here runs it")
            decision.runner = here
        elif twin is not None:
            decision = Decision(site, target, "exclude", "its twin leaves it out too")
            decision.twin, decision.runner = twin, there or anywhere
        elif there is not None:
            decision = Decision(
                site, target, "exclude", "another command of the platform runs it"
            )
            decision.runner = there
        elif anywhere is not None:
            decision = Decision(site, target, "ignore", "only other targets run it")
            decision.runner = anywhere
        else:
            decision = Decision(site, target, "exclude", "no imported step runs it")
        decision.comment, decision.issue = _comment_for(decision, instance)
        instance.decisions.append(decision)


def _covers(runner: Instance, instance: Instance) -> bool:
    """Whether a runner's -m and -k choose at least what the instance's would."""
    return runner.markexpr in (None, instance.markexpr) and runner.keyword in (
        None,
        instance.keyword,
    )


def _prefer(found: list[Instance], instance: Instance, target: str) -> Instance | None:
    """The runner a reason names: one of the same step, one that runs exactly the
    path, one with the same -m, one on another platform, else the first."""
    if not found:
        return None

    def rank(d: Instance) -> tuple[bool, bool, bool, bool]:
        return (
            d.job is not instance.job,
            target not in d.paths,
            d.markexpr != instance.markexpr,
            d.platform == instance.platform,
        )

    return min(found, key=rank)


def _mentions(text: str, target: str) -> bool:
    """Whether a note is about this path: it names the file, or names no file."""
    files = re.findall(r"[\w.-]+\.py\b", text)
    return not files or posixpath.basename(target.rstrip("/")) in files


def _comment_for(
    decision: Decision, instance: Instance
) -> tuple[str | None, str | None]:
    """The reason a comment gives (next to the flag, above its command, beside the
    command that runs the path, or the NOTES on either step) and its first link."""
    candidates: list[str] = []
    if decision.site.comment:
        candidates.append(decision.site.comment)
    for block in (instance.command.above, instance.command.below):
        text = " ".join(block)
        if text and _mentions(text, decision.target):
            candidates.append(text)
    runner = decision.runner
    if decision.kind == "exclude" and runner is not None and runner.command.comment:
        candidates.append(runner.command.comment)  # beside the command that runs it
    name = re.escape(posixpath.basename(decision.target.rstrip("/")))
    if re.search(rf"(?<![\w./-]){name}(?![\w-])", instance.job.note):
        candidates.append(instance.job.note)  # NOTES on the step name the file
    for text in candidates:
        reason = re.sub(r"\s+", " ", text).strip(" :;,-^")
        links = URL.findall(reason)
        if reason:
            return reason, links[0].rstrip(".,;)") if links else None
    return None, None


def _platforms(jobs: list[Job], suites: list[SuitePlan]) -> dict[str, PlatformPlan]:
    used = {(i.platform, i.variant) for s in suites for i in s.instances}
    order = list(
        dict.fromkeys(j.platform for j in jobs if (j.platform, j.variant) in used)
    )
    order += [p for p in dict.fromkeys(i[0] for i in used) if p not in order]
    platforms: dict[str, PlatformPlan] = {}
    for name in order:
        description, hardware = PLATFORMS.get(name, (f"{name} agents", "none"))
        platform = PlatformPlan(name, description, hardware)
        platform.variants = _variants(name, jobs, {v for p, v in used if p == name})
        platforms[name] = platform
    for suite in suites:
        for name in dict.fromkeys(i.platform for i in suite.instances):
            platforms[name].entries += _entries(suite, name)
    for platform in platforms.values():
        _deselect_once(platform)
    return platforms


def _deselect_once(platform: PlatformPlan) -> None:
    """A deselect is the platform's, whatever suite it came from: each test id once
    per set of variants (the proof shows a suite it should not reach)."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    kept: list[EntryPlan] = []
    for entry in platform.entries:
        if entry.kind == "deselect":
            entry.paths = [p for p in entry.paths if (p, entry.variants) not in seen]
            seen.update((p, entry.variants) for p in entry.paths)
            if not entry.paths:
                continue
        kept.append(entry)
    platform.entries = kept


def _variants(
    platform: str, jobs: list[Job], used: set[str | None]
) -> dict[str, VariantPlan]:
    found: dict[str, VariantPlan] = {}
    claimed: dict[str, str] = {}  # match (lower-case): variant
    for name in sorted(v for v in used if v):
        mine = [j for j in jobs if j.platform == platform and j.variant == name]
        templates = list(
            dict.fromkeys(j.pool_template for j in mine if j.pool_template)
        )
        devices = list(dict.fromkeys(j.device for j in mine if j.device))
        if platform == "rocm":
            wanted = list(dict.fromkeys(g for j in mine for g in j.gfx))
            pool = templates[0] if templates else None
            what = f"agent pool {pool}" if pool else f"device {', '.join(devices)}"
            gfx = ", ".join(wanted) or "gfx target unknown"
            description = f"AMD {name.upper()} agents ({what}, {gfx})"
        else:
            found_name = re.match(r"[a-z]+\d+", name)
            wanted = [found_name.group().upper()] if found_name else []
            pool = None
            description = (
                f"NVIDIA agents of vLLM's device '{', '.join(devices) or name}'"
            )
        match = [m for m in wanted if m.lower() not in claimed]
        shares = next(
            (claimed[m.lower()] for m in wanted if m.lower() in claimed), None
        )
        for m in match:
            claimed[m.lower()] = name
        found[name] = VariantPlan(name, description, match, pool, shares)
    return found


def _entries(suite: SuitePlan, platform: str) -> list[EntryPlan]:
    """The platform's entries for a suite, run by run (an ignore holds in the runs
    whose paths hold its path)."""
    out: list[EntryPlan] = []
    for run in suite.runs:
        for entry in _run_entries(suite, run.instances, platform):
            same = next((e for e in out if _same_entry(e, entry)), None)
            if same is None:
                out.append(entry)
                continue
            same.paths += [p for p in entry.paths if p not in same.paths]
            same.sources += [s for s in entry.sources if s not in same.sources]
    return out


def _same_entry(a: EntryPlan, b: EntryPlan) -> bool:
    return (a.kind, a.variants, a.reason, a.issue) == (
        b.kind,
        b.variants,
        b.reason,
        b.issue,
    )


def _run_entries(
    suite: SuitePlan, instances: list[Instance], platform: str
) -> list[EntryPlan]:
    here = [i for i in instances if i.platform == platform]
    if not here:
        return []
    by_variant: dict[str | None, Instance] = {}
    for instance in here:
        by_variant.setdefault(instance.variant, instance)
    if None in by_variant:
        common = set(by_variant[None].entries)
    else:
        # the suite runs on these variants only, so its ignores may as well hold on
        # the whole platform; a deselect reaches every suite holding its file
        common = set.intersection(*(set(i.entries) for i in by_variant.values()))
        common = {item for item in common if item[0] == "ignore"}
    holds: dict[tuple[str, str], list[str | None]] = {}
    for variant, instance in by_variant.items():
        for item in sorted(instance.entries):
            if item in common:
                holds.setdefault(item, [None])
            else:
                holds.setdefault(item, []).append(variant)
    grouped: dict[tuple, EntryPlan] = {}
    base = suite.base
    for (kind, value), variants in holds.items():
        names = tuple(sorted(v for v in variants if v))
        if None in variants:
            names = ()
        sources = [
            i
            for i in here
            if (kind, value) in i.entries and (not names or i.variant in names)
        ]
        instance = sources[0]
        if kind == "ignore":
            decision = next(d for d in instance.decisions if d.target == value)
            reason, issue = ignore_reason(decision, instance), decision.issue
            shown = posixpath.relpath(value, base) if base else value
        else:
            reason = "imported: the command deselects it"
            issue = None
            shown = value
        key = (kind, names, reason, issue)
        entry = grouped.get(key)
        if entry is None:
            entry = grouped[key] = EntryPlan(
                kind, suite.name, [], names, reason, issue, []
            )
        entry.paths.append(shown)
        for source in sources:
            if source.location not in entry.sources:
                entry.sources.append(source.location)
    return list(grouped.values())
