"""The test viewer's data files: a manifest, an index of test files, and the tests
in shards, each a small script the viewer loads on demand (browsers refuse fetch()
of file:// pages, but load scripts from them).

A test's shard is FNV-1a (32 bit, over the UTF-8 bytes of its file's path) modulo
the shard count: app.js computes the same, so opening one test reads one shard.
"""

from __future__ import annotations

import json
from typing import Any

from .data import MISSING, OUTCOMES, DashboardData, Result, file_of, outcome_code
from .entrypages import entries_in_order
from .pages import suite_pages

SHARD_TESTS = 200  # tests per shard, on average: a shard loads in milliseconds


def fnv1a(text: str) -> int:
    """FNV-1a, 32 bit: tiny, and the same in app.js (no hash library there)."""
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def shard_count(tests: int) -> int:
    return max(1, -(-tests // SHARD_TESTS))


def script(kind: str, key: object, payload: object) -> str:
    """A data file: one call of the viewer's loader with JSON (a subset of
    JavaScript; ASCII-only, so no line separator can end a string early)."""
    args = ", ".join(json.dumps(x, separators=(",", ":")) for x in (kind, key, payload))
    return f"tmLoad({args});\n"


def manifest(data: DashboardData, shards: int) -> dict[str, Any]:
    entries = [e for _, e in entries_in_order(data)]
    return {
        "builds": [
            {"id": b.id, "commit": b.commit, "date": b.date} for b in data.builds
        ],
        "targets": data.targets(),
        "shards": shards,
        "missing": MISSING,
        "outcomes": {code: [name, label] for name, (code, label) in OUTCOMES.items()},
        # in the order of the entries' pages (entry-N.html)
        "entries": [[e.location, e.kind, e.reason, e.issue] for e in entries],
        "suites": suite_pages(data),
    }


def files_index(data: DashboardData, shards: int) -> list[list[Any]]:
    """[file, shard, tests, tests not passing on some target in the latest build]."""
    files: dict[str, list[int]] = {}
    latest = data.latest
    for test, by_target in data.tests.items():
        row = files.setdefault(file_of(test), [0, 0])
        row[0] += 1
        row[1] += any(
            (r := results[latest]) is not None and r.outcome != "passed"
            for results in by_target.values()
        )
    return [[f, fnv1a(f) % shards, n, bad] for f, (n, bad) in sorted(files.items())]


def _target_row(results: list[Result | None]) -> list[Any]:
    """[strip codes, suite, [[build, entry, message], ...]] of one test on a target."""
    codes = "".join([outcome_code(r) for r in results])
    suite = next((r.suite for r in reversed(results) if r is not None), "")
    details = [
        [i, r.entry, r.message]
        for i, r in enumerate(results)
        if r is not None and (r.entry or r.message)
    ]
    return [codes, suite, details]


def shard_payloads(data: DashboardData, shards: int) -> dict[int, dict[str, Any]]:
    """{shard: {test id: {target: its row}}}, every shard present (empty ones too:
    the viewer then says the test is unknown rather than failing to load)."""
    out: dict[int, dict[str, Any]] = {i: {} for i in range(shards)}
    shard_of: dict[str, int] = {}  # by file: hashing in Python is slow
    for test, by_target in sorted(data.tests.items()):
        file = file_of(test)
        shard = shard_of.get(file)
        if shard is None:
            shard = shard_of[file] = fnv1a(file) % shards
        out[shard][test] = {t: _target_row(r) for t, r in sorted(by_target.items())}
    return out
