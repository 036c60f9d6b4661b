"""Import `--ignore` flags from an existing Buildkite pipeline into skiplist entries.

Each pytest command of each step becomes a suite (named from the step's label, or its
pytest path) whose ignores are written relative to the suite's directory. YAML comments
near a flag become its reason. Whatever cannot be mapped is reported, step by step,
never dropped.

The shell text of a command is read by `shellcmd`; `skiplist_writer` writes the result.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from testmatrix.ci.shell import (
    Shell,
    parse_pytest,
    pytest_argv,
    split_commands,
    under_root,
)
from testmatrix.ci.yamlsrc import (
    URL,
    Source,
    check_expansion,
    command_nodes,
    comment,
    compose,
    walk_steps,
)
from testmatrix.errors import TestmatrixError

if TYPE_CHECKING:
    import yaml  # optional dependency: imported where it is used


@dataclass
class Ignore:
    path: str  # relative to the suite directory
    reason: str
    issue: str | None
    line: int  # in the pipeline file


@dataclass
class ImportedSuite:
    name: str
    path: str  # workspace-relative
    step: str
    ignores: list[Ignore] = field(default_factory=list)


@dataclass
class StepReport:
    label: str
    line: int
    suites: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)


@dataclass
class Imported:
    source: str
    suites: dict[str, ImportedSuite]
    steps: list[StepReport]
    # what the import assumed, and how to change it
    notes: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _label_names(label: str) -> tuple[str, str]:
    """(short, full) suite names of a step label: '(API Server)' gives 'api-server'."""
    clean = re.sub(r":[a-z0-9_+-]+:", "", label).replace("%N", "")
    clean = re.sub(r"\s+#.*$", "", clean).strip()
    full = slug(re.sub(r"\b[Tt]ests?\b", "", clean)) or slug(clean)
    inner = re.findall(r"\(([^)]*)\)", clean)
    short = slug(inner[-1]) if inner else full
    return short or full, full


def _value(step_node: yaml.MappingNode, names: tuple[str, ...]) -> yaml.Node | None:
    """The value node of the step's last key among `names`.

    After a merge (`<<: *common`) the step's own key wins.
    """
    found = None
    for key, value in step_node.value:
        if key.value in names:
            found = value
    return found


def _field(step_node: yaml.MappingNode, name: str) -> str | None:
    import yaml

    value = _value(step_node, (name,))
    return value.value if isinstance(value, yaml.ScalarNode) else None


def import_pipeline(
    path: Path | str,
    *,
    checkout_root: str | None = None,
    default_working_dir: str | None = None,
    local_root: Path | None = None,
) -> Imported:
    """Read a Buildkite pipeline; every --ignore flag becomes an entry of a suite.

    Paths are made relative to the checkout root. Without `checkout_root`, it is the
    deepest directory holding every absolute working_dir, or the nearest directory above
    it where every suite path exists in `local_root` (the checkout being imported into);
    without `default_working_dir`, steps that name none run in the most common one
    (vLLM: /vllm-workspace/tests). Assumptions are reported in `notes`.
    """
    import yaml

    path = Path(path)
    text, root = compose(path)
    check_expansion(root, str(path))
    if not isinstance(root, yaml.MappingNode) or not any(
        k.value == "steps" for k, _ in root.value
    ):
        raise TestmatrixError(
            f"{path}:1: not a Buildkite pipeline: no top-level 'steps' list"
        )
    steps_node = next(v for k, v in root.value if k.value == "steps")
    if not isinstance(steps_node, yaml.SequenceNode):
        raise TestmatrixError(
            f"{path}:{steps_node.start_mark.line + 1}: "
            "not a Buildkite pipeline: 'steps' is not a list"
        )
    source = Source(text)
    labels: list[tuple[yaml.MappingNode, str]] = []
    for node in walk_steps(steps_node, path):
        label = (
            _field(node, "label")
            or _field(node, "name")
            or _field(node, "key")
            or f"step at line {node.start_mark.line + 1}"
        )
        labels.append((node, label))
    inferred_root = checkout_root is None
    # only steps that run pytest say where the checkout is: a step that runs a script
    # from "/" must not move the root
    testing = [n for n, _ in labels if _runs_pytest(n)] or [n for n, _ in labels]
    checkout_root, default_working_dir, notes = _infer_dirs(
        [n for n, _ in labels], testing, checkout_root, default_working_dir, path
    )
    suites, reports = _build(labels, source, path, checkout_root, default_working_dir)
    if inferred_root and checkout_root and local_root is not None:
        # the checkout being imported into says where the agents' checkout root
        # really is
        def fits(found: dict[str, ImportedSuite]) -> bool:
            return all((local_root / s.path).exists() for s in found.values())

        candidate = checkout_root
        while suites and not fits(suites) and candidate != "/":
            candidate = posixpath.dirname(candidate)
            found = _build(labels, source, path, candidate, default_working_dir)
            if len(found[0]) == len(suites) and fits(found[0]):
                notes[-1] = (
                    f"{path}: taking {candidate} as the checkout root: "
                    f"every suite path then exists in {local_root}; "
                    "pass --checkout-root to change it"
                )
                suites, reports = found
                break
    return Imported(str(path), suites, reports, notes)


def _build(
    labels: list[tuple[yaml.MappingNode, str]],
    source: Source,
    path: Path,
    checkout_root: str | None,
    default_working_dir: str,
) -> tuple[dict[str, ImportedSuite], list[StepReport]]:
    """(suites, step reports) of the command steps.

    Paths are relative to the checkout root.
    """
    suites: dict[str, ImportedSuite] = {}
    reports: list[StepReport] = []
    shorts = [_label_names(label)[0] for _, label in labels]
    for node, label in labels:
        short, full = _label_names(label)
        # a short name two steps share would merge unrelated steps: those use the full
        # label
        base = short if shorts.count(short) == 1 else full
        working_dir = _field(node, "working_dir") or default_working_dir
        step = _Step(node, label, base, working_dir, source, path, checkout_root)
        commands = command_nodes(_value(node, ("command", "commands")))
        if not commands:
            trigger = _field(node, "trigger")
            step.report.unmapped.append(
                f"trigger step: pipeline '{trigger}' is not imported; "
                "import its file on its own"
                if trigger
                else "no command"
            )
        for cmd_node in commands:
            for command in split_commands(cmd_node.value):
                step.read(command, cmd_node, suites)
        reports.append(step.report)
    return suites, reports


class _Step:
    """One command step as its script runs: the directory its commands run in, and
    what each pytest command's --ignore flags become."""

    def __init__(
        self,
        node: yaml.MappingNode,
        label: str,
        base: str,
        working_dir: str,
        source: Source,
        path: Path,
        checkout_root: str | None,
    ):
        self.node, self.label, self.base = node, label, base
        self.working_dir, self.source, self.path = working_dir, source, path
        self.checkout_root = checkout_root
        self.report = StepReport(label, node.start_mark.line + 1)
        # the step's commands run as one script: a `cd` holds for the commands after
        # it; a working_dir outside the checkout root matters only to a pytest run
        workdir = _relative_workdir(working_dir, checkout_root)
        self.shell = Shell(workdir or ".", checkout_root)
        if workdir is None:
            self.shell.cwd = None  # known again only after a `cd` into the checkout

    def read(
        self, command: str, cmd_node: yaml.ScalarNode, suites: dict[str, ImportedSuite]
    ) -> None:
        """Follow one command: a `cd`, something else, or a pytest run whose
        --ignore flags join its suite."""
        report, shell = self.report, self.shell
        if shell.run(command):
            return
        argv = pytest_argv(command)
        if argv is None:
            report.unmapped.append(f"not pytest: {command}")
            return
        paths, ignores, unmapped = parse_pytest(argv)
        report.unmapped += [
            f"{flag} (in: pytest {' '.join(paths)})" for flag in unmapped
        ]
        if not ignores:
            return
        if shell.cwd is None and not shell.lost:
            raise TestmatrixError(
                f"{self.path}:{self.node.start_mark.line + 1}: working_dir "
                f"'{self.working_dir}' is outside --checkout-root "
                f"'{self.checkout_root}'"
            )
        if shell.cwd is None:
            why = f"working directory unknown after '{shell.lost}'"
            report.unmapped += _not_mapped(ignores, why)
            return
        if len(paths) != 1:
            why = f"pytest has {len(paths)} test paths; need exactly one"
            report.unmapped += _not_mapped(ignores, why)
            return
        workdir = shell.cwd
        suite_path = posixpath.normpath(posixpath.join(workdir, paths[0])).rstrip("/")
        if suite_path == ".." or suite_path.startswith("../"):
            why = f"pytest path {paths[0]} is outside the checkout"
            report.unmapped += _not_mapped(ignores, why)
            return
        name = self.base
        taken = suites.get(name)
        if taken is not None and taken.path != suite_path:
            name = f"{self.base}-{slug(paths[0])}"
        suite = suites.setdefault(name, ImportedSuite(name, suite_path, self.label))
        for ignore in ignores:
            self.ignore(ignore, workdir, paths[0], suite, cmd_node)
        if name not in report.suites:
            report.suites.append(name)

    def ignore(
        self,
        ignore: str,
        workdir: str,
        pytest_path: str,
        suite: ImportedSuite,
        cmd_node: yaml.ScalarNode,
    ) -> None:
        """One --ignore of a pytest run, as an ignore of its suite, with the reason
        the YAML's comments give it."""
        source = self.source
        start = cmd_node.start_mark.line
        words = cmd_node.value.split()
        end = (
            source.find_last(words[-1], start, cmd_node.end_mark.line)
            if words
            else start
        )
        target = posixpath.normpath(posixpath.join(workdir, ignore))
        if not (target + "/").startswith(suite.path + "/"):
            why = f"outside the pytest path {pytest_path}: it ignores nothing"
            self.report.unmapped += _not_mapped([ignore], why)
            return
        rel = posixpath.relpath(target, suite.path) + (
            "/" if ignore.endswith("/") else ""
        )
        found = source.find(ignore, start, end) if end > start else start
        flag_line = start if found is None else found
        reason, issue = _reason(
            source, flag_line, start, end, ignore, self.label, self.path
        )
        if any(i.path.rstrip("/") == rel.rstrip("/") for i in suite.ignores):
            self.report.unmapped += _not_mapped([ignore], "repeated in this step")
            return
        suite.ignores.append(Ignore(rel, reason, issue, flag_line + 1))


