"""Two lmctl processes must not apply to one appliance at once: the concurrency guard.

Two layers:
1. an exclusive lock (``filelock``: ``flock`` on POSIX, ``msvcrt.locking`` on Windows) on
   ``<state dir>/locks/<appliance>.lock``, taken before the
   first write and held until the last; a second process on the same host (sharing the state
   directory) is refused at once, told which process holds the lock;
2. an optimistic check: right before the first write, the appliance is read again and every
   object the plan touches must still be as the plan read it (``drift.compare``); otherwise
   nothing is written.
Limits: the lock only covers processes that share the state directory on one host (a local
filesystem: ``flock`` is not reliable over NFS). A writer elsewhere (another host, the web UI)
is only caught if it changed a touched object before the optimistic check; the appliance offers
no lock of its own, so a change made during the writes themselves is reported by the read after
applying, not prevented.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from lmctl.errors import LmctlError
from lmctl.reconcile.filelock import read_text, replace_text, try_lock, unlock
from lmctl.reconcile.statedir import state_subdir


class ApplianceBusyError(LmctlError):
    """Another lmctl process holds the appliance's apply lock."""

    def __init__(self, appliance: str, lock_file: Path, holder: str) -> None:
        self.appliance = appliance
        self.lock_file = lock_file
        super().__init__(
            f"{appliance}: another lmctl apply is writing to it ({holder or 'holder unknown'}; "
            f"lock {lock_file}); wait for it to finish, then plan again"
        )


def lock_path(state_dir: Path, appliance: str) -> Path:
    """Where the apply lock of ``appliance`` lives."""
    return state_dir / "locks" / f"{appliance}.lock"


@contextmanager
def appliance_lock(state_dir: Path, appliance: str) -> Iterator[Path]:
    """Hold the appliance's apply lock for the ``with`` block; ``ApplianceBusyError`` if taken."""
    path = lock_path(state_dir, appliance)
    state_subdir(state_dir, path.parent.name)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not try_lock(descriptor):
            raise ApplianceBusyError(appliance, path, read_text(descriptor))
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        replace_text(descriptor, f"pid {os.getpid()} on {socket.gethostname()} since {since}")
        try:
            yield path
        finally:
            replace_text(descriptor, "")
            unlock(descriptor)
    finally:
        os.close(descriptor)
