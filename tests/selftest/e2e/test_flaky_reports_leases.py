"""Known flakes rerun (only they), reports merge into a matrix, GPU leases never
double-book, shards balance."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selftest.helpers import REPO, clean_env, run
from testmatrix import errors
from testmatrix.nox.lease import lease_dir
from testmatrix.plugin.shard import assign

FLAKY = {
    "skiplists/platforms/sim.toml": """
        [[flaky]]
        test = "tests/unit/test_flaky.py::test_sometimes"
        reruns = 3
        reason = "races the server start"
        issue = "https://example.org/flaky/1"
    """,
    "tests/unit/test_flaky.py": """
        from pathlib import Path

        COUNTER = Path(__file__).with_name("attempts.txt")

        def test_sometimes():
            n = int(COUNTER.read_text()) if COUNTER.exists() else 0
            COUNTER.write_text(str(n + 1))
            assert n >= 1, "fails the first time only"

        def test_always_broken():
            raise AssertionError("a real failure")

        def test_fine():
            pass
    """,
}


def test_listed_flake_passes_on_rerun_and_others_fail_at_once(inprocess, tiny):
    root = tiny(FLAKY)
    summary = root / "summary.json"
    result = inprocess(
        root, "tests/unit", "--platform=sim", f"--summary-json={summary}"
    )
    assert result.returncode == 1
    assert result.counts() == {"passed": 2, "failed": 1, "rerun": 1}
    assert (
        "FLAKY (passed on rerun) tests/unit/test_flaky.py::test_sometimes: "
        "races the server start" in result.stdout
    )
    data = json.loads(summary.read_text())
    assert data["flaky"] == ["tests/unit/test_flaky.py::test_sometimes"]
    assert (
        data["counts"]["flaky"] == 1
        and data["counts"]["failed"] == 1
        and data["counts"]["passed"] == 2
    )
    assert set(data["durations"]) == {
        f"tests/unit/test_flaky.py::{n}"
        for n in ("test_sometimes", "test_always_broken", "test_fine")
    }


@pytest.mark.slow
def test_flaky_entry_that_matches_nothing_is_a_lint_error(tiny):
    root = tiny(
        {
            **FLAKY,
            "skiplists/platforms/sim.toml": FLAKY[
                "skiplists/platforms/sim.toml"
            ].replace("test_sometimes", "test_gone"),
        }
    )
    result = run([sys.executable, "-m", "testmatrix", "lint"], root)
    assert result.returncode == 1
    assert (
        "skiplists/platforms/sim.toml:2: error: flaky entry "
        "'tests/unit/test_flaky.py::test_gone' matches no collected test"
        in result.stdout
    )


@pytest.mark.slow
def test_session_reports_merge_into_a_markdown_matrix(workspace):
    for session in ("cuda-language", "rocm-language", "rocm-pooling"):
        assert (
            run(
                [sys.executable, "-m", "nox", "--no-venv", "-s", session], workspace
            ).returncode
            == 0
        )
        # only the reports: nothing else lands in the folder Buildkite uploads
        assert sorted(p.name for p in (workspace / f"reports/{session}").iterdir()) == [
            "junit.xml",
            "summary.json",
        ]
    result = run(
        [sys.executable, "-m", "testmatrix", "report", "-o", "matrix.md"], workspace
    )
    assert result.returncode == 0, result.output
    text = (workspace / "matrix.md").read_text()
    assert "| suite | cuda | rocm |" in text
    assert (
        "| language | :white_check_mark: 18 passed (simulated) "
        "| :white_check_mark: 14 passed, 4 expected failures (simulated) |" in text
    )
    assert (
        "| pooling | not run "
        "| :white_check_mark: 7 passed, 35 expected failures (simulated) |" in text
    )


WRITER = """
import sys, time
from pathlib import Path
from testmatrix.results.reports import write_summary
start = float(sys.argv[3])
while time.time() < start:
    pass
for i in range(400):
    write_summary(
        Path(sys.argv[1]), {"writer": sys.argv[2], "i": i, "payload": "x" * 20000}
    )