def _not_mapped(ignores: list[str], why: str) -> list[str]:
    """Report lines for --ignore flags that cannot become entries, and why."""
    return [f"--ignore={ignore} ({why})" for ignore in ignores]


def _runs_pytest(node: yaml.MappingNode) -> bool:
    """Whether any command of a step runs pytest."""
    return any(
        pytest_argv(command) is not None
        for cmd in command_nodes(_value(node, ("command", "commands")))
        for command in split_commands(cmd.value)
    )


def _infer_dirs(
    nodes: list[yaml.MappingNode],
    testing: list[yaml.MappingNode],
    checkout_root: str | None,
    default_working_dir: str | None,
    path: Path,
) -> tuple[str | None, str, list[str]]:
    """The checkout root and default working_dir.

    Each is given, or inferred from the steps' working_dir values: the default from
    every step, the root from the steps in `testing` (those that run pytest).
    """
    notes = []
    named = [w for w in (_field(n, "working_dir") for n in nodes) if w]
    absolute = [posixpath.normpath(w) for w in named if posixpath.isabs(w)]
    if default_working_dir is None:
        default_working_dir = "."
        if absolute:
            default_working_dir, count = Counter(absolute).most_common(1)[0]
            notes.append(
                f"{path}: {len(nodes) - len(named)} steps name no working_dir; "
                f"taking them to run in {default_working_dir}, "
                f"the most common working_dir ({count} of {len(named)} steps); "
                "pass --default-working-dir to change it"
            )
    if checkout_root is None:
        dirs = [_field(n, "working_dir") or default_working_dir for n in testing]
        every = [posixpath.normpath(w) for w in dirs if posixpath.isabs(w)]
        if every:
            checkout_root = posixpath.commonpath(every)
            notes.append(
                f"{path}: taking {checkout_root} as the checkout root, "
                "the deepest directory holding every absolute working_dir of a step "
                "that runs pytest; pass --checkout-root to change it"
            )
    return checkout_root, default_working_dir, notes


