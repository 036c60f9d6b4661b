"""Leases another local user cannot break: the lease directory and its lock files
are checked before a lock in them counts (issue 20)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from selftest.helpers import REPO, clean_env
from selftest.nox.test_lease import as_nobody
from testmatrix import errors
from testmatrix.nox import lease as leasemod
from testmatrix.nox.lease import acquire, lease_dir

OTHER_UID = 54321  # a user with no passwd entry: owns what "someone else" made


def quiet(message: str) -> None:
    pass


@pytest.fixture
def as_root():
    if os.geteuid() != 0:
        pytest.skip("making files of another user needs root")


@pytest.fixture
def sticky(tmp_path: Path) -> Path:
    path = tmp_path / "leases"
    path.mkdir()
    path.chmod(0o1777)
    return path


def test_a_directory_of_another_user_is_refused_with_one_line(tmp_path, as_root):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, OTHER_UID, OTHER_UID)
    with pytest.raises(errors.TestmatrixError) as info:
        acquire(["0"], theirs, say=quiet)
    assert str(info.value) == (
        f"GPU lease directory {theirs} belongs to uid {OTHER_UID}, who could remove "
        "the leases in it; use one of your own or root's (TESTMATRIX_LEASE_DIR)"
    )
    assert not list(theirs.iterdir())  # nothing made in it


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_a_directory_others_may_write_without_the_sticky_bit_is_refused(
    tmp_path, monkeypatch, mode
):
    path = tmp_path / "open"
    path.mkdir()
    path.chmod(mode)
    monkeypatch.setenv("TESTMATRIX_LEASE_DIR", str(path))
    with pytest.raises(errors.TestmatrixError) as info:
        lease_dir()
    assert str(info.value) == (
        f"GPU lease directory {path} is writable by others and not sticky (mode "
        f"{mode:04o}): anyone could remove a held lease; chmod +t it, or use another "
        "(TESTMATRIX_LEASE_DIR)"
    )


def test_a_default_directory_another_user_made_first_is_refused(
    tmp_path, monkeypatch, as_root
):
    monkeypatch.delenv("TESTMATRIX_LEASE_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    planted = tmp_path / "testmatrix-leases"
    planted.mkdir(mode=0o1777)
    os.chown(planted, OTHER_UID, OTHER_UID)
    with pytest.raises(errors.TestmatrixError, match=r"belongs to uid 54321, who"):
        lease_dir()


def test_a_private_directory_needs_no_sticky_bit(tmp_path, monkeypatch):
    path = tmp_path / "mine"
    monkeypatch.setenv("TESTMATRIX_LEASE_DIR", str(path))
    old = os.umask(0o022)
    try:
        assert lease_dir() == path
    finally:
        os.umask(old)
    assert leasemod.check_dir(path) is False  # others cannot add files: no owner check
    acquire(["0"], path, say=quiet).release()


def test_root_takes_over_a_lock_file_another_user_made_keeping_its_lock(
    sticky, as_root
):
    """Root makes another user's lock file root's before trusting it; a lock held
    on it meanwhile still counts."""
    planted = sticky / "gpu0.lock"
    planted.touch(mode=0o600)
    os.chown(planted, OTHER_UID, OTHER_UID)
    holder = os.open(planted, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_SH)  # their session holds GPU 0
    with pytest.raises(errors.TestmatrixError, match="no GPU became free"):
        acquire(["0"], sticky, wait=0, say=quiet)
    info = planted.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (0, 0, 0o666)
    os.close(holder)
    with acquire(["0"], sticky, wait=0, say=quiet) as lease:
        assert lease.gpus == ["0"]


def test_a_lock_file_replaced_before_its_lock_took_is_opened_again(sticky, monkeypatch):
    """A lock on a file no longer at its path leases nothing: the new file counts."""
    path = sticky / "gpu0.lock"
    real = leasemod._try_lock
    replaced: list[int] = []

    def replace_then_lock(fd: int, operation: int) -> bool:
        first = operation == fcntl.LOCK_EX and not replaced
        if first and os.fstat(fd).st_ino == path.stat().st_ino:
            replaced.append(fd)
            path.unlink()  # what a user with the right to could do
            path.touch(mode=0o666)
        return real(fd, operation)

    path.touch(mode=0o666)
    monkeypatch.setattr(leasemod, "_try_lock", replace_then_lock)
    with acquire(["0"], sticky, wait=0, say=quiet) as lease:
        assert replaced and lease.gpus == ["0"]
        # the lock held is on the file now at the path: a second session is refused
        monkeypatch.setattr(leasemod, "_try_lock", real)
        with pytest.raises(errors.TestmatrixError, match="no GPU became free"):
            acquire(["0"], sticky, wait=0, say=quiet)


# -- as another user (slow: processes as nobody) ------------------------------------

ATTEMPT = """
import sys
sys.path.insert(0, {src!r})
from pathlib import Path
from testmatrix.errors import TestmatrixError
from testmatrix.nox.lease import acquire, lease_dir
try:
    with acquire(["0"], lease_dir(), wait=0, say=print, holder="theirs") as lease:
        print("leased", lease.gpu)
