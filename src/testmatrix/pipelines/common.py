"""What both readers share: the reading with its unread steps, and matrix values.

A plain pipeline or a workflow becomes the same `vllm.jobs.Job` records vLLM's files do,
so `importplan` and `importproof` decide and prove them unchanged. What a reader
cannot turn into a job is an `Unread` step with the reason, never dropped.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testmatrix.core.model import Location
from testmatrix.errors import TestmatrixError
from testmatrix.vllm import jobs as vjobs

MAX_BYTES = 4 * 1024 * 1024  # a CI file larger than this is not one a person wrote
MAX_COMBINATIONS = 256  # per matrix: GitHub's own limit
MAX_DEPTH = 32  # nesting of one step's values
MAX_VALUES = 100_000  # values in one step, aliases followed
BUILDKITE_MATRIX = re.compile(r"\{\{\s*matrix(?:\.([\w-]+))?\s*\}\}")
GITHUB_MATRIX = re.compile(r"\$\{\{\s*matrix\.([\w.-]+)\s*\}\}")


@dataclass(frozen=True)
class Unread:
    """A step the import cannot read, and why."""

    location: Location
    label: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "label": self.label,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        return f"{self.location}: step '{self.label}' not read: {self.reason}"


@dataclass
class Reading(vjobs.Reading):
    """The jobs of plain pipelines and workflows, and the steps not read."""

    unread: list[Unread] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # "buildkite" or "github"
    notes: list[str] = field(default_factory=list)


def check_size(path: Path, shown: str) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TestmatrixError(f"{shown}: cannot read: {exc.strerror}") from None
    if size > MAX_BYTES:
        raise TestmatrixError(
            f"{shown}: {size} bytes; a CI file over {MAX_BYTES} bytes is not read"
        )


def product(dimensions: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the dimensions' values, in order (at most
    MAX_COMBINATIONS: raises ValueError beyond)."""
    count = 1
    for values in dimensions.values():
        count *= len(values)
    if count > MAX_COMBINATIONS:
        raise ValueError(f"{count} combinations, over {MAX_COMBINATIONS}")
    names = list(dimensions)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(dimensions[n] for n in names))
    ]


def scalar_text(value: Any) -> str:
    """A matrix or env value as the CI writes it into text; ValueError for a list or
    a mapping where text belongs."""
    if isinstance(value, (list, dict)):
        kind = "a list" if isinstance(value, list) else "a mapping"
        raise ValueError(f"a value where text belongs is {kind}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def substitute(value: Any, replace_text: Any) -> Any:
    """A YAML value with `replace_text` applied to every string in it; ValueError when
    it nests deeper than MAX_DEPTH or holds more than MAX_VALUES values (YAML aliases
    can make a small file a huge, or a recursive, value)."""
    budget = [MAX_VALUES]

    def walk(item: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            raise ValueError("its values nest too deep or are too many (YAML aliases)")
        if isinstance(item, str):
            return replace_text(item)
        if isinstance(item, list):
            return [walk(v, depth + 1) for v in item]
        if isinstance(item, dict):
            return {k: walk(v, depth + 1) for k, v in item.items()}
        return item

    return walk(value, 0)


def printable(text: str) -> str:
    """Text with control characters (terminal escapes) written as escapes; newlines
    and tabs kept."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def values_label(values: dict[str, Any], runners: Sequence[str] = ()) -> str:
    """'3.11, fp8': a combination's values, for labels; not the runner labels (the
    target names them) nor pytest flags (the suite says them)."""
    shown = [
        scalar_text(v)
        for v in values.values()
        if not isinstance(v, (dict, list))
        and not picks_runner(scalar_text(v), runners)
        and not scalar_text(v).startswith("-")
        and " -" not in scalar_text(v)  # a command line's flags: the suite says them
        and "://" not in scalar_text(v)
        and "/" not in scalar_text(v)  # an image or a path: long, and told by others
        and scalar_text(v).strip()
    ]
    return ", ".join(shown)


def picks_runner(value: str, runners: Sequence[str]) -> bool:
    """Whether a matrix value is (a word of) a runner label: the target says it."""
    if not value:
        return False
    word = re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])")
    return any(word.search(label) for label in runners)


def with_values(label: str, values: dict[str, Any], runners: Sequence[str]) -> str:
    """A job's label with the combination's values that tell it apart (its `name`
    where it has one, as pytorch's matrices do)."""
    name = values.get("name")
    extra = name if isinstance(name, str) and name else values_label(values, runners)
    return f"{label} ({extra})" if extra else label
