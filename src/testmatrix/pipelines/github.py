"""A GitHub Actions workflow's jobs as CI jobs.

Each job, once per combination of its `strategy.matrix` (include and exclude applied,
`${{ matrix.NAME }}` filled in), is one CI job on the platform its `runs-on` labels
tell (see `runners`). Its `run:` steps are its commands, each step a shell of its own
starting in its `working-directory` (else `defaults.run.working-directory` of the job,
then of the workflow) under the workspace; `env` merges workflow < job < step, plus
what earlier steps wrote to $GITHUB_ENV. Values known only when the workflow runs
(`${{ secrets.X }}`) are not carried, and noted. Reusable-workflow jobs, matrices
given by an expression, and `run:` steps in another shell than bash are listed as not
read.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testmatrix.ci.yamlsrc import Source, compose, construct, line_of
from testmatrix.ci.yamlsrc import mapping_value as value_of
from testmatrix.core.model import Location
from testmatrix.errors import TestmatrixError
from testmatrix.pipelines.common import (
    GITHUB_MATRIX,
    Reading,
    Unread,
    check_size,
    printable,
    product,
    scalar_text,
    substitute,
    with_values,
)
from testmatrix.pipelines.runners import Runners
from testmatrix.pipelines.script import Builder, Item
from testmatrix.vllm.jobs import Command, FileSummary, Job

if TYPE_CHECKING:
    import yaml

WORKSPACE = "/github/workspace"  # $GITHUB_WORKSPACE, as container actions see it
WORKSPACE_REFS = re.compile(
    r"\$\{\{\s*github\.workspace\s*\}\}|\$\{GITHUB_WORKSPACE\}|\$GITHUB_WORKSPACE\b"
)
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
LINUX_JOB = re.compile(r"/\.github/workflows/linux_job[\w.-]*\.ya?ml@")


def read(
    path: Path,
    shown: str,
    reading: Reading,
    runners: Runners,
    wrappers: Sequence[str],
    checkout_root: str | None = None,
) -> None:
    """Every job of one workflow file into `reading`; `checkout_root`: where the
    checkout is on the runners (default /github/workspace)."""
    import yaml

    check_size(path, shown)
    text, root = compose(path, shown)
    jobs = value_of(root, "jobs")
    if not isinstance(jobs, yaml.MappingNode):
        raise TestmatrixError(f"{shown}:1: not a GitHub workflow: no 'jobs' mapping")
    top = construct(root, Path(shown))
    reader = _Reader(shown, Source(text), runners, wrappers, reading)
    try:
        reader.env = _env(top.get("env"))
    except ValueError as exc:
        raise TestmatrixError(f"{shown}:1: workflow 'env': {exc}") from None
    reader.workdir = _defaults(top)
    reader.shell = _default_shell(top)
    reader.workspace = checkout_root or WORKSPACE
    name = str(top.get("name") or Path(shown).stem)
    before = len(reading.jobs)
    for key, node in jobs.value:
        reader.job(str(key.value), key, node, name)
    mine = reading.jobs[before:]
    reading.files.append(
        FileSummary(
            shown,
            "github",
            len(jobs.value),
            len(mine),
            sum(len(j.pytest) for j in mine),
            sum(len(c.flags) for j in mine for c in j.commands),
        )
    )


def _env(value: Any) -> dict[str, str]:
    """An `env` mapping; ValueError for anything else (an expression: known only
    when the workflow runs)."""
    if value is None:
        return {}
    if isinstance(value, str) and "${{" in value:
        raise ValueError(
            "its 'env' is an expression, known only when the workflow runs"
        )
    if not isinstance(value, dict):
        raise ValueError(f"its 'env' must be a mapping, not {value!r}")
    return {str(k): scalar_text(v) for k, v in value.items()}


def _defaults(data: dict) -> str | None:
    run = (data.get("defaults") or {}).get("run") or {}
    found = run.get("working-directory") if isinstance(run, dict) else None
    return str(found) if found is not None else None


def _default_shell(data: dict) -> str | None:
    run = (data.get("defaults") or {}).get("run") or {}
    return str(run["shell"]) if isinstance(run, dict) and run.get("shell") else None


def _labels(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [scalar_text(v) for v in value]
    if isinstance(value, dict):
        labels = value.get("labels") or []
        labels = [labels] if isinstance(labels, str) else list(labels)
        group = [value["group"]] if value.get("group") else []
        return [scalar_text(v) for v in [*labels, *group]]
    return []


def matrix(spec: Any) -> list[dict[str, Any]]:
    """The combinations of a `strategy.matrix`, as GitHub forms them: the product of
    its lists, less `exclude`, with `include` added to the combinations whose
    original values it does not change, else a combination of its own."""
    if spec is None:
        return [{}]
    if not isinstance(spec, dict):
        raise ValueError(
            "the matrix is an expression, known only when the workflow runs"
        )
    dims = {
        str(k): v if isinstance(v, list) else [v]
        for k, v in spec.items()
        if k not in ("include", "exclude")
    }
    if any(isinstance(v, str) and "${{" in v for v in spec.values()):
        raise ValueError("a matrix value is an expression, known only at run time")
    combos = product(dims) if dims else []
    for out in spec.get("exclude") or []:
        if isinstance(out, dict):
            combos = [
                c for c in combos if not all(c.get(k) == v for k, v in out.items())
            ]
    added: list[dict[str, Any]] = []
    for extra in spec.get("include") or []:
        if not isinstance(extra, dict):
            raise ValueError("an include entry must be a mapping")
        hit = False
        for combo in combos:
            if all(combo.get(k) == v for k, v in extra.items() if k in dims):
                combo.update(extra)
                hit = True
        if not hit:
            added.append(dict(extra))
    combos += added
    if not combos:
        raise ValueError("the matrix has no combination")
    return combos


def _lookup(values: dict[str, Any], name: str) -> str | None:
    found: Any = values
    for part in name.split("."):
        if not isinstance(found, dict) or part not in found:
            return None
        found = found[part]
    return None if isinstance(found, (dict, list)) else scalar_text(found)


class _Reader:
    def __init__(
        self,
        shown: str,
        source: Source,
        runners: Runners,
        wrappers: Sequence[str],
        reading: Reading,
    ):
        self.shown = shown
        self.path = Path(shown)
        self.source = source
        self.runners = runners
        self.wrappers = wrappers
        self.reading = reading
        self.env: dict[str, str] = {}
        self.workdir: str | None = None
        self.shell: str | None = None
        self.workspace = WORKSPACE

    def unread(self, line: int, label: str, reason: str) -> None:
        self.reading.unread.append(Unread(Location(self.shown, line), label, reason))

    def job(self, job_id: str, key: yaml.Node, node: yaml.Node, group: str) -> None:
        raw = construct(node, self.path)
        line = line_of(key)
        if not isinstance(raw, dict):
            return self.unread(line, job_id, "a job must be a mapping")
        label = printable(str(raw.get("name") or job_id))
        if raw.get("uses") and not _linux_job(raw):
            return self.unread(
                line,
                label,
                f"calls the reusable workflow {raw['uses']}; import that workflow's "
                "file",
            )
        try:
            combos = matrix((raw.get("strategy") or {}).get("matrix"))
        except ValueError as exc:
            return self.unread(line, label, str(exc))
        for values in combos:

            def fill(text: str, values: dict[str, Any] = values) -> str:
                def one(match: re.Match[str]) -> str:
                    # a value the combination lacks is null: empty in text
                    return _lookup(values, match.group(1)) or ""

                text = GITHUB_MATRIX.sub(one, text)
                return WORKSPACE_REFS.sub(self.workspace, text)

            try:
                data = substitute(raw, lambda text: printable(fill(text)))
            except ValueError as exc:
                return self.unread(line, label, str(exc))
            shown = str(data.get("name") or job_id)
            if values and shown == label:
                shown = with_values(label, values, _runs_on(data))
            try:
                self.combination(job_id, node, line, data, shown, group, fill)
            except ValueError as exc:
                self.unread(line, shown, str(exc))
        return None

    def combination(
        self,
        job_id: str,
        node: yaml.Node,
        line: int,
        data: dict,
        label: str,
        group: str,
        fill: Any,
    ) -> None:
        labels = _runs_on(data)
        if any("${{" in label_ for label_ in labels):
            return self.unread(
                line,
                label,
                f"runs-on {labels} is an expression, known only when the workflow runs",
            )
        place = self.runners.place(labels)
        if isinstance(place, str):
            return self.unread(line, label, place)
        notes: list[str] = []
        env = self.known({**self.env, **_env(data.get("env"))}, notes)
        if data.get("if"):
            notes.append(f"runs only if: {data['if']}")
        base = _defaults(data) or self.workdir
        shell = _default_shell(data) or self.shell
        start = posixpath.normpath(posixpath.join(self.workspace, fill(base or ".")))
        builder = Builder(self.source, self.wrappers)
        commands: list[Command] = []
        actions: list[str] = []
        for step_node, run_node in _steps(node, data):
            # bounded: the job's values, these among them, were substituted above
            step = substitute(
                construct(step_node, self.path), lambda text: printable(fill(text))
            )
            if not isinstance(step, dict):
                continue
            if run_node is not None:  # pytorch's linux_job: `with: script:`
                step = {"name": "script", "run": step.get("script")}
            commands += self.step(
                step_node, step, label, start, shell, env, builder, notes, run_node
            )
            if "run" not in step and step.get("uses"):
                actions.append(str(step["uses"]))
        if actions:
            many = len(actions) > 1
            notes.append(
                f"{len(actions)} action step{'s' if many else ''} (uses:) "
                f"run{'' if many else 's'} no shell command here: "
                + ", ".join(dict.fromkeys(actions))
            )
        self.reading.jobs.append(
            Job(
                location=Location(self.shown, line),
                label=label,
                key=job_id,
                group=group,
                platform=place.platform,
                variant=place.variant,
                device=place.told_by,
                gpus=place.gpus or 1,
                working_dir=start,
                commands=tuple(commands),
                soft_fail=bool(data.get("continue-on-error")),
                timeout_in_minutes=_whole(data.get("timeout-minutes")),
                gfx=place.gfx,
                notes=tuple(notes),
            )
        )
        return None

    def step(
        self,
        node: yaml.Node,
        step: dict,
        job_label: str,
        start: str,
        shell: str | None,
        env: dict[str, str],
        builder: Builder,
        job_notes: list[str],
        script: yaml.Node | None = None,
    ) -> list[Command]:
        run = script or value_of(node, "run")
        if run is None or not step.get("run"):
            return []
        name = f"{job_label} / {step.get('name') or 'run'}"
        used = step.get("shell") or shell
        if used is not None and str(used).split()[0] not in ("bash", "sh"):
            self.unread(
                line_of(node),
                name,
                f"runs in shell '{used}'; only bash and sh are read",
            )
            return []
        notes: list[str] = []
        step_env = self.known(
            {**env, **builder.exported, **_env(step.get("env"))}, notes
        )
        where = step.get("working-directory")
        # relative to the workspace, as the defaults are: it replaces them
        cwd = posixpath.normpath(posixpath.join(self.workspace, str(where or start)))
        first = int(run.start_mark.line)
        item = Item(
            str(step["run"]),
            first,
            self.source.end_of(run) if str(step["run"]).strip() else first,
            tuple(self.source.block_above(line_of(node) - 1)),
        )
        if step.get("if"):
            notes.append(f"runs only if: {step['if']}")
        job_notes += [f"step '{name}' (line {line_of(node)}): {n}" for n in notes]
        return builder.script([item], cwd, step_env)

    def known(self, env: dict[str, str], notes: list[str]) -> dict[str, str]:
        """The environment without values known only when the workflow runs."""
        kept = {k: v for k, v in env.items() if not EXPRESSION.search(v)}
        gone = sorted(set(env) - set(kept))
        if gone:
            notes.append(
                f"env {', '.join(gone)} not carried: known only when the workflow runs"
            )
        return kept


def _linux_job(data: dict) -> bool:
    """Whether a job calls pytorch/test-infra's linux_job workflow with a script: a
    shell script run at the checkout's root on `with.runner`."""
    given = data.get("with")
    return (
        bool(LINUX_JOB.search(str(data.get("uses"))))
        and isinstance(given, dict)
        and isinstance(given.get("script"), str)
    )


def _runs_on(data: dict) -> list[str]:
    """The runner labels: `runs-on`, or linux_job's runner and GPU arch type."""
    if _linux_job(data):
        given = data["with"]
        return [
            scalar_text(given.get(k))
            for k in ("runner", "gpu-arch-type")
            if given.get(k)
        ]
    return _labels(data.get("runs-on"))


def _steps(node: yaml.Node, data: dict) -> list[tuple[yaml.Node, yaml.Node | None]]:
    """(step node, script node) of each step; linux_job's `with` holds its script."""
    if _linux_job(data):
        given = value_of(node, "with")
        script = value_of(given, "script") if given is not None else None
        return [(given, script)] if given is not None and script is not None else []
    steps = value_of(node, "steps")
    return [(step, None) for step in getattr(steps, "value", []) or []]


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
