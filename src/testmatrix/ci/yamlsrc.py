"""CI YAML as nodes with their lines, and the comments PyYAML drops.

Both importers read pipelines through here: `compose` turns a file into nodes (one-line
errors naming file and line), `Source` keeps the raw lines for comments next to a
command, and the node helpers read a step's keys, merge keys (`<<: *anchor`) applied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testmatrix.errors import TestmatrixError
from testmatrix.jsonio import read_text

if TYPE_CHECKING:
    import yaml  # optional dependency: imported where it is used

URL = re.compile(r"https?://\S+")


def compose(path: Path, name: str | None = None) -> tuple[str, yaml.Node | None]:
    """(text, root node) of a YAML file; unreadable or broken YAML is one line,
    naming the file as `name` (default: the path)."""
    import yaml

    shown = name or str(path)

    text = read_text(path, "pipeline", shown=shown)  # bounded: no /dev/zero, FIFO
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TestmatrixError(f"{shown}{line}: not YAML: {problem}") from None
    return text, root


# vLLM's biggest CI file expands to a few thousand nodes; aliases that expand past
# this (a "billion laughs" file: 9 anchors of 9 aliases each) would hang a reader
# that walks the steps, so the file is refused before it does.
MAX_EXPANDED = 500_000


def check_expansion(root: yaml.Node | None, shown: str) -> None:
    """Refuse a file whose aliases expand too far, or into themselves, for readers
    that walk every step as expanded (iterative: a deep file must not exhaust
    Python's stack either). The plain-pipeline readers bound each step instead."""
    if root is None:
        return
    import yaml

    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if id(node) in sizes:
            continue
        kids: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        if closing:
            open_.discard(id(node))
            sizes[id(node)] = min(MAX_EXPANDED + 1, 1 + sum(sizes[id(k)] for k in kids))
            continue
        if id(node) in open_:
            raise TestmatrixError(
                f"{shown}:{node.start_mark.line + 1}: an alias refers to the node "
                "that holds it (a recursive structure); not read"
            )
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    if sizes[id(root)] > MAX_EXPANDED:
        raise TestmatrixError(
            f"{shown}: its aliases expand to more than {MAX_EXPANDED} nodes; not read"
        )


def construct(node: yaml.Node, path: Path) -> Any:
    """The Python value of a node (merge keys applied); a bad merge is one line."""
    import yaml

    try:
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise TestmatrixError(f"{path}{line}: {exc.problem or exc}") from None


def line_of(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def mapping_value(node: yaml.Node, name: str) -> yaml.Node | None:
    """The value node of a mapping's key (after a merge the node's own key wins)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    found = None
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == name:
            found = value
    return found


def key_line(node: yaml.Node, name: str) -> int | None:
    """The 1-based line of a mapping's key (the last one, as after a merge)."""
    import yaml

    found = None
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == name:
                found = line_of(key)
    return found


def command_nodes(node: yaml.Node | None) -> list[yaml.ScalarNode]:
    """The scalar nodes of `command:`/`commands:` values: a string or a list, lists
    nested by aliases."""
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return [node] if node.tag.endswith(":str") or node.value else []
    if isinstance(node, yaml.SequenceNode):
        return [s for item in node.value for s in command_nodes(item)]
    return []


def flatten(node: yaml.MappingNode, path: Path) -> None:
    """Apply merge keys (`<<: *common`) in place, as Buildkite's YAML reader does."""
    import yaml

    try:
        yaml.constructor.SafeConstructor().flatten_mapping(node)
    except yaml.MarkedYAMLError as exc:
        raise TestmatrixError(
            f"{path}:{exc.problem_mark.line + 1}: {exc.problem}"
        ) from None


_RUNS = {"command", "commands", "trigger"}


def walk_steps(seq_node: yaml.Node, path: Path) -> Iterator[yaml.MappingNode]:
    """The step mappings of a `steps:` list, group steps opened, merges applied;
    `wait`, `block` and `input` steps run nothing and are passed over."""
    import yaml

    if not isinstance(seq_node, yaml.SequenceNode):
        return
    for node in seq_node.value:
        if not isinstance(node, yaml.MappingNode):
            continue
        flatten(node, path)
        nested = mapping_value(node, "steps")
        keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        if isinstance(nested, yaml.SequenceNode):
            yield from walk_steps(nested, path)
        elif keys & {"wait", "block", "input"} and not keys & _RUNS:
            continue  # waits for a person or for other steps; runs nothing
        else:
            yield node


def comment(line: str) -> str | None:
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


def is_comment_line(line: str) -> bool:
    return line.lstrip().startswith("#")


class Source:
    """The raw lines of a YAML file, for comments and positions PyYAML drops.
    Indices are 0-based line numbers."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def _comments(self, indices: range) -> list[str]:
        """The texts of the comment lines at `indices`, up to the first other line."""
        out: list[str] = []
        for i in indices:
            if not is_comment_line(self.lines[i]):
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

    def trailing(self, start: int, end: int) -> str | None:
        """The last comment at the end of a line in [start, end]: a note beside the
        command."""
        found = None
        for i in range(start, min(end, len(self.lines) - 1) + 1):
            text = self.lines[i]
            if is_comment_line(text):
                continue
            note = comment(text)
            if note:
                found = note
        return found

    def end_of(self, node: yaml.Node) -> int:
        """The last line (0-based) holding a scalar node's text."""
        start = int(node.start_mark.line)
        words = str(getattr(node, "value", "")).split()
        if not words:
            return start
        return self.find_last(words[-1], start, int(node.end_mark.line))