"""


@pytest.mark.slow
def test_sessions_writing_one_summary_at_once_never_corrupt_it(tmp_path):
    target = tmp_path / "reports" / "summary.json"
    start = str(time.time() + 1.0)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), str(n), start],
            env=clean_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    seen = set()
    while any(w.poll() is None for w in writers):
        if target.exists():
            data = json.loads(
                target.read_text()
            )  # a reader never sees a half-written file
            seen.add(data["writer"])
    assert [w.wait() for w in writers] == [0, 0, 0, 0], [
        w.stderr.read() for w in writers
    ]
    assert json.loads(target.read_text())["i"] == 399
    assert [p.name for p in target.parent.iterdir()] == [
        "summary.json"
    ]  # no temp or lock file left beside it
    assert seen  # the reader really read while the writers wrote


HOLDER = """
import sys, time
sys.path.insert(0, {src!r})
from pathlib import Path
from testmatrix.nox.lease import acquire
lease = acquire(
    ["0", "1"],
    Path({dir!r}),
    poll=0.05,
    say=lambda m: print(m, flush=True),
    holder=sys.argv[1],
)
print("LEASED", lease.gpu, flush=True)
Path({dir!r}, "log").open("a").write(f"start {{lease.gpu}} {{time.monotonic()}}\\n")
time.sleep(float(sys.argv[2]))
Path({dir!r}, "log").open("a").write(f"end {{lease.gpu}} {{time.monotonic()}}\\n")
"""


@pytest.mark.slow
def test_racing_sessions_never_share_a_gpu_and_a_killed_one_frees_its_lease(tmp_path):
    script = tmp_path / "hold.py"
    script.write_text(HOLDER.format(src=str(REPO / "src"), dir=str(tmp_path)))
    victim = subprocess.Popen(
        [sys.executable, str(script), "victim", "60"], stdout=subprocess.PIPE, text=True
    )
    victim_gpu = victim.stdout.readline().split()[1]
    others = [
        subprocess.Popen(
            [sys.executable, str(script), f"p{i}", "0.3"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    time.sleep(1.0)
    killed_at = time.monotonic()  # no one can take its GPU before this
    victim.send_signal(signal.SIGKILL)  # crashes mid-run, holding its GPU
    victim.wait()
    outputs = [p.communicate(timeout=60)[0] for p in others]
    assert all(p.returncode == 0 for p in others)
    assert any(
        "are leased by other sessions; waiting for one" in out for out in outputs
    )
    events = []
    for line in (tmp_path / "log").read_text().splitlines():
        kind, gpu, at = line.split()
        events.append((float(at), kind, gpu))
    events.append((killed_at, "end", victim_gpu))
    holding: dict[str, int] = {}
    for _, kind, gpu in sorted(events):
        holding[gpu] = holding.get(gpu, 0) + (1 if kind == "start" else -1)
        assert holding[gpu] <= 1, "two sessions held one GPU"
    used = {gpu for _, kind, gpu in events if kind == "start"}
    assert used == {"0", "1"}  # the killed session's GPU was taken over


CHECK_LEASE_DIR = """
import sys, time
from testmatrix.nox.lease import lease_dir
start = float(sys.argv[2])
while time.time() < start:
    pass
for _ in range(300):
    lease_dir(sys.argv[1])
