"""GPU leases: a validated inventory, N GPUs all or nothing, one host-wide directory
and a lease that lasts as long as the test process, whatever happens to nox."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from selftest.helpers import REPO, clean_env
from testmatrix import errors
from testmatrix.nox.lease import (
    ENV_HOLD_FILES,
    ENV_HOLD_PARENT,
    acquire,
    default_lease_dir,
    inventory,
    lease_dir,
)


@pytest.fixture
def leases(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("TESTMATRIX_GPUS", raising=False)
    monkeypatch.delenv("TESTMATRIX_LEASE_DIR", raising=False)
    path = tmp_path / "leases"
    path.mkdir()
    return path


def quiet(message: str) -> None:
    pass


# -- inventory -------------------------------------------------------------------------

EXPECTED = "expected a GPU count (4) or distinct GPU indices (0,2,3)"


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("abc", "'abc' is not a non-negative whole number"),
        ("-1", "'-1' is not a non-negative whole number"),
        ("0,0", "GPU 0 is listed twice"),
        ("0,00", "GPU 0 is listed twice"),
        ("1,,2", "entry 2 is empty"),
        ("0,1,", "entry 3 is empty"),
        ("1.5", "'1.5' is not a non-negative whole number"),
        ("0;1", "'0;1' is not a non-negative whole number"),
        ("²", "'²' is not a non-negative whole number"),
        ("1_000", "'1_000' is not a non-negative whole number"),
        ("1000000000", "more than 1024 GPUs"),
        ("0,1024", "GPU index 1024 is beyond 1023"),
    ],
)
def test_a_bad_inventory_is_one_line_naming_the_variable(monkeypatch, raw, problem):
    monkeypatch.setenv("TESTMATRIX_GPUS", raw)
    with pytest.raises(errors.TestmatrixError) as info:
        inventory(8)
    assert str(info.value) == f"TESTMATRIX_GPUS={raw!r}: {problem}; {EXPECTED}"


@pytest.mark.parametrize(
    "raw, gpus",
    [
        ("4", ["0", "1", "2", "3"]),
        (" 2 ", ["0", "1"]),
        ("0,2,3", ["0", "2", "3"]),
        (" 3, 1 ", ["3", "1"]),
        ("01,2", ["1", "2"]),
        ("0", []),
        ("", ["0", "1", "2"]),  # blank: the detected count
        (None, ["0", "1", "2"]),
    ],
)
def test_good_inventories(monkeypatch, raw, gpus):
    if raw is None:
        monkeypatch.delenv("TESTMATRIX_GPUS", raising=False)
    else:
        monkeypatch.setenv("TESTMATRIX_GPUS", raw)
    assert inventory(3) == gpus


def test_a_count_at_the_cap_is_fine_and_quick(monkeypatch):
    monkeypatch.setenv("TESTMATRIX_GPUS", "1024")
    assert len(inventory()) == 1024
    monkeypatch.delenv("TESTMATRIX_GPUS")
    with pytest.raises(
        errors.TestmatrixError, match=r"^2000 GPUs is more than testmatrix"
    ):
        inventory(2000)


def test_zero_gpus_is_said_not_a_silent_run_without_a_lease(leases, monkeypatch):
    monkeypatch.setenv("TESTMATRIX_GPUS", "0")
    with pytest.raises(errors.TestmatrixError) as info:
        acquire(inventory(), leases, holder="cuda-unit", say=quiet)
    assert (
        str(info.value)
        == "cuda-unit needs 1 GPU but this machine has 0 (TESTMATRIX_GPUS=0)"
    )


def test_more_gpus_than_the_inventory_fails_at_once(leases, monkeypatch):
    monkeypatch.setenv("TESTMATRIX_GPUS", "2")
    started = time.monotonic()
    with pytest.raises(errors.TestmatrixError) as info:
        acquire(inventory(), leases, count=4, holder="cuda-big", say=quiet)
    assert (
        str(info.value)
        == "cuda-big needs 4 GPUs but this machine has 2 (TESTMATRIX_GPUS=2)"
    )
    assert time.monotonic() - started < 1  # no waiting for GPUs that cannot come


@pytest.mark.parametrize("count", [0, -1, "2", True, 1.5])
def test_a_count_that_is_not_a_number_of_gpus(leases, count):
    with pytest.raises(errors.TestmatrixError) as info:
        acquire(["0", "1"], leases, count=count, holder="cuda-unit", say=quiet)
    assert str(info.value) == (
        f"cuda-unit: gpus = {count!r} is not a number of GPUs (a whole number, 1 or "
        "more)"
    )


# -- all or nothing --------------------------------------------------------------------


def test_two_leases_of_two_on_three_gpus_the_second_waits_holding_none(leases):
    said: list[str] = []
    first = acquire(["0", "1", "2"], leases, count=2, holder="first", say=quiet)
    assert first.gpus == ["0", "1"] and first.gpu == "0,1"
    with pytest.raises(errors.TestmatrixError) as info:
        acquire(["0", "1", "2"], leases, count=2, wait=0.1, poll=0.01, say=said.append)
    assert str(info.value) == "2 GPUs did not become free at once within 0.1s"
    pid = os.getpid()
    user = json.loads((leases / "gpu0.lock").read_text())["user"]
    assert said == [
        "2 of the GPUs (0, 1, 2) are leased by other sessions; waiting for 2 to be "
        f"free at once: GPU 0 held by first ({user}, pid {pid}); GPU 1 held by first "
        f"({user}, pid {pid})"
    ]
    # the one that gave up took nothing: GPU 2 is free
    with acquire(["0", "1", "2"], leases, wait=0, say=quiet) as third:
        assert third.gpus == ["2"]
    first.release()
    first.release()  # twice is harmless
    with acquire(["0", "1", "2"], leases, count=2, wait=0, say=quiet) as again:
        assert again.gpus == ["0", "1"]


def test_a_waiting_multi_gpu_lease_hoards_nothing_and_gets_all_when_free(leases):
    gpus = ["0", "1", "2"]
    first = acquire(gpus, leases, count=2, holder="first", say=quiet)
    said: list[str] = []
    got: list[list[str]] = []
    waiter = threading.Thread(
        target=lambda: got.append(
            acquire(gpus, leases, count=2, wait=10, poll=0.01, say=said.append).gpus
        )
    )
    waiter.start()
    deadline = time.monotonic() + 5
    while not said and time.monotonic() < deadline:
        time.sleep(0.005)
    assert said and "waiting for 2 to be free at once" in said[0]
    # while it waits, a one-GPU session still gets the third GPU
    single = acquire(gpus, leases, wait=0, say=quiet)
    assert single.gpus == ["2"]
    first.release()
    waiter.join(10)
    assert got == [["0", "1"]]
    assert said[-1].startswith("GPUs 0,1 are free now, after ")
    single.release()


def test_one_gpu_wait_message_keeps_its_words(leases):
    said: list[str] = []
    with (
        acquire(["0"], leases, holder="cuda-a", say=quiet),
        pytest.raises(errors.TestmatrixError, match=r"^no GPU became free within 0s$"),
    ):
        acquire(["0"], leases, wait=0, say=said.append)
    assert said[0].startswith(
        "all GPUs (0) are leased by other sessions; waiting for one: GPU 0 held by "
        "cuda-a ("
    )


def test_a_scan_running_elsewhere_is_waited_out_not_a_timeout(leases):
    scanning = os.open(leases / "scan.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(scanning, fcntl.LOCK_EX)  # another session is mid-scan
    threading.Timer(0.05, os.close, [scanning]).start()
    with acquire(["0"], leases, wait=0, say=quiet) as lease:
        assert lease.gpus == ["0"]


def test_the_lease_lasts_while_a_process_sharing_it_lives(leases):
    """What `hold` does for pytest, in one process: a second open file description
    with a shared lock keeps the GPU leased after the session lets go."""
    lease = acquire(["0"], leases, say=quiet)
    pytest_side = os.open(leases / "gpu0.lock", os.O_RDONLY)
    fcntl.flock(pytest_side, fcntl.LOCK_SH | fcntl.LOCK_NB)
    lease.release()  # nox is gone ...
    with pytest.raises(errors.TestmatrixError):  # ... but pytest still holds the GPU
        acquire(["0"], leases, wait=0, say=quiet)
    os.close(pytest_side)  # pytest ends
    acquire(["0"], leases, wait=0, say=quiet).release()


# -- the shared directory --------------------------------------------------------------


def test_default_directory_is_host_wide_sticky_and_world_writable(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("TESTMATRIX_LEASE_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = os.umask(0o077)
    try:
        path = lease_dir()
        lease = acquire(["0"], path, say=quiet)
        lease.release()
    finally:
        os.umask(old)
    assert path == default_lease_dir() == tmp_path / "testmatrix-leases"
    assert stat.S_IMODE(path.stat().st_mode) == 0o1777
    for name in ("gpu0.lock", "scan.lock"):
        assert stat.S_IMODE((path / name).stat().st_mode) == 0o666, name
    assert lease_dir() == path  # a second time: it exists already


def test_default_directory_that_is_not_a_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("TESTMATRIX_LEASE_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "testmatrix-leases").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(errors.TestmatrixError) as info:
        lease_dir()
    assert str(info.value) == (
        f"GPU lease directory {tmp_path / 'testmatrix-leases'} is not a directory; "
        "remove it or set TESTMATRIX_LEASE_DIR"
    )


def test_overrides_still_choose_the_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("TESTMATRIX_LEASE_DIR", raising=False)
    assert lease_dir(str(tmp_path / "configured")) == tmp_path / "configured"
    monkeypatch.setenv("TESTMATRIX_LEASE_DIR", str(tmp_path / "env"))
    assert lease_dir(str(tmp_path / "configured")) == tmp_path / "env"


def test_a_planted_symlink_is_refused_not_followed(leases, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (leases / "gpu0.lock").symlink_to(victim)
    with pytest.raises(errors.TestmatrixError, match=r"gpu0\.lock is a symbolic link"):
        acquire(["0"], leases, say=quiet)
    assert victim.read_text() == "precious"


# -- the nox session -------------------------------------------------------------------


class Quit(Exception):
    pass


class FakeSession:
    """What pytest_session.run uses of a nox session."""

    name = "cuda-unit"
    posargs = ()
    virtualenv = None  # a virtualenv of its own: `prepare` installs (a no-op here)

    def __init__(self, leases: Path):
        self.leases = leases
        self.logs: list[str] = []
        self.runs: list[tuple[tuple[str, ...], dict, object]] = []

    def log(self, message: str) -> None:
        self.logs.append(message)

    def error(self, message: str):
        raise Quit(message)

    def install(self, *args: str) -> None:
        pass

    def run(self, *args: str, env: dict | None = None, external: object = None, **kw):
        if args[:2] == ("python", "-c"):  # prepare: testmatrix imports there
            return ""
        with pytest.raises(errors.TestmatrixError):  # leased while pytest runs
            acquire(["0"], self.leases, wait=0, say=quiet)
        self.runs.append((args, env, external))


def test_a_suite_that_needs_two_gpus_gets_both_in_its_variable(
    tiny, leases, monkeypatch
):
    from testmatrix.config.loader import load_workspace
    from testmatrix.core.session import SessionKey
    from testmatrix.nox.sessions import pytest_session

    monkeypatch.setenv("TESTMATRIX_GPUS", "3")
    monkeypatch.setenv("TESTMATRIX_LEASE_DIR", str(leases))

    def suite_needing(gpus: int) -> Path:
        suites = f'[suites.unit]\npath = "tests/unit"\ngpus = {gpus}\n'
        return tiny({"skiplists/suites.toml": suites})

    workspace = load_workspace(suite_needing(2))
    session = FakeSession(leases)
    pytest_session(workspace, SessionKey("cuda", None, "unit"))(session)
    [(argv, env, external)] = session.runs
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert "leased GPUs 0,1: CUDA_VISIBLE_DEVICES=0,1" in session.logs
    assert argv[:2] == (sys.executable, "-I") and "hold()" in argv[3]
    assert argv[4] == "pytest" and external is True
    assert env[ENV_HOLD_FILES] == os.pathsep.join(
        str(leases / f"gpu{n}.lock") for n in (0, 1)
    )
    acquire(["0", "1", "2"], leases, count=3, wait=0, say=quiet).release()  # freed

    workspace = load_workspace(suite_needing(4))
    with pytest.raises(Quit) as info:
        pytest_session(workspace, SessionKey("cuda", None, "unit"))(session)
    assert str(info.value) == (
        "cuda-unit needs 4 GPUs but this machine has 3 (TESTMATRIX_GPUS=3)"
    )


# -- real processes --------------------------------------------------------------------

PRINT_ENV = (
    "import os; print('RAN', os.environ.get('TESTMATRIX_LEASE_FILES'), "
    "os.environ.get('TESTMATRIX_LEASE_PARENT'))"
)


@pytest.mark.slow
def test_hold_runs_the_command_only_for_the_process_that_leased(leases):
    lease = acquire(["0"], leases, say=quiet)
    env: dict[str, str] = {}
    argv = lease.wrap([sys.executable, "-c", PRINT_ENV], env)
    ran = subprocess.run(
        argv, env=clean_env(**env), capture_output=True, text=True, timeout=30
    )
    assert (ran.returncode, ran.stdout) == (0, "RAN None None\n"), ran.stderr
    # a lease passed on to another session (its leaser is not the parent): refused
    ran = subprocess.run(
        argv,
        env=clean_env(**{**env, ENV_HOLD_PARENT: "1"}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ran.returncode == 1 and "RAN" not in ran.stdout
    assert ran.stderr.strip() == (
        "testmatrix: the session that leased the GPUs ended before pytest started; "
        "not running without the lease"
    )
    lease.release()


SESSION = """
import os, subprocess, sys
sys.path.insert(0, {src!r})
from pathlib import Path
from testmatrix.nox.lease import acquire, inventory
name, count, hold, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lease = acquire(inventory(), Path(folder, "leases"), count=count, poll=0.02,
                say=lambda m: print(m, flush=True), holder=name)
