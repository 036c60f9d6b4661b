"""Session reports: atomic JSON summaries and their merged Markdown matrix."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock

from testmatrix.errors import TestmatrixError
from testmatrix.results.checks import read_checked

# A summary as JSON gives it back: its values are of many shapes.
Summary = dict[str, Any]


def _lock_for(path: Path) -> FileLock:
    """One report's lock, outside the reports folder: never uploaded as an artifact."""
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    # Another user's lock folder is not ours to write.
    user = f"-{os.getuid()}" if hasattr(os, "getuid") else ""
    directory = Path(tempfile.gettempdir()) / f"testmatrix-locks{user}"
    directory.mkdir(exist_ok=True)
    return FileLock(str(directory / f"{path.name}.{key}.lock"))


def check_writable(path: Path, what: str) -> None:
    """Refuse, before any test runs, a report path that cannot be written."""
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise TestmatrixError(
                    f"{path}: cannot write the {what}: '{folder}' is a file, not a "
                    "folder"
                )
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise TestmatrixError(
            f"{path}: cannot write the {what} there: {exc.strerror}"
        ) from None
    if path.is_dir():
        raise TestmatrixError(f"{path}: cannot write the {what}: it is a folder")


def write_summary(path: Path, data: Mapping[str, object]) -> None:
    """Write JSON atomically; concurrent sessions writing the same file take turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock_for(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(tmp, path)


def read_summaries(paths: list[Path]) -> list[Summary]:
    """Every summary, or an error naming the first that does not hold."""
    good, bad = read_checked(paths)
    if bad:
        raise TestmatrixError(bad[0])
    return good


def md(text: str) -> str:
    """Text from a summary, safe in a Markdown table cell that Buildkite renders as
    HTML: HTML escaped, no pipe or newline to add cells or rows, no emphasis."""
    text = html.escape(" ".join(str(text).split()), quote=True)
    return re.sub(r"([\\`*_{}\[\]|#~])", r"\\\1", text)


# counts of tests that ran in a shard: the sum over a session's shards is the
# session's; the rest (what collection left out) is the same in every shard
SHARDED_COUNTS = (
    "passed",
    "failed",
    "skipped_by_entry",
    "skipped_in_code",
    "skipped_other",
    "flaky",
    "errors",
    "no_model",
    "expected_fail",
    "unexpected_pass",
    "fails_differently",
)
COUNT_LABELS = (
    ("failed", "failed"),
    ("errors", "errors"),
    ("unexpected_pass", "passed against a stale entry"),
    ("fails_differently", "failed differently"),
    ("expected_fail", "expected failures"),
    ("flaky", "flaky"),
    ("skipped_by_entry", "skipped"),
    ("skipped_in_code", "skipped in code"),
    ("deselected", "deselected"),
    ("ignored_paths", "files ignored"),
    ("not_in_suite", "in other suites"),
    ("no_model", "no model found"),
)


def target_of(summary: Summary) -> str:
    return summary.get("target") or summary["platform"]


def suite_of(summary: Summary) -> str:
    return summary.get("suite") or "-"


def merge(summaries: list[Summary]) -> Summary:
    """One session's summaries (one per shard of a parallel step) as one: run
    counts, models and entries add up; what collection left out is counted once;
    `shards` says how many of how many came."""
    first = summaries[0]
    counts: dict[str, int] = {}
    for summary in summaries:
        for name, value in summary["counts"].items():
            if name in SHARDED_COUNTS:
                counts[name] = counts.get(name, 0) + value
            else:
                counts[name] = max(counts.get(name, 0), value)
    models: dict[str, dict[str, int]] = {}
    entries: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        for model, outcomes in summary.get("models", {}).items():
            row = models.setdefault(model, {})
            for kind, n in outcomes.items():
                row[kind] = row.get(kind, 0) + n
        for where, entry in summary.get("entries", {}).items():
            entries.setdefault(where, dict(entry))
    expected = max((s.get("shard") or {}).get("count", 1) for s in summaries)
    shards = {(s.get("shard") or {}).get("id", 0) for s in summaries}
    return {
        **first,
        "counts": counts,
        "models": models,
        "entries": entries,
        "exitstatus": max(s["exitstatus"] for s in summaries),
        "simulated": any(s.get("simulated") for s in summaries),
        "shards": (len(shards), expected),
        "failed_shards": sorted(
            (s.get("shard") or {}).get("id", 0) for s in summaries if s["exitstatus"]
        ),
    }


def merged(summaries: list[Summary]) -> dict[tuple[str, str], Summary]:
    """{(target, suite): the session's merged summary}."""
    by_session: dict[tuple[str, str], list[Summary]] = {}
    for summary in summaries:
        by_session.setdefault((target_of(summary), suite_of(summary)), []).append(
            summary
        )
    return {key: merge(group) for key, group in by_session.items()}


def _cell(summary: Summary) -> str:
    c = summary["counts"]
    icon = ":white_check_mark:" if summary["exitstatus"] == 0 else ":x:"
    parts = [f"{c['passed']} passed"]
    for key, label in COUNT_LABELS:
        if c.get(key):
            parts.append(f"{c[key]} {label}")
    came, expected = summary.get("shards", (1, 1))
    if expected > 1:  # a parallel step: say which shards came and which failed
        failed = summary.get("failed_shards") or []
        shards = f"{came} of {expected} shards reported"
        if failed:
            shards += f", shard {', '.join(map(str, failed))} failed"
        parts.append(shards)
    if came < expected and summary["exitstatus"] == 0:
        icon = ":warning:"  # a missing shard: never green; a failed one stays red
    sim = " (simulated)" if summary.get("simulated") else ""
    return f"{icon} " + ", ".join(parts) + sim


def matrix(
    summaries: list[Summary],
    expected: list[tuple[str, str]] | None = None,
    streaks: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """Markdown for `buildkite-agent annotate`: suites by targets (platforms and
    variants), one cell per session (its shards merged), then which models ran on
    which target. `expected` (target, suite) sessions that sent no summary show as
    such; `streaks` (the history's) are put beside red cells."""
    sessions = merged(summaries)
    wanted = set(expected or ())
    targets = sorted({t for t, _ in sessions} | {t for t, _ in wanted})
    suites = sorted({s for _, s in sessions} | {s for _, s in wanted})
    if not targets:
        return (
            "No testmatrix session summaries were found: every job failed before "
            "writing one, or none was uploaded.\n"
        )
    lines = [
        "| suite | " + " | ".join(md(t) for t in targets) + " |",
        "|---|" + "---|" * len(targets),
    ]
    for suite in suites:
        row = [md(suite)]
        for target in targets:
            summary = sessions.get((target, suite))
            if summary is not None:
                cell = _cell(summary)
                note = (streaks or {}).get((target, suite))
                if note and summary["exitstatus"]:  # the history: since when red
                    cell += " (" + note.replace("|", "/").replace("<", "&lt;") + ")"
                row.append(cell)
            elif (target, suite) in wanted:
                row.append(":warning: no summary")
            else:
                row.append("not run")
        lines.append("| " + " | ".join(row) + " |")
    used = {where for s in sessions.values() for where in s.get("entries", {})}
    lines.append("")
    lines.append(f"{len(sessions)} sessions, {len(used)} skiplist entries used.")
    lines += model_coverage(sessions)
    return "\n".join(lines) + "\n"


def coverage(sessions: dict[tuple[str, str], Summary]) -> dict[str, dict[str, dict]]:
    """{model: {target: outcome counts over every suite}}."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (target, _), summary in sessions.items():
        for model, outcomes in summary.get("models", {}).items():
            cell = out.setdefault(model, {}).setdefault(target, {})
            for kind, n in outcomes.items():
                cell[kind] = cell.get(kind, 0) + n
    return dict(sorted(out.items()))


def _model_cell(outcomes: dict[str, int] | None) -> str:
    if not outcomes:
        return "-"
    parts = []
    for kind, label in (
        ("passed", "passed"),
        ("failed", "failed"),
        ("errors", "errors"),
        ("skipped_by_entry", "skipped by entry"),
        ("expected_fail", "expected to fail"),
        ("unexpected_pass", "passed, entry stale"),
        ("fails_differently", "failed differently"),
        ("skipped_other", "skipped"),
    ):
        if outcomes.get(kind):
            parts.append(f"{outcomes[kind]} {label}")
    if any(outcomes.get(k) for k in ("failed", "errors", "unexpected_pass")):
        icon = ":x:"
    elif outcomes.get("passed"):
        icon = ":white_check_mark:"
    else:
        icon = ":no_entry_sign:"
    return f"{icon} " + ", ".join(parts)


def model_coverage(sessions: dict[tuple[str, str], Summary]) -> list[str]:
    """Markdown lines: which models ran (or were skipped) on which target."""
    table = coverage(sessions)
    if not table:
        return []
    targets = sorted({t for t, _ in sessions})
    lines = [
        "",
        "Models: which ran on which target (its tests' outcomes, every suite).",
        "",
        "| model | " + " | ".join(md(t) for t in targets) + " |",
        "|---|" + "---|" * len(targets),
    ]
    for model, cells in table.items():
        row = [md(model), *(_model_cell(cells.get(t)) for t in targets)]
        lines.append("| " + " | ".join(row) + " |")
    return lines