"""


@pytest.mark.slow
def test_lease_directory_checked_by_parallel_sessions_at_once(tmp_path):
    # `nox -j N` starts sessions together; each checks the shared directory as it
    # starts.
    start = str(time.time() + 1.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHECK_LEASE_DIR, str(tmp_path / "leases"), start],
            env=clean_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors_seen = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], "\n".join(errors_seen)
    assert list((tmp_path / "leases").iterdir()) == []  # no probe is left behind


def test_lease_directory_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(
        errors.TestmatrixError, match=r"GPU lease directory .* cannot be written"
    ):
        lease_dir(str(blocker / "leases"))


def test_shards_cover_every_test_once_and_balance_by_durations():
    ids = [f"t{i}" for i in range(200)]
    durations = {
        t: (30.0 if i % 17 == 0 else 0.5 + (i % 5) * 0.2) for i, t in enumerate(ids)
    }
    for num in (2, 3, 4):
        owner = assign(ids, num, durations)
        assert len(owner) == len(ids) and set(owner) == set(range(num))
        loads = [
            sum(durations[t] for t, s in zip(ids, owner, strict=True) if s == k)
            for k in range(num)
        ]
        assert max(loads) <= 1.10 * (sum(loads) / num)
        by_count = assign(ids, num)
        assert (
            sorted(by_count.count(k) for k in range(num))[-1]
            - sorted(by_count.count(k) for k in range(num))[0]
            <= 1
        )


@pytest.mark.slow  # four collections of the bundled suite
def test_every_selected_test_runs_in_exactly_one_shard(inprocess):
    seen = []
    for shard in range(3):
        result = inprocess(
            REPO,
            "--collect-only",
            "-q",
            "tests/entrypoints",
            "--platform=rocm",
            "--num-shards=3",
            f"--shard-id={shard}",
        )
        seen += [line for line in result.stdout.splitlines() if "::" in line]
    whole = inprocess(
        REPO, "--collect-only", "-q", "tests/entrypoints", "--platform=rocm"
    )
    assert sorted(seen) == sorted(
        line for line in whole.stdout.splitlines() if "::" in line
    )


def test_shard_index_out_of_range(inprocess):
    # the prefixed names: pytest-shard, where installed, owns the short ones
    result = inprocess(
        REPO,
        "tests/models",
        "--platform=rocm",
        "--testmatrix-num-shards=2",
        "--testmatrix-shard-id=2",
    )
    assert result.returncode == 4
    assert result.stderr.strip() == (
        "ERROR: --testmatrix-shard-id=2 is out of range for "
        "--testmatrix-num-shards=2 (0..1)"
    )


@pytest.mark.slow
def test_nox_session_leases_a_gpu_from_a_configured_inventory(workspace, tmp_path):
    env = clean_env(TESTMATRIX_GPUS="2", TESTMATRIX_LEASE_DIR=str(tmp_path / "leases"))
    result = run(
        [sys.executable, "-m", "nox", "--no-venv", "-s", "cuda-language"],
        workspace,
        env,
    )
    assert result.returncode == 0, result.output
    assert "leased GPU 0: CUDA_VISIBLE_DEVICES=0" in result.stderr


GPU_EXAMPLE = REPO / "examples" / "gpu-lease"


def _gpu_example(tmp_path: Path) -> Path:
    """A copy of the GPU example that finds this checkout's testmatrix."""
    import shutil

    root = tmp_path / "gpu-lease"
    shutil.copytree(
        GPU_EXAMPLE, root, ignore=shutil.ignore_patterns("reports", "__pycache__")
    )
    (root / "noxfile.py").write_text(
        (root / "noxfile.py")
        .read_text()
        .replace('Path(__file__).resolve().parents[2] / "src"', repr(str(REPO / "src")))
    )
    (root / "pytest.ini").write_text(
        (root / "pytest.ini").read_text().replace("../../src", str(REPO / "src"))
    )
    return root


def _visible_devices(root: Path) -> dict[str, str]:
    import re

    out = {}
    for suite in ("matmul", "attention"):
        text = (root / f"reports/cuda-{suite}/junit.xml").read_text()
        out[suite] = re.search(
            r'name="CUDA_VISIBLE_DEVICES" value="([^"]*)"', text
        ).group(1)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("gpus, distinct", [("2", True), ("1", False)])
def test_nox_parallel_sessions_each_get_their_own_gpu(tmp_path, gpus, distinct):
    root = _gpu_example(tmp_path)
    env = clean_env(
        TESTMATRIX_GPUS=gpus,
        TESTMATRIX_LEASE_DIR=str(tmp_path / "leases"),
        GPU_WORK_SECONDS="1",
    )
    sessions = ["-s", "cuda-matmul", "cuda-attention", "-j", "2"]
    result = run([sys.executable, "-m", "nox", "--no-venv", *sessions], root, env)
    assert result.returncode == 0, result.output[-3000:]
    devices = _visible_devices(root)
    assert (devices["matmul"] != devices["attention"]) is distinct
    if not distinct:  # one GPU: the second session waited for the first to finish
        assert "are leased by other sessions; waiting for one" in result.output