env = dict(os.environ, CUDA_VISIBLE_DEVICES=lease.gpu)
try:
    subprocess.run(lease.wrap([sys.executable, "-c", {child!r}, name, hold, folder],
                   env), env=env)
finally:
    lease.release()
"""

TEST_PROCESS = """
import os, sys, time
name, hold, folder = sys.argv[1:4]
def note(kind):
    with open(os.path.join(folder, "log"), "a") as log:
        log.write(f"{kind} {name} {os.getpid()} {os.environ['CUDA_VISIBLE_DEVICES']}"
                  f" {time.monotonic()}\\n")
note("start")
time.sleep(float(hold))
note("end")
"""


def as_nobody() -> list[str]:
    """The command line that starts Python as the unprivileged user `nobody`, on an
    interpreter nobody may run (a venv's may point into root's home); the test skips
    where this process cannot switch users."""
    if os.geteuid() != 0:
        pytest.skip("a second local user needs root (setpriv to nobody)")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    # what the session does: import the lease, and start this interpreter again
    probe = (
        f"import subprocess, sys; sys.path.insert(0, {str(REPO / 'src')!r}); "
        "import testmatrix.nox.lease; "
        "subprocess.run([sys.executable, '-c', ''], check=True)"
    )
    for python in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        command = [*prefix, python]
        ran = subprocess.run(
            [*command, "-c", probe], capture_output=True, cwd="/", timeout=60
        )
        if ran.returncode == 0:
            return command
    pytest.skip(f"user nobody can run no Python that imports {REPO / 'src'}")


@pytest.fixture
def shared_folder():
    """A folder both users can reach, its lease directory root's and sticky (as
    /tmp's own testmatrix-leases is where root made it)."""
    folder = Path(tempfile.mkdtemp(prefix="testmatrix-race-"))
    folder.chmod(0o755)
    (folder / "leases").mkdir()
    (folder / "leases").chmod(0o1777)
    (folder / "log").touch()
    (folder / "log").chmod(0o666)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("users", [1, 2], ids=["one-user", "two-users"])
