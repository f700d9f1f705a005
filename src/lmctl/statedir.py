"""lmctl's state directory (``.lmctl`` by default): backups, apply locks and ``mock://`` state.

It usually sits in the admin's spec repository, and backups hold the appliance's private keys,
so every directory lmctl creates there gets a ``.gitignore`` of ``*``: ``git add -A`` never picks
up a backup, a lock or the mock's state.

The apply lock: two lmctl processes must not write to one appliance at once. An exclusive lock
(``flock`` on POSIX, ``msvcrt.locking`` on Windows) on ``<state dir>/locks/<appliance>.lock`` is
taken before the first write and held until the last; a second process on the same host (sharing
the state directory) is refused at once, told which process holds it. The OS module is imported
only when a lock is taken, so ``lmctl plan`` (which takes none) works on every OS. Limits: only
processes that share the state directory on one host (a local filesystem: ``flock`` is not
reliable over NFS); a writer elsewhere is caught by apply's drift check before the first write.
"""

from __future__ import annotations

import importlib
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from lmctl.errors import LmctlError

DEFAULT_STATE_DIR = Path(".lmctl")
"""Where backups, locks and the ``mock://`` appliances' state are kept."""

GITIGNORE = "*\n"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # absent on Windows, where links need privileges

# Where the Windows lock byte sits: past any holder text ("pid ... on ... since ...").
WINDOWS_LOCK_OFFSET = 1 << 20


class StateDirError(LmctlError):
    """The state directory (or one of its subdirectories) cannot be created or used."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing, with a ``.gitignore`` of ``*`` in it; an
    existing directory is left as it is (it may be the user's own). ``StateDirError`` when it
    cannot be had (a file in the way, no permission)."""
    try:
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            (path / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    except OSError as error:
        raise StateDirError(
            f"the state directory {path} cannot be used ({error.strerror or error}); choose "
            "another with --state-dir (or LMCTL_STATE_DIR)"
        ) from None
    return path


def state_subdir(state_dir: Path, name: str) -> Path:
    """``state_dir/name`` (``backups``, ``locks``), both created as ``private_dir``."""
    private_dir(state_dir)
    return private_dir(state_dir / name)


def save_backup(state_dir: Path, appliance: str, archive: bytes) -> Path:
    """Keep the appliance's backup as ``backups/<appliance>-<UTC timestamp>.bak`` (mode 0600)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = state_subdir(state_dir, "backups") / f"{appliance}-{stamp}.bak"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(archive)
    return path


class ApplianceBusyError(LmctlError):
    """Another lmctl process holds the appliance's apply lock."""

    def __init__(self, appliance: str, lock_file: Path, holder: str) -> None:
        self.appliance = appliance
        self.lock_file = lock_file
        super().__init__(
            f"{appliance}: another lmctl apply is writing to it ({holder or 'holder unknown'}; "
            f"lock {lock_file}); wait for it to finish, then plan again"
        )


def _try_lock_posix(descriptor: int) -> bool:
    fcntl = importlib.import_module("fcntl")
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock_posix(descriptor: int) -> None:
    fcntl = importlib.import_module("fcntl")
    fcntl.flock(descriptor, fcntl.LOCK_UN)


def _try_lock_windows(descriptor: int) -> bool:
    # A locked region cannot be read by others on Windows, and the holder text at the start
    # must stay readable: lock one byte far past it.
    msvcrt = importlib.import_module("msvcrt")
    os.lseek(descriptor, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
    try:
        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock_windows(descriptor: int) -> None:
    msvcrt = importlib.import_module("msvcrt")
    os.lseek(descriptor, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
    msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)


def _for_this_os() -> tuple[Callable[[int], bool], Callable[[int], None]]:
    if sys.platform == "win32":
        return _try_lock_windows, _unlock_windows
    return _try_lock_posix, _unlock_posix


def try_lock(descriptor: int) -> bool:
    """Take the exclusive lock on the open file; False at once when another process holds it."""
    return _for_this_os()[0](descriptor)


def unlock(descriptor: int) -> None:
    """Release the lock taken by ``try_lock``."""
    _for_this_os()[1](descriptor)


def _read_text(descriptor: int, size: int = 512) -> str:
    os.lseek(descriptor, 0, os.SEEK_SET)
    return os.read(descriptor, size).decode("utf-8", "replace").strip()


def _replace_text(descriptor: int, text: str) -> None:
    os.ftruncate(descriptor, 0)
    os.lseek(descriptor, 0, os.SEEK_SET)
    os.write(descriptor, text.encode())


def lock_path(state_dir: Path, appliance: str) -> Path:
    """Where the apply lock of ``appliance`` lives."""
    return state_dir / "locks" / f"{appliance}.lock"


@contextmanager
def appliance_lock(state_dir: Path, appliance: str) -> Iterator[Path]:
    """Hold the appliance's apply lock for the ``with`` block; ``ApplianceBusyError`` if taken."""
    path = lock_path(state_dir, appliance)
    state_subdir(state_dir, path.parent.name)
    try:
        # Never through a link: a spec repository could ship one pointing at any file.
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
    except OSError as error:
        raise StateDirError(
            f"the apply lock {path} cannot be opened ({error.strerror or error}); it must be a "
            "regular file, not a link: remove it"
        ) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise StateDirError(f"the apply lock {path} is not a regular file: remove it")
    try:
        if not try_lock(descriptor):
            raise ApplianceBusyError(appliance, path, _read_text(descriptor))
        import socket  # only when a lock is taken: lmctl --help imports this module

        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _replace_text(descriptor, f"pid {os.getpid()} on {socket.gethostname()} since {since}")
        try:
            yield path
        finally:
            _replace_text(descriptor, "")
            unlock(descriptor)
    finally:
        os.close(descriptor)