except TestmatrixError as exc:
    sys.exit(f"error: {{exc}}")
"""


@pytest.fixture
def shared_leases():
    """A sticky lease directory root made, where nobody may reach it."""
    folder = Path(tempfile.mkdtemp(prefix="testmatrix-trust-"))
    folder.chmod(0o755)
    leases = folder / "leases"
    leases.mkdir()
    leases.chmod(0o1777)
    (folder / "attempt.py").write_text(ATTEMPT.format(src=str(REPO / "src")))
    yield leases
    shutil.rmtree(folder, ignore_errors=True)


def attempt_as_nobody(leases: Path) -> subprocess.CompletedProcess[str]:
    command = [*as_nobody(), str(leases.parent / "attempt.py")]
    env = clean_env(TESTMATRIX_LEASE_DIR=str(leases))
    return subprocess.run(
        command, env=env, cwd="/", capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", [0o600, 0o666], ids=["0600", "0666"])
def test_another_users_lock_file_is_one_line_for_a_user_not_root(shared_leases, mode):
    planted = shared_leases / "scan.lock"
    planted.touch(mode=mode)
    os.chown(planted, OTHER_UID, OTHER_UID)
    ran = attempt_as_nobody(shared_leases)
    assert ran.returncode == 1 and ran.stdout == "", ran.stderr
    why = (
        "cannot be opened: Permission denied (it belongs to uid 54321); remove it or "
        "set TESTMATRIX_LEASE_DIR"
        if mode == 0o600
        else "was made by uid 54321, who could remove it while this session holds "
        "it; not trusted: let its owner or root remove it, or set TESTMATRIX_LEASE_DIR"
        " to a directory of your own"
    )
    assert ran.stderr == f"error: GPU lease file {planted} {why}\n"


@pytest.mark.slow
def test_a_user_not_root_shares_roots_lock_files_and_their_locks(shared_leases):
    with acquire(["0"], shared_leases, say=quiet, holder="roots") as lease:
        ran = attempt_as_nobody(shared_leases)
        assert ran.returncode == 1, ran.stdout + ran.stderr
        assert "GPU 0 held by roots (root, pid" in ran.stdout
        assert ran.stderr == "error: no GPU became free within 0s\n"
        assert lease.gpus == ["0"]
    ran = attempt_as_nobody(shared_leases)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "leased 0\n", "")


@pytest.mark.slow
def test_an_unsafe_directory_is_one_line_for_a_user_not_root(shared_leases):
    shared_leases.chmod(0o777)
    ran = attempt_as_nobody(shared_leases)
    assert ran.returncode == 1 and ran.stdout == ""
    assert ran.stderr == (
        f"error: GPU lease directory {shared_leases} is writable by others and not "
        "sticky (mode 0777): anyone could remove a held lease; chmod +t it, or use "
        "another (TESTMATRIX_LEASE_DIR)\n"
    )
    assert not list(shared_leases.iterdir())  # refused before anything was made


REMOVE = """
import os, sys
try:
    os.unlink(sys.argv[1])
except OSError as exc:
    sys.exit(exc.strerror)
print("removed")
"""


@pytest.mark.slow
def test_a_lock_file_another_user_planted_cannot_be_removed_while_held(shared_leases):
    """The attack of issue 20: nobody makes gpu0.lock first, root's session leases
    GPU 0 on it, nobody removes the file, and a second session gets GPU 0 on a new
    file. Root makes the file its own before using it, so the removal fails."""
    planted = shared_leases / "gpu0.lock"
    make = [*as_nobody(), "-c", f"open({str(planted)!r}, 'w').close()"]
    subprocess.run(make, check=True, cwd="/", timeout=60)
    assert planted.stat().st_uid != 0
    with acquire(["0"], shared_leases, say=quiet, holder="first") as lease:
        assert lease.gpus == ["0"] and planted.stat().st_uid == 0
        remove = [*as_nobody(), "-c", REMOVE, str(planted)]
        ran = subprocess.run(remove, cwd="/", capture_output=True, text=True)
        assert (ran.returncode, ran.stderr) == (1, "Operation not permitted\n")
        with pytest.raises(errors.TestmatrixError, match="no GPU became free"):
            acquire(["0"], shared_leases, wait=0, say=quiet, holder="second")
