"""A small workspace with a hand-kept ROCm skiplist, and a generated history of six
builds on two variants whose truth is known: what a careful maintainer would change."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from selftest.history import histgen as gen
from selftest.history.histgen import BuildSpec, JobSpec, Res

ROCM = """\
# ROCm: a hand-kept file; its comments, blank lines and key order must survive.

[platform]
description = "AMD GPUs"
hardware = "rocm"

[variants.mi300]
match = ["gfx942"]

[variants.mi355]
match = ["gfx950"]

# fixed upstream: its test passes now
[[deselect]]
test = "tests/lang/test_fixed.py::test_fixed"
reason = "crashed in the allocator"
issue = "https://example.org/1"
fails = { error = "RuntimeError", match = "allocator" }

# still failing: stays
[[deselect]]
test = "tests/lang/test_held.py::test_held"
reason = "no kernel for this GPU"   # a comment after a value
issue = "https://example.org/2"
fails = { error = "NotImplementedError" }

# crashes the worker: never runs, so no report names it
[[deselect]]
test = "tests/lang/test_crash.py::test_crash"
reason = "segfaults the worker"
issue = "https://example.org/4"

[[flaky]]
test = "tests/lang/test_calm.py::test_calm"
reruns = 2
reason = "was timing-dependent"

# the file was deleted long ago
[[deselect]]
test = "tests/lang/test_gone.py::test_gone"
reason = "hangs"

# renamed upstream: its old id is reported no more
[[deselect]]
test = "tests/lang/test_vanish.py::test_old_name"
reason = "wrong output"
issue = "https://example.org/3"
fails = { error = "AssertionError" }

# end of the hand-kept part
"""


def _entry_at(test: str) -> str:
    """The location the plugin gives the entry naming `test`: the test's line."""
    lines = ROCM.splitlines()
    at = next(i for i, line in enumerate(lines) if test in line)
    return f"skiplists/platforms/rocm.toml:{at + 1}"  # as the plugin cites it


E_FIXED = _entry_at("test_fixed.py")
E_HELD = _entry_at("test_held.py")
E_CALM = _entry_at("test_calm.py")
E_GONE = _entry_at("test_gone.py")
E_CRASH = _entry_at("test_crash.py")
E_VANISH = _entry_at("test_vanish.py")
TESTS = {
    "test_a.py": "def test_one(): pass\ndef test_two(): pass\ndef test_three(): pass\n",
    "test_b.py": (
        "import pytest\n\n@pytest.mark.parametrize('p', ['x', 'y', 'z'])\n"
        "def test_param(p): pass\n\ndef test_other(): pass\n"
    ),
    "test_c.py": "def test_mixed(): pass\n",
    "test_late.py": "def test_late(): pass\n",
    "test_wobble.py": "def test_wobble(): pass\n",
    "test_fixed.py": "def test_fixed(): pass\n",
    "test_held.py": "def test_held(): pass\n",
    "test_calm.py": "def test_calm(): pass\n",
    "test_crash.py": "def test_crash(): pass\n",
    "test_flip.py": "def test_flip(): pass\n",
    "test_alt.py": "def test_alt(): pass\n",
    "test_vanish.py": "def test_new_name(): pass\n",
}
TARGETS = ("rocm:mi300", "rocm:mi355")
BUILDS = 6


def workspace(root: Path) -> Path:
    """The workspace's files under `root`."""
    (root / "skiplists" / "platforms").mkdir(parents=True)
    (root / "skiplists" / "suites.toml").write_text(
        '[suites.lang]\npath = "tests/lang"\n'
    )
    (root / "skiplists" / "platforms" / "rocm.toml").write_text(ROCM)
    (root / "tests" / "lang").mkdir(parents=True)
    for name, text in TESTS.items():
        (root / "tests" / "lang" / name).write_text(text)
    (root / "pytest.ini").write_text(
        textwrap.dedent(
            """\
            [pytest]
            addopts = -p testmatrix.plugin --import-mode=importlib
            testpaths = tests
            """
        )
    )
    return root