def _relative_workdir(working_dir: str, checkout_root: str | None) -> str | None:
    """A step's working_dir relative to the checkout root; None outside it."""
    if not posixpath.isabs(working_dir):
        return posixpath.normpath(working_dir)
    return under_root(working_dir, checkout_root)


def _reason(
    source: Source,
    flag_line: int,
    start: int,
    end: int,
    ignore: str,
    label: str,
    path: Path,
) -> tuple[str, str | None]:
    """The comment that explains a flag.

    On its line, above its command, or a '# ^' note below it.
    """
    candidates = []
    trailing = (
        comment(source.lines[flag_line]) if flag_line < len(source.lines) else None
    )
    if trailing:
        candidates.append(([trailing], True))
    for block in (source.block_above(start), source.block_below(end)):
        if block:
            candidates.append((block, False))
    name = posixpath.basename(ignore.rstrip("/"))
    for block, on_its_line in candidates:
        text = " ".join(block)
        mentioned = re.findall(r"[\w.-]+\.py\b", text)
        if mentioned and name not in mentioned and not on_its_line:
            continue  # a note about other files of this command
        issue = (URL.findall(text) or [None])[0]
        reason = URL.sub("", text).strip(" :-^") or text
        return reason, issue.rstrip(".,)") if issue else None
    return f"imported from {path.name}, step '{label}'", None


def report_lines(imported: Imported) -> list[str]:
    lines = []
    for step in imported.steps:
        mapped = sum(len(imported.suites[s].ignores) for s in step.suites)
        head = f"{imported.source}:{step.line}: step '{step.label}'"
        if step.suites:
            lines.append(f"{head}: {mapped} ignores -> suite {', '.join(step.suites)}")
        for item in step.unmapped:
            lines.append(f"{head}: not mapped: {item}")
    return lines
