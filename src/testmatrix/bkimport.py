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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import TestmatrixError
from .shellcmd import Shell, parse_pytest, pytest_argv, split_commands, under_root

if TYPE_CHECKING:
    import yaml  # optional dependency: imported where it is used

URL = re.compile(r"https?://\S+")


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


def _comment(line: str) -> str | None:
    """The comment on a YAML line, outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[i + 1 :].strip()
    return None


def _is_comment_line(line: str) -> bool:
    return line.lstrip().startswith("#")


class _Source:
    """The raw lines of the pipeline, for comments and positions PyYAML drops."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def _comments(self, indices: range) -> list[str]:
        """The texts of the comment lines at `indices`, up to the first other line."""
        out: list[str] = []
        for i in indices:
            if not _is_comment_line(self.lines[i]):
                break
            out.append(self.lines[i].strip().lstrip("#").strip())
        return out

    def block_above(self, line: int) -> list[str]:
        return self._comments(range(line - 1, -1, -1))[::-1]

    def block_below(self, line: int) -> list[str]:
        out = self._comments(range(line + 1, len(self.lines)))
        # only a note that points up at the command ("# ^ ...") belongs to it
        if not any(c.startswith("^") for c in out):
            return []
        return [c.lstrip("^ ").strip() for c in out]

    def find_last(self, text: str, start: int, end: int) -> int:
        for i in range(min(end, len(self.lines) - 1), start - 1, -1):
            if text in self.lines[i]:
                return i
        return start

    def find(self, text: str, start: int, end: int) -> int | None:
        for i in range(start, min(end, len(self.lines) - 1) + 1):
            if text in self.lines[i]:
                return i
        return None


def _value(step_node: yaml.MappingNode, names: tuple[str, ...]) -> yaml.Node | None:
    """The value node of the step's last key among `names`.

    After a merge (`<<: *common`) the step's own key wins.
    """
    found = None
    for key, value in step_node.value:
        if key.value in names:
            found = value
    return found


