"""GPU leases: a validated inventory, N GPUs all or nothing, one host-wide directory."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest

from testmatrix import errors
from testmatrix.lease import acquire, default_lease_dir, inventory, lease_dir


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

    def run(self, *args: str, env: dict, external: object = None) -> None:
        with pytest.raises(errors.TestmatrixError):  # leased while pytest runs
            acquire(["0"], self.leases, wait=0, say=quiet)
        self.runs.append((args, env, external))


def test_a_suite_that_needs_two_gpus_gets_both_in_its_variable(
    tiny, leases, monkeypatch
):
    from testmatrix.config import load_workspace
    from testmatrix.noxsessions import pytest_session

    monkeypatch.setenv("TESTMATRIX_GPUS", "3")
    monkeypatch.setenv("TESTMATRIX_LEASE_DIR", str(leases))
    workspace = load_workspace(tiny({}))
    suite = workspace.suites["unit"]
    suite.settings["gpus"] = 2  # what a suite's `gpus = 2` will say
    session = FakeSession(leases)
    pytest_session(workspace, workspace.platforms["cuda"], suite)(session)
    [(argv, env, external)] = session.runs
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert "leased GPUs 0,1: CUDA_VISIBLE_DEVICES=0,1" in session.logs
    assert argv[0] == "pytest" and external is None  # as before the lease
    acquire(["0", "1", "2"], leases, count=3, wait=0, say=quiet).release()  # freed

    suite.settings["gpus"] = 4
    with pytest.raises(Quit) as info:
        pytest_session(workspace, workspace.platforms["cuda"], suite)(session)
    assert str(info.value) == (
        "cuda-unit needs 4 GPUs but this machine has 3 (TESTMATRIX_GPUS=3)"
    )
