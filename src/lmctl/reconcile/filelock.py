"""An exclusive, non-waiting lock on an open file, one small function pair per OS.

POSIX: ``fcntl.flock`` on the whole file. Windows: ``msvcrt.locking`` of one byte far past the
holder text (a locked region cannot be read by others on Windows, and the holder text at the
start must stay readable). The OS module is imported only when a lock is taken, so importing
lmctl (and ``lmctl plan``, which takes no lock) works on every OS.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

# Where the Windows lock byte sits: past any holder text ("pid ... on ... since ...").
WINDOWS_LOCK_OFFSET = 1 << 20


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


def read_text(descriptor: int, size: int = 512) -> str:
    """The start of the file (the lock holder's description), on every OS."""
    os.lseek(descriptor, 0, os.SEEK_SET)
    return os.read(descriptor, size).decode("utf-8", "replace").strip()


def replace_text(descriptor: int, text: str) -> None:
    """Make ``text`` the whole content of the file (empty: clear it)."""
    os.ftruncate(descriptor, 0)
    os.lseek(descriptor, 0, os.SEEK_SET)
    os.write(descriptor, text.encode())