def _commands(step_node: yaml.MappingNode) -> list[yaml.ScalarNode]:
    """The command scalar nodes of a step.

    From command: or commands:, a string or a list, lists nested by aliases.
    """
    import yaml

    def scalars(node: yaml.Node | None) -> list[yaml.ScalarNode]:
        if isinstance(node, yaml.ScalarNode):
            return [node]
        if isinstance(node, yaml.SequenceNode):
            return [s for item in node.value for s in scalars(item)]
        return []

    return scalars(_value(step_node, ("command", "commands")))


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
    try:
        text = path.read_text()
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TestmatrixError(f"{path}{line}: not YAML: {problem}") from None
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
    source = _Source(text)
    labels: list[tuple[yaml.MappingNode, str]] = []
    for node in _walk_steps(steps_node, path):
        label = (
            _field(node, "label")
            or _field(node, "name")
            or _field(node, "key")
            or f"step at line {node.start_mark.line + 1}"
        )
        labels.append((node, label))
    inferred_root = checkout_root is None
    checkout_root, default_working_dir, notes = _infer_dirs(
        [n for n, _ in labels], checkout_root, default_working_dir, path
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
    source: _Source,
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
        report = StepReport(label, node.start_mark.line + 1)
        working_dir = _field(node, "working_dir") or default_working_dir
        # the step's commands run as one script: a `cd` holds for the commands after it
        shell = Shell(
            _relative_workdir(working_dir, checkout_root, path, node), checkout_root
        )
        commands = _commands(node)
        if not commands:
            trigger = _field(node, "trigger")
            report.unmapped.append(
                f"trigger step: pipeline '{trigger}' is not imported; "
                "import its file on its own"
                if trigger
                else "no command"
            )
        for cmd_node in commands:
            for command in split_commands(cmd_node.value):
                if shell.run(command):
                    continue
                argv = pytest_argv(command)
                if argv is None:
                    report.unmapped.append(f"not pytest: {command}")
                    continue
                paths, ignores, unmapped = parse_pytest(argv)
                report.unmapped += [
                    f"{flag} (in: pytest {' '.join(paths)})" for flag in unmapped
                ]
                if not ignores:
                    continue
                if shell.cwd is None:
                    report.unmapped += _not_mapped(
                        ignores, f"working directory unknown after '{shell.lost}'"
                    )
                    continue
                if len(paths) != 1:
                    report.unmapped += _not_mapped(
                        ignores, f"pytest has {len(paths)} test paths; need exactly one"
                    )
                    continue
                workdir = shell.cwd
                suite_path = posixpath.normpath(
                    posixpath.join(workdir, paths[0])
                ).rstrip("/")
                if suite_path == ".." or suite_path.startswith("../"):
                    report.unmapped += _not_mapped(
                        ignores, f"pytest path {paths[0]} is outside the checkout"
                    )
                    continue
                name = base
                taken = suites.get(name)
                if taken is not None and taken.path != suite_path:
                    name = f"{base}-{slug(paths[0])}"
                suite = suites.setdefault(name, ImportedSuite(name, suite_path, label))
                start = cmd_node.start_mark.line
                words = cmd_node.value.split()
                end = (
                    source.find_last(words[-1], start, cmd_node.end_mark.line)
                    if words
                    else start
                )
                for ignore in ignores:
                    target = posixpath.normpath(posixpath.join(workdir, ignore))
                    if not (target + "/").startswith(suite_path + "/"):
                        report.unmapped += _not_mapped(
                            [ignore],
                            f"outside the pytest path {paths[0]}: it ignores nothing",
                        )
                        continue
                    rel = posixpath.relpath(target, suite_path) + (
                        "/" if ignore.endswith("/") else ""
                    )
                    found = source.find(ignore, start, end) if end > start else start
                    flag_line = start if found is None else found
                    reason, issue = _reason(
                        source, flag_line, start, end, ignore, label, path
                    )
                    if any(
                        i.path.rstrip("/") == rel.rstrip("/") for i in suite.ignores
                    ):
                        report.unmapped += _not_mapped(
                            [ignore], "repeated in this step"
                        )
                        continue
                    suite.ignores.append(Ignore(rel, reason, issue, flag_line + 1))
                if name not in report.suites:
                    report.suites.append(name)
        reports.append(report)
    return suites, reports


def _not_mapped(ignores: list[str], why: str) -> list[str]:
    """Report lines for --ignore flags that cannot become entries, and why."""
    return [f"--ignore={ignore} ({why})" for ignore in ignores]


def _infer_dirs(
    nodes: list[yaml.MappingNode],
    checkout_root: str | None,
    default_working_dir: str | None,
    path: Path,
) -> tuple[str | None, str, list[str]]:
    """The checkout root and default working_dir.

    Each is given, or inferred from the steps' working_dir values.
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
        every = absolute + (
            [posixpath.normpath(default_working_dir)]
            if posixpath.isabs(default_working_dir)
            else []
        )
        if every:
            checkout_root = posixpath.commonpath(every)
            notes.append(
                f"{path}: taking {checkout_root} as the checkout root, "
                "the deepest directory holding every absolute working_dir; "
                "pass --checkout-root to change it"
            )
    return checkout_root, default_working_dir, notes


def _walk_steps(seq_node: yaml.SequenceNode, path: Path) -> Iterator[yaml.MappingNode]:
    """Steps that may run commands.

    Group steps are opened and merge keys (`<<: *anchor`) applied.
    """
    import yaml

    flatten = yaml.constructor.SafeConstructor().flatten_mapping
    for node in seq_node.value:
        if not isinstance(node, yaml.MappingNode):
            continue  # "wait" and other one-word steps run nothing
        try:
            flatten(node)
        except yaml.MarkedYAMLError as exc:
            raise TestmatrixError(
                f"{path}:{exc.problem_mark.line + 1}: {exc.problem}"
            ) from None
        keys = {k.value for k, _ in node.value}
        nested = _value(node, ("steps",))
        if isinstance(nested, yaml.SequenceNode):
            yield from _walk_steps(nested, path)
        elif keys & {"wait", "block", "input"} and not keys & {
            "command",
            "commands",
            "trigger",
        }:
            continue  # waits for a person or for other steps; runs nothing
        else:
            yield node


def _relative_workdir(
    working_dir: str, checkout_root: str | None, path: Path, node: yaml.Node
) -> str:
    if not posixpath.isabs(working_dir):
        return posixpath.normpath(working_dir)
    relative = under_root(working_dir, checkout_root)
    if relative is None:
        raise TestmatrixError(
            f"{path}:{node.start_mark.line + 1}: working_dir '{working_dir}' "
            f"is outside --checkout-root '{checkout_root}'"
        )
    return relative


def _reason(
    source: _Source,
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
        _comment(source.lines[flag_line]) if flag_line < len(source.lines) else None
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
