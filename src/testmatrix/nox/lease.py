"""GPU leases for parallel local sessions: one lock file per GPU, freed by the OS when
its holders die.

Each GPU has a lock file, `gpu<N>.lock`, in a lease directory (default
`<tmp>/testmatrix-leases`, sticky and world-writable like /tmp, so every user and agent
on the host sees the same leases). A GPU is leased while any process holds a flock
on its file; the OS drops a process's locks when it dies.

All or nothing: a session that needs N GPUs takes N free ones or none. It takes the
directory's `scan.lock` (without waiting), tries each GPU's lock without waiting and
keeps them only if N were free; otherwise it lets go of all of them, sleeps and tries
again. It never holds some GPUs while it waits for others, so two sessions cannot
deadlock, and one scan at a time means no scan sees GPUs another one holds only for
the moment it looks.

No other local user can break a lease: a lease directory must be the user's own or
root's, and one that others may write to must be sticky (so only a file's owner, the
directory's owner or root may remove a file in it); there, a lock file must be the
user's or root's (root takes another user's over before using it), and a lock counts
only while its file is still the one at its path.

The lease lasts as long as the test process, whatever happens to nox. nox's
session.run closes every inherited descriptor (subprocess.Popen, close_fds), so pytest
cannot simply inherit the session's locks. Instead the session takes each lock
exclusively, then turns it shared while still under the scan lock, and runs pytest
under `hold`: a small Python step that takes the same locks shared, on files of its
own, and then becomes pytest (exec) with those descriptors open. Scans only take
exclusive locks, so a GPU stays leased until both the session and its pytest are gone:
killing nox leaves pytest holding it. `hold` checks, after taking the locks, that the
session that leased the GPUs is still its parent, so it never runs on a lease that
has passed to someone else.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pwd
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from testmatrix.errors import TestmatrixError

if TYPE_CHECKING:
    from testmatrix.core.model import Platform, Workspace

ENV_GPUS = "TESTMATRIX_GPUS"  # inventory override: "4" or "0,2,3"
ENV_LEASE_DIR = "TESTMATRIX_LEASE_DIR"
ENV_HOLD_FILES = "TESTMATRIX_LEASE_FILES"  # set for `hold` only; it removes them
ENV_HOLD_PARENT = "TESTMATRIX_LEASE_PARENT"
DEFAULT_DIR_NAME = "testmatrix-leases"
MAX_GPUS = 1024  # no host has more; a bigger count is a typo, not an inventory
_NUMBER = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() takes "²" too
_EXPECTED = "expected a GPU count (4) or distinct GPU indices (0,2,3)"


def configured_gpus() -> str | None:
    """$TESTMATRIX_GPUS as set (stripped), or None where it is unset or blank."""
    raw = os.environ.get(ENV_GPUS, "").strip()
    return raw or None


def _bad_inventory(raw: str, problem: str) -> TestmatrixError:
    return TestmatrixError(f"{ENV_GPUS}={raw!r}: {problem}; {_EXPECTED}")


def inventory(default_count: int = 0) -> list[str]:
    """The GPU indices sessions may lease: $TESTMATRIX_GPUS (a count, "4", or distinct
    indices, "0,2,3"), else `default_count` (the detected or configured count)."""
    raw = configured_gpus()
    if raw is None:
        if default_count > MAX_GPUS:
            raise TestmatrixError(
                f"{default_count} GPUs is more than testmatrix leases "
                f"({MAX_GPUS} at most); set {ENV_GPUS} to the GPUs to use"
            )
        return [str(i) for i in range(default_count)]
    if _NUMBER.fullmatch(raw):
        count = int(raw)
        if count > MAX_GPUS:
            raise _bad_inventory(raw, f"more than {MAX_GPUS} GPUs")
        return [str(i) for i in range(count)]
    gpus: list[str] = []
    for position, part in enumerate(raw.split(","), start=1):
        part = part.strip()
        if not part:
            raise _bad_inventory(raw, f"entry {position} is empty")
        if not _NUMBER.fullmatch(part):
            raise _bad_inventory(raw, f"{part!r} is not a non-negative whole number")
        index = str(int(part))  # "01" is GPU 1
        if int(index) >= MAX_GPUS:
            raise _bad_inventory(raw, f"GPU index {index} is beyond {MAX_GPUS - 1}")
        if index in gpus:
            raise _bad_inventory(raw, f"GPU {index} is listed twice")
        gpus.append(index)
    return gpus


def default_lease_dir() -> Path:
    """One directory for the whole host, so users and agents see each other's leases."""
    return Path(tempfile.gettempdir()) / DEFAULT_DIR_NAME


