"""What a summary must hold before a report trusts it: one located line otherwise.

Summaries come from jobs (uploaded artifacts): any of them may be malformed or
hostile. Counts must be whole numbers from 0 up to a bound (no NaN, no negatives, no
fractions, no 400-digit numbers that would show green), names must be short strings
of one line, and the shapes must be the plugin's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testmatrix.errors import TestmatrixError
from testmatrix.jsonio import read_json

MAX_COUNT = 10**9  # more tests than any suite has: a bigger count is not real
MAX_NAME = 200

Summary = dict[str, Any]


def _count(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_COUNT  # bool is not a count


def _name(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME and value.isprintable()


def _counts_problem(where: str, counts: object) -> str | None:
    if not isinstance(counts, dict):
        return f"'{where}' must be a table of counts"
    for key, value in counts.items():
        if not _name(key) or not _count(value):
            return (
                f"'{where}.{str(key)[:40]}' must be a whole number from 0 to "
                f"{MAX_COUNT}, got {str(value)[:40]!r}"
            )
    return None


def problem(data: object) -> str | None:
    """What is wrong with a summary, or None."""
    if not isinstance(data, dict):
        return "not a testmatrix summary (not a JSON object)"
    missing = [k for k in ("platform", "counts", "exitstatus") if k not in data]
    if missing:
        keys = "', '".join(missing)
        return (
            f"not a testmatrix summary (no '{keys}'); a session writes one with "
            "--summary-json"
        )
    for key in ("platform", "target", "suite", "variant"):
        value = data.get(key)
        if value is not None and not _name(value):
            return f"'{key}' must be a name of one line, got {str(value)[:40]!r}"
    status = data["exitstatus"]
    if type(status) is not int or not 0 <= status <= 255:
        return f"'exitstatus' must be a whole number from 0 to 255, got {status!r}"
    found = _counts_problem("counts", data["counts"])
    if found:
        return found
    models = data.get("models", {})
    if not isinstance(models, dict):
        return "'models' must be a table"
    for model, outcomes in models.items():
        if not _name(model):
            return f"'models' holds a model name that is not one line: {model[:40]!r}"
        found = _counts_problem(f"models.{model[:40]}", outcomes)
        if found:
            return found
    entries = data.get("entries", {})
    if not isinstance(entries, dict):
        return "'entries' must be a table"
    for where, entry in entries.items():
        if not _name(where) or not isinstance(entry, dict):
            return f"'entries.{where[:40]}' must be a table (the entry's record)"
    shard = data.get("shard")
    if shard is not None and not (
        isinstance(shard, dict)
        and _count(shard.get("id"))
        and _count(shard.get("count"))
        and shard["id"] < shard["count"]
    ):
        return f"'shard' must be {{id, count}} with 0 <= id < count, got {shard!r}"[
            :200
        ]
    if not isinstance(data.get("simulated", False), bool):
        return "'simulated' must be true or false"
    return None


def read_checked(paths: list[Path]) -> tuple[list[Summary], list[str]]:
    """(the summaries that hold, one located line for each that does not)."""
    good: list[Summary] = []
    bad: list[str] = []
    for path in paths:
        try:
            data = read_json(path, "testmatrix summary")
        except TestmatrixError as exc:
            bad.append(str(exc))
            continue
        found = problem(data)
        if found:
            bad.append(f"{path}:1: {found}")
        else:
            assert isinstance(data, dict)  # problem() said it is one
            good.append(data)
    return good, bad