def test_racing_sessions_killed_at_random_never_share_a_gpu(tmp_path, users, request):
    """6 sessions (nox stand-ins) race for 3 GPUs, needing 1 or 2 each; each runs its
    test process under the lease. Some sessions are SIGKILLed while their test process
    runs (which must keep the GPUs leased), one test process is SIGKILLed (which must
    free them). No GPU ever has two live holders. With two users, every other session
    is the unprivileged user nobody's, in a sticky lease directory both share."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    counts = {f"s{i}": 1 + i % 2 for i in range(6)}
    prefix: dict[str, list[str]] = {name: [] for name in counts}
    if users == 2:
        nobody = as_nobody()
        tmp_path = request.getfixturevalue("shared_folder")
        prefix.update(dict.fromkeys(list(counts)[::2], nobody))
    else:
        (tmp_path / "leases").mkdir()
    script = tmp_path / "session.py"
    script.write_text(SESSION.format(src=str(REPO / "src"), child=TEST_PROCESS))
    names = list(counts)
    rng.shuffle(names)
    kill_session, kill_test = set(names[:2]), names[2]
    env = clean_env(TESTMATRIX_GPUS="3")
    sessions = {
        name: subprocess.Popen(
            [
                *(prefix[name] or [sys.executable]),
                str(script),
                name,
                str(n),
                "0.6",
                str(tmp_path),
            ],
            env=env,
            cwd=tmp_path,  # one nobody may enter
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, n in counts.items()
    }
    log = tmp_path / "log"
    events: list[tuple[float, str, str, list[str]]] = []
    planned: dict[str, tuple[float, int]] = {}  # name -> (when, pid to kill)
    done: set[str] = set()
    deadline = time.monotonic() + 30
    while len(done) < len(counts) and time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        for line in lines:
            kind, name, pid, gpus, _ = line.split()
            if kind == "start" and name not in planned:
                later = time.monotonic() + rng.uniform(0.05, 0.4)
                target = sessions[name].pid if name in kill_session else int(pid)
                planned[name] = (later, target)
            if kind == "end":
                done.add(name)
        for name, (when, target) in list(planned.items()):
            if when and time.monotonic() >= when:
                if name in kill_session or (name == kill_test and name not in done):
                    killed_at = time.monotonic()  # its locks are held until now
                    with contextlib.suppress(ProcessLookupError):  # just ended
                        os.kill(target, signal.SIGKILL)
                    if name == kill_test:
                        gpus = next(
                            line.split()[3]
                            for line in lines
                            if line.startswith(f"start {name} ")
                        )
                        events.append((killed_at, "end", name, gpus.split(",")))
                        done.add(name)
                planned[name] = (0.0, target)
        time.sleep(0.005)
    outputs = {name: p.communicate(timeout=30)[0] for name, p in sessions.items()}
    context = f"seed {seed}, log:\n{log.read_text()}\noutputs: {outputs}"
    assert len(done) == len(counts), context
    for line in log.read_text().splitlines():
        kind, name, _, gpus, at = line.split()
        events.append((float(at), kind, name, gpus.split(",")))
    starts = sorted(n for _, kind, n, _ in events if kind == "start")
    assert starts == sorted(counts), context  # each test process ran once
    # a killed session's test process ran to its end, holding the GPUs meanwhile
    ended = {n for _, kind, n, _ in events if kind == "end"}
    assert kill_session <= ended, context
    for _, _, name, gpus in events:
        assert len(gpus) == counts[name], context
    holders: dict[str, set[str]] = {}
    for _, kind, name, gpus in sorted(events, key=lambda e: (e[0], e[1] == "end")):
        for gpu in gpus:
            live = holders.setdefault(gpu, set())
            if kind == "start":
                assert not live, (
                    f"GPU {gpu}: {name} started while {live} held it; {context}"
                )
                live.add(name)
            else:
                live.discard(name)
    assert any("waiting for" in out for out in outputs.values()), outputs
    assert not any("Traceback" in out for out in outputs.values()), outputs
    if users == 2:  # nobody's sessions ran too, and root took their lock files over
        assert {n for n in starts if prefix[n]} == set(list(counts)[::2]), context
    # nothing is left leased: all three GPUs at once, within moments
    acquire(["0", "1", "2"], tmp_path / "leases", count=3, wait=5, say=quiet).release()