def _make_shared_dir(path: Path) -> None:
    """Create `path` sticky and world-writable, like /tmp (the umask narrows mkdir's
    mode, so chmod after)."""
    try:
        path.mkdir(mode=0o1777)
    except FileExistsError:
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode):  # not to be followed: /tmp is everyone's
            raise TestmatrixError(
                f"GPU lease directory {path} is not a directory; remove it or set "
                f"{ENV_LEASE_DIR}"
            ) from None
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != 0o1777:
            path.chmod(0o1777)  # e.g. made by a run killed before its chmod
        return
    path.chmod(0o1777)


def _user_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:  # a container's uid with no passwd entry
        return f"uid {uid}"


def check_dir(path: Path) -> bool:
    """Refuse a lease directory in which another user could remove or replace a held
    lock file; True where others may create files in it (sticky, like /tmp)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise TestmatrixError(
            f"GPU lease directory {path} cannot be read: {exc.strerror}"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise TestmatrixError(f"GPU lease directory {path} is not a directory")
    if info.st_uid not in (os.getuid(), 0):
        # its owner may remove any file in it, sticky bit or not
        raise TestmatrixError(
            f"GPU lease directory {path} belongs to {_user_name(info.st_uid)}, who "
            f"could remove the leases in it; use one of your own or root's "
            f"({ENV_LEASE_DIR})"
        )
    mode = stat.S_IMODE(info.st_mode)
    shared = bool(mode & 0o022)
    if shared and not mode & stat.S_ISVTX:
        raise TestmatrixError(
            f"GPU lease directory {path} is writable by others and not sticky (mode "
            f"{mode:04o}): anyone could remove a held lease; chmod +t it, or use "
            f"another ({ENV_LEASE_DIR})"
        )
    return shared


def lease_dir(configured: str | None = None) -> Path:
    """$TESTMATRIX_LEASE_DIR, else `[workspace] lease_dir`, else the host-wide one;
    refused where another user could break a lease in it."""
    chosen = os.environ.get(ENV_LEASE_DIR) or configured
    path = Path(chosen) if chosen else default_lease_dir()
    try:
        if chosen:
            path.mkdir(parents=True, exist_ok=True)
        else:
            _make_shared_dir(path)
        check_dir(path)
        # A probe of its own: parallel sessions check the same directory at once.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise TestmatrixError(
            f"GPU lease directory {path} cannot be written: {exc.strerror}"
        ) from None
    return path


def _open_lock_file(path: Path, shared: bool) -> tuple[int, bool]:
    """Open (creating if need be) a lock file every user can lock; (fd, writable).

    An existing file is opened without O_CREAT: with fs.protected_regular, O_CREAT on
    another user's file in a sticky directory fails. A new one is made world-writable
    whatever the umask. Links are not followed: the directory is world-writable. In a
    `shared` directory a file must be ours or root's (root takes others' over).
    """
    flags = os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        try:
            try:
                fd, writable = os.open(path, os.O_RDWR | flags), True
            except PermissionError:  # made by someone else without write for all
                fd, writable = os.open(path, os.O_RDONLY | flags), False
        except FileNotFoundError:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | flags, 0o666)
            except FileExistsError:
                continue  # another process made it just now: open theirs
            os.fchmod(fd, 0o666)
            return fd, True
        except OSError as exc:
            raise _unusable(path, exc) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise TestmatrixError(f"GPU lease file {path} is not a regular file")
        if shared and info.st_uid not in (os.getuid(), 0):
            if os.getuid() != 0:
                os.close(fd)
                raise _untrusted(path, info.st_uid)
            # root makes it root's: from now on no user but root can remove it
            os.fchown(fd, 0, 0)
            os.fchmod(fd, 0o666)
            writable = True
        return fd, writable


def _unusable(path: Path, exc: OSError) -> TestmatrixError:
    if exc.errno == errno.ELOOP:
        return TestmatrixError(f"GPU lease file {path} is a symbolic link; remove it")
    try:
        owner = f" (it belongs to {_user_name(path.lstat().st_uid)})"
    except OSError:
        owner = ""
    return TestmatrixError(
        f"GPU lease file {path} cannot be opened: {exc.strerror}{owner}; remove it "
        f"or set {ENV_LEASE_DIR}"
    )


def _untrusted(path: Path, uid: int) -> TestmatrixError:
    return TestmatrixError(
        f"GPU lease file {path} was made by {_user_name(uid)}, who could remove it "
        f"while this session holds it; not trusted: let its owner or root remove it, "
        f"or set {ENV_LEASE_DIR} to a directory of your own"
    )


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file `fd` has open (not removed or replaced
    between the open and the lock)."""
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _try_lock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a container's uid with no passwd entry
        return f"uid {os.getuid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _write_holder(fd: int, holder: str) -> None:
    """Say in the lock file who holds it, for the 'waiting' message of others."""
    note = {"session": holder, "user": _user(), "pid": os.getpid()}
    data = (json.dumps(note) + "\n").encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _describe_holder(gpu: str, fd: int) -> str:
    try:
        note = json.loads(os.pread(fd, 4096, 0) or b"{}")
        session, user, pid = note["session"], note["user"], int(note["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"GPU {gpu} held by a session that left no note"
    ended = "" if _alive(pid) else ", ended; a process it started holds it still"
    return f"GPU {gpu} held by {session or 'a session'} ({user}, pid {pid}{ended})"


class Lease:
    """Holds a session's GPUs until released and until every process holding its locks
    (the session and the pytest it runs under `hold`) has ended."""

    def __init__(self, gpus: list[str], fds: list[int], files: list[Path]):
        self.gpus = gpus
        self.gpu = ",".join(gpus)  # the visible-devices value
        self.files = files
        self._fds = fds

    def wrap(self, argv: Sequence[str], env: dict[str, str]) -> list[str]:
        """The command that runs `argv` holding this lease too: it keeps the GPUs
        leased while `argv`'s process lives, even if this process is killed. Sets the
        variables `hold` reads in `env` (the process's environment to be)."""
        env[ENV_HOLD_FILES] = os.pathsep.join(str(f) for f in self.files)
        env[ENV_HOLD_PARENT] = str(os.getpid())
        package_parent = json.dumps(str(Path(__file__).resolve().parents[2]))
        code = (
            f"import sys; sys.path.insert(0, {package_parent}); "
            "from testmatrix.nox.lease import hold; hold()"
        )
        return [sys.executable, "-I", "-c", code, *argv]

    def release(self) -> None:
        """Close this process's locks (a pytest still running keeps its own)."""
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold(argv: Sequence[str] | None = None) -> None:
    """Become `argv` (default: this script's arguments) holding the lease whose files
    and leasing process `Lease.wrap` put in the environment; never returns."""
    argv = list(sys.argv[1:] if argv is None else argv)
    files = os.environ.pop(ENV_HOLD_FILES, "")
    parent = os.environ.pop(ENV_HOLD_PARENT, "")
    if not argv or not files or not parent.isdigit():
        sys.exit(f"testmatrix: hold needs a command, ${ENV_HOLD_FILES} and a parent")
    for name in files.split(os.pathsep):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            sys.exit(f"testmatrix: cannot open GPU lease {name}: {exc.strerror}")
        if not _try_lock(fd, fcntl.LOCK_SH):
            sys.exit(f"testmatrix: GPU lease {name} is not ours; pytest not started")
        os.set_inheritable(fd, True)  # kept open, so locked, across the exec
    if os.getppid() != int(parent):  # the lease may have passed to another session
        sys.exit(
            "testmatrix: the session that leased the GPUs ended before pytest "
            "started; not running without the lease"
        )
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        sys.exit(f"testmatrix: cannot run {argv[0]}: {exc.strerror}")


def _check_count(count: object, available: int, who: str) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise TestmatrixError(
            f"{who}: gpus = {count!r} is not a number of GPUs (a whole number, 1 or "
            "more)"
        )
    if count > available:
        raw = configured_gpus()
        source = f" ({ENV_GPUS}={raw})" if raw is not None else ""
        noun = "GPU" if count == 1 else "GPUs"
        raise TestmatrixError(
            f"{who} needs {count} {noun} but this machine has {available}{source}"
        )


def _lock_file(path: Path, shared: bool) -> tuple[int, bool, bool]:
    """(fd, writable, locked): the file at `path` locked exclusively if free; a
    file removed or replaced before the lock took is opened again."""
    while True:
        fd, writable = _open_lock_file(path, shared)
        if not _try_lock(fd, fcntl.LOCK_EX):
            return fd, writable, False
        if _same_file(fd, path):
            return fd, writable, True
        os.close(fd)  # a lock on a file no longer there leases nothing


def _take(
    gpus: list[str],
    directory: Path,
    count: int,
    scan: int,
    holder: str,
    shared: bool,
) -> tuple[list[str], list[int]] | list[str] | None:
    """One all-or-nothing try: (GPUs, fds) taken; else who holds the busy ones; None
    where another session is scanning right now."""
    if not _try_lock(scan, fcntl.LOCK_EX):
        return None
    taken: list[tuple[str, int, bool]] = []
    busy: list[str] = []
    try:
        for gpu in gpus:
            fd, writable, locked = _lock_file(directory / f"gpu{gpu}.lock", shared)
            if locked:
                taken.append((gpu, fd, writable))
                if len(taken) == count:
                    break
            else:
                busy.append(_describe_holder(gpu, fd))
                os.close(fd)
        if len(taken) < count:
            for _, fd, _ in taken:
                os.close(fd)
            return busy
        for gpu, fd, writable in taken:
            # Shared from now on, so `hold` can join; only scans take exclusive locks
            # and this scan is the only one, so the change lets no one in.
            if not _try_lock(fd, fcntl.LOCK_SH):
                raise TestmatrixError(f"GPU {gpu}: lost its lock while sharing it")
            if writable:
                _write_holder(fd, holder)
        return [gpu for gpu, _, _ in taken], [fd for _, fd, _ in taken]
    except BaseException:
        for _, fd, _ in taken:
            os.close(fd)
        raise
    finally:
        fcntl.flock(scan, fcntl.LOCK_UN)


def acquire(
    gpus: list[str],
    directory: Path,
    *,
    count: int = 1,
    wait: float | None = None,
    poll: float = 0.2,
    say: Callable[[str], None] = print,
    holder: str = "",
) -> Lease:
    """Take `count` free GPUs at once; if there are not that many free, say so once and
    wait (up to `wait` seconds), holding none meanwhile."""
    _check_count(count, len(gpus), holder or "this session")
    started = time.monotonic()
    waiting = False
    shared = check_dir(directory)
    scan, _ = _open_lock_file(directory / "scan.lock", shared)
    try:
        while True:
            got = _take(gpus, directory, count, scan, holder, shared)
            if isinstance(got, tuple):
                taken, fds = got
                lease = ",".join(taken)
                if waiting:
                    free = f"GPU {taken[0]} is" if count == 1 else f"GPUs {lease} are"
                    say(f"{free} free now, after {time.monotonic() - started:.1f}s")
                return Lease(taken, fds, [directory / f"gpu{g}.lock" for g in taken])
            if got is not None and not waiting:
                listed = f"GPUs ({', '.join(gpus)})"
                if count == 1:
                    state = (
                        f"all {listed} are leased by other sessions; waiting for one"
                    )
                else:
                    state = (
                        f"{len(got)} of the {listed} are leased by other sessions; "
                        f"waiting for {count} to be free at once"
                    )
                say(f"{state}: {'; '.join(got)}")
                waiting = True
            elapsed = time.monotonic() - started
            # a try that found another scan running is no answer, unless that lasts
            if (
                wait is not None
                and elapsed >= wait
                and (got is not None or elapsed > wait + 1)
            ):
                if count == 1:
                    raise TestmatrixError(f"no GPU became free within {wait:g}s")
                raise TestmatrixError(
                    f"{count} GPUs did not become free at once within {wait:g}s"
                )
            # another scan running: look again soon; else poll, or what is left of wait
            pause = poll if got is not None else min(poll, 0.01)
            if wait is not None and got is not None:
                pause = min(pause, max(0.0, wait - elapsed))
            time.sleep(pause)
    finally:
        os.close(scan)


def for_session(
    workspace: Workspace,
    platform: Platform,
    count: int,
    *,
    say: Callable[[str], None],
    holder: str,
) -> Lease | None:
    """Lease `count` GPUs at once for a session of `platform` (nox's and tox's alike);
    None where there is nothing to lease: no GPU detected and none configured."""
    from testmatrix.core.session import gpus_to_lease
    from testmatrix.system.detect import detect

    detected = gpus_to_lease(workspace, platform, detect)
    if detected is None:
        return None
    gpus = inventory(detected)
    if not gpus and configured_gpus() is None:
        return None  # no GPU detected: nothing to lease
    where = lease_dir(workspace.lease_dir)
    return acquire(gpus, where, count=count, say=say, holder=holder)
