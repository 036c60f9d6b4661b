"""Bring-up of a new platform in one command, end to end on the bundled miniature:
run its sessions with --no-skiplist, propose from the reports, run again: green,
every failure accounted for by a proposed entry. And what propose writes from a
history checks clean with `lint` and reads back through `explain`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from selftest.helpers import Result, clean_env, run, run_pytest

pytestmark = pytest.mark.slow

SUITES = ("api-server", "pooling", "language", "kernels", "kernels-multi-gpu", "aiter")
FIRST = '[platform]\ndescription = "AMD GPUs, new here"\nhardware = "rocm"\n'


def cli_in(root: Path, *args: str) -> Result:
    env = clean_env(PYTHONPATH=str(root / "src"), TESTMATRIX_NO_CACHE="1")
    return run([sys.executable, "-m", "testmatrix", *args], root, env)


def run_sessions(root: Path, *extra: str) -> dict[str, dict]:
    """Every rocm session as `testmatrix argv` gives it; each one's summary."""
    out = {}
    for suite in SUITES:
        argv = json.loads(cli_in(root, "argv", "--json", f"rocm-{suite}").stdout)
        run_pytest(root, *argv["argv"], *extra)
        summary = root / "reports" / f"rocm-{suite}" / "summary.json"
        out[suite] = json.loads(summary.read_text())
    return out


def test_a_no_skiplist_run_brings_up_a_platform_whose_next_run_is_green(
    workspace: Path,
) -> None:
    # the platform is new: its file declares it, and holds no entry yet
    (workspace / "skiplists" / "platforms" / "rocm.toml").write_text(FIRST)
    first = run_sessions(workspace, "--testmatrix-no-skiplist")
    red = {s: c["counts"]["failed"] + c["counts"]["errors"] for s, c in first.items()}
    assert sum(red.values()) > 40, red  # the miniature's encoder failures on rocm
    assert all(c["simulated"] for c in first.values())  # no AMD GPU here

    # simulated hardware proposes nothing unless told this is a dry run
    plain = cli_in(workspace, "propose", "--reports", "reports")
    assert plain.returncode == 0, plain.output
    assert plain.stdout.startswith("testmatrix propose: nothing to propose")
    done = cli_in(
        workspace, "propose", "--reports", "reports", "--include-simulated", "--write"
    )
    assert done.returncode == 0, done.output
    text = (workspace / "skiplists" / "platforms" / "rocm.toml").read_text()
    assert text.startswith(FIRST)  # the declaration as it was, entries after it
    # clustered by error signature: one entry for the encoder error, naming files
    # and parametrizations, not one test id per failure
    assert text.count("[[deselect]]") == 1
    assert 'fails = { error = "NotImplementedError", match = "Encoder self-' in text
    assert '"tests/entrypoints/openai/test_vision.py",' in text
    assert "test_transcription_on_each_backend[" in text
    lint = cli_in(workspace, "lint")
    assert lint.returncode == 0 and " 0 errors, 0 warnings" in lint.output, lint.output

    second = run_sessions(workspace)
    for suite, summary in second.items():
        counts = summary["counts"]
        assert summary["exitstatus"] == 0, (suite, counts)
        # every test that failed before is an expected failure now, none lost
        assert counts["failed"] + counts["errors"] == 0
        assert counts["expected_fail"] == red[suite], (suite, counts)
        assert counts["fails_differently"] == counts["unexpected_pass"] == 0


def test_what_propose_writes_from_a_history_lints_clean_and_explains_back(
    history_ws: Path,
) -> None:
    src = Path(__file__).resolve().parents[3] / "src"
    (history_ws / "conftest.py").write_text("")
    env = clean_env(PYTHONPATH=str(src), TESTMATRIX_NO_CACHE="1")

    def cli(*args: str) -> Result:
        return run([sys.executable, "-m", "testmatrix", *args], history_ws, env)

    done = cli("propose", "--quiet", "4", "--write")
    assert done.returncode == 0, done.output
    lint = cli("lint")
    assert lint.returncode == 0 and " 0 errors, 0 warnings" in lint.output, lint.output
    rows = json.loads(cli("explain", "--json", "--platform", "rocm").stdout)["tests"]
    fate = {(r["target"], r["test"]): (r["fate"], r["entry"]) for r in rows}
    lines = (history_ws / "skiplists" / "platforms" / "rocm.toml").read_text()
    at = lines.splitlines().index('test = "tests/lang/test_a.py"') + 1
    # the new entry, cited by its header or its test's line
    cited = {f"skiplists/platforms/rocm.toml:{n}" for n in (at - 1, at)}
    for name in ("test_one", "test_two", "test_three"):
        kind, entry = fate[("rocm:mi300", f"tests/lang/test_a.py::{name}")]
        assert kind == "expected-fail" and entry in cited, (kind, entry)
        assert fate[("rocm:mi355", f"tests/lang/test_a.py::{name}")][0] == "runs"
    for target in ("rocm:mi300", "rocm:mi355"):
        for p in "xyz":
            assert fate[(target, f"tests/lang/test_b.py::test_param[{p}]")][0] == (
                "expected-fail"
            )
        assert fate[(target, "tests/lang/test_b.py::test_other")][0] == "runs"
    # the removed entries decide nothing any more
    assert fate[("rocm:mi300", "tests/lang/test_fixed.py::test_fixed")][0] == "runs"
    gone = {"crashed in the allocator", "was timing-dependent", "hangs", "wrong output"}
    assert not gone & {r["reason"] for r in rows}
    crash = fate[("rocm:mi300", "tests/lang/test_crash.py::test_crash")]
    assert crash[0] == "deselected"  # never reported, its file here: kept
    flaky = [r for r in rows if r["test"] == "tests/lang/test_wobble.py::test_wobble"]
    by_target = {r["target"]: r["reruns"] for r in flaky}
    assert by_target["rocm:mi300"] == 2 and not by_target["rocm:mi355"]