def _results(target: str, n: int) -> list[Res]:
    mi300 = target == "rocm:mi300"
    f = "tests/lang/"
    out = [
        Res(f + "test_b.py::test_other", "passed"),
        Res(
            f + "test_held.py::test_held",
            "expected_fail",
            E_HELD,
            "NotImplementedError",
        ),
        Res(f + "test_calm.py::test_calm", "passed", E_CALM),
    ]
    if n < 3:  # then renamed: the old id is never reported again
        old = f + "test_vanish.py::test_old_name"
        out.append(Res(old, "expected_fail", E_VANISH, "AssertionError"))
    else:
        out.append(Res(f + "test_vanish.py::test_new_name", "passed"))
    fixed = "expected_fail" if n < 3 else "unexpected_pass"
    out.append(Res(f + "test_fixed.py::test_fixed", fixed, E_FIXED, "allocator"))
    for name in ("test_one", "test_two", "test_three"):
        if mi300:  # one cause, an address that differs every time
            message = f"RuntimeError: HIP out of memory at 0x7f{n}{len(name)}a"
            out.append(Res(f"{f}test_a.py::{name}", "failed", message=message))
        else:
            out.append(Res(f"{f}test_a.py::{name}", "passed"))
    for p in "xyz":
        outcome = "failed" if n >= 2 else "passed"
        message = f"KeyError: 'weight_{p}'"
        out.append(Res(f"{f}test_b.py::test_param[{p}]", outcome, message=message))
    mixed = "ValueError: bad shape (2, 3)" if n % 2 else "TypeError: not a tensor"
    out.append(Res(f + "test_c.py::test_mixed", "failed", message=mixed))
    late = "failed" if n >= BUILDS - 2 else "passed"
    out.append(Res(f + "test_late.py::test_late", late, message="AssertionError: x"))
    # flips on mi355, then fails three times in a row: flaky, not a new failure
    flip = "failed" if not mi300 and n in (1, 3, 4, 5) else "passed"
    out.append(Res(f + "test_flip.py::test_flip", flip, message="TimeoutError: 30 s"))
    # an error in one build, a failure in the next, one cause: still one entry
    alt = ("error" if n % 2 else "failed") if not mi300 else "passed"
    out.append(Res(f + "test_alt.py::test_alt", alt, message="RuntimeError: lost"))
    wobble = "failed" if mi300 and n % 2 else "passed"
    out.append(Res(f + "test_wobble.py::test_wobble", wobble, message=gen.FAIL))
    return out


def history() -> list[BuildSpec]:
    out = []
    for n in range(BUILDS):
        build = BuildSpec(f"{201 + n}", f"c{n}", f"2026-04-{n + 1:02d}T04:00:00+00:00")
        for target in TARGETS:
            folder = f"reports/{target.replace(':', '-')}-lang"
            job = JobSpec(target, "lang", None, False, folder)
            job.results = _results(target, n)
            build.jobs.append(job)
        out.append(build)
    return out


# histgen writes an entry's kind, reason and issue from its ENTRIES table
ENTRY_ROWS = {
    E_FIXED: ("deselect", "crashed in the allocator", "https://example.org/1"),
    E_HELD: ("deselect", "no kernel for this GPU", "https://example.org/2"),
    E_CALM: ("flaky", "was timing-dependent", ""),
    E_VANISH: ("deselect", "wrong output", "https://example.org/3"),
}


def mark_simulated(directory: Path, targets: tuple[str, ...]) -> None:
    """Say in these targets' summaries that they ran on simulated hardware."""
    for path in directory.rglob("summary*.json"):
        data = json.loads(path.read_text())
        if data["target"] in targets:
            data["simulated"] = True
            path.write_text(json.dumps(data))
