"""Session reports: atomic JSON summaries and their merged Markdown matrix."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock

from .errors import TestmatrixError
from .jsonio import read_json

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


def write_summary(path: Path, data: Mapping[str, object]) -> None:
    """Write JSON atomically; concurrent sessions writing the same file take turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock_for(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(tmp, path)


def read_summaries(paths: list[Path]) -> list[Summary]:
    out: list[Summary] = []
    for path in paths:
        data = read_json(path, "testmatrix summary")
        needed = ("platform", "counts", "exitstatus")
        missing = [k for k in needed if not isinstance(data, dict) or k not in data]
        if missing:
            keys = "', '".join(missing)
            raise TestmatrixError(
                f"{path}:1: not a testmatrix summary (no '{keys}'); a session writes "
                "one with --summary-json"
            )
        assert isinstance(data, dict)
        out.append(data)
    return out


def matrix(summaries: list[Summary]) -> str:
    """Markdown table, suites by targets (platforms and variants), ready for
    `buildkite-agent annotate`."""

    def target(summary: Summary) -> str:
        return summary.get("target") or summary["platform"]

    platforms = sorted({target(s) for s in summaries})
    suites = sorted({s.get("suite") or "-" for s in summaries})
    cell = {(target(s), s.get("suite") or "-"): s for s in summaries}
    lines = [
        "| suite | " + " | ".join(platforms) + " |",
        "|---|" + "---|" * len(platforms),
    ]
    for suite in suites:
        row = [suite]
        for platform in platforms:
            s = cell.get((platform, suite))
            if s is None:
                row.append("not run")
                continue
            c = s["counts"]
            icon = ":white_check_mark:" if s["exitstatus"] == 0 else ":x:"
            parts = [f"{c['passed']} passed"]
            for key, label in (
                ("failed", "failed"),
                ("flaky", "flaky"),
                ("skipped_by_entry", "skipped"),
                ("deselected", "deselected"),
                ("ignored_paths", "files ignored"),
                ("not_in_suite", "in other suites"),
                ("errors", "no model"),
            ):
                if c.get(key):
                    parts.append(f"{c[key]} {label}")
            sim = " (simulated)" if s.get("simulated") else ""
            row.append(f"{icon} " + ", ".join(parts) + sim)
        lines.append("| " + " | ".join(row) + " |")
    total = sum(len(s.get("entries", {})) for s in summaries)
    lines.append("")
    lines.append(f"{len(summaries)} sessions, {total} skiplist entries used.")
    return "\n".join(lines) + "\n"