@pytest.mark.slow
def test_two_gpu_suites_on_three_gpus_never_share_or_deadlock(tmp_path):
    """Two 2-GPU sessions and a 1-GPU one under nox -j 3 on a fake inventory of 3:
    the pairs take turns (all or nothing), and no GPU is ever held twice at once."""
    import shutil
    import xml.etree.ElementTree as ET
    from datetime import datetime

    root = _gpu_example(tmp_path)
    shutil.copytree(root / "tests/tensor_parallel", root / "tests/tensor_parallel_b")
    suites = root / "skiplists/suites.toml"
    suites.write_text(
        suites.read_text()
        + '\n[suites.tensor-parallel-b]\npath = "tests/tensor_parallel_b"\ngpus = 2\n'
    )
    env = clean_env(
        TESTMATRIX_GPUS="3",
        TESTMATRIX_LEASE_DIR=str(tmp_path / "leases"),
        GPU_WORK_SECONDS="1.5",
    )
    names = ["cuda-tensor-parallel", "cuda-tensor-parallel-b", "cuda-matmul"]
    command = [sys.executable, "-m", "nox", "--no-venv", "-s", *names, "-j", "3"]
    result = run(command, root, env)
    assert result.returncode == 0, result.output[-3000:]
    held = {}
    for name in names:
        suite = ET.parse(root / f"reports/{name}/junit.xml").getroot().find("testsuite")
        start = datetime.fromisoformat(suite.get("timestamp")).timestamp()
        visible = next(
            p.get("value")
            for p in suite.iter("property")
            if p.get("name") == "CUDA_VISIBLE_DEVICES"
        )
        held[name] = (set(visible.split(",")), start, start + float(suite.get("time")))
    assert [len(held[n][0]) for n in names] == [2, 2, 1]
    # two pairs out of three GPUs must share one: the loop below proves they took
    # turns (nox -j shows no session's log, so the times in JUnit are the evidence)
    assert held[names[0]][0] & held[names[1]][0]
    for a in names:
        for b in names:
            if a < b and held[a][0] & held[b][0]:  # shared a GPU: never at once
                assert held[a][2] <= held[b][1] or held[b][2] <= held[a][1], held


@pytest.mark.slow
def test_benchmark_runs_end_to_end_on_a_tiny_suite(tmp_path):
    out = tmp_path / "results.json"
    result = run(
        [
            sys.executable,
            str(REPO / "benchmarks/run.py"),
            "--smoke",
            "--json",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
        ],
        REPO,
    )
    assert result.returncode == 0, result.output[-3000:]
    data = json.loads(out.read_text())
    figures = [f["figure"] for f in data["figures"]]
    # F6 reads vLLM's CI files vendored under tests/selftest/data/vllm
    expected = ["F1", "F2", "F3", "fixed", "F4", "F5", "F6", "session", "saving"]
    assert list(dict.fromkeys(figures)) == expected
    assert all(
        f["candidate_value"] > 0 and f["baseline_value"] > 0 for f in data["figures"]
    )
    # per-item timing came from the hook in the collecting process, both sides
    f1 = data["figures"][0]["detail"]
    assert f1["testmatrix"]["items_seen"] == f1["naive hook"]["items_seen"] > 0
    assert "testmatrix.plugin" in f1["testmatrix"]["modifyitems_impls"]
    assert "naivehook" in f1["naive hook"]["modifyitems_impls"]
    assert "testmatrix.plugin" not in f1["naive hook"]["modifyitems_impls"]
    # both sizes of the tiny run against the floor, with each side's peak memory
    # and the CPU time it spends after atexit; nox -l cold and warm with its floor
    f3 = [f for f in data["figures"] if f["figure"] == "F3"]
    assert len(f3) == 3
    for row in f3:
        sides = row["detail"]["sides"]
        assert all(s["maxrss_mb"] > 0 for s in sides.values())
        assert all(s["after_atexit_cpu_s"] is not None for s in sides.values())
    assert "plain_flags" in f3[0]["detail"]
    assert [f.get("floor", 0) > 0 for f in data["figures"] if f["figure"] == "F4"] == [
        True,
        True,
    ]
    # bytecode caching on in the measured processes, whatever this one says
    assert data["bytecode_caching"] == "on"
    assert list((tmp_path / "work").rglob("test_*.cpython-*.pyc"))
    # the vLLM shapes are all there, and the wide mix's (tuple parameters,
    # indirect fixtures, pytest_generate_tests, nested classes)
    ws = data["workspaces"]["ws-800-30"]
    assert set(ws["shapes"]) == {
        "classes",
        "encoder_only",
        "generated",
        "generation",
        "indirect",
        "mixed",
        "model_info",
        "nested_classes",
        "server",
        "tuples",
    }
    # 30 entries asked for (and the wide mix's hybrid skip), and the wide mix's
    # single-test deselects on top: tables that name one test or more each
    kinds = ws["entry_kinds"]
    regular = sum(n for kind, n in kinds.items() if kind != "single")
    assert ws["files"] >= 40 and 0 < regular <= 31
    assert 0 < ws["entries"] - regular <= kinds["single"]
