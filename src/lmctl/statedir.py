"""lmctl's state directory (``.lmctl`` by default): backups (each with its record), the journal,
apply locks and ``mock://`` state.

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
import re
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lmctl.errors import LmctlError
from lmctl.files import NOFOLLOW, file_kind

DEFAULT_STATE_DIR = Path(".lmctl")
"""Where backups, locks and the ``mock://`` appliances' state are kept."""

GITIGNORE = "*\n"

BACKUP_SUFFIX = ".bak"
RECORD_SUFFIX = ".json"
JOURNAL_NAME = "journal.jsonl"
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_BACKUP_NAME = re.compile(r"(?P<appliance>.+)-(?P<stamp>\d{8}T\d{6}\.\d{6}Z)\.bak")

# Where the Windows lock byte sits: past any holder text ("pid ... on ... since ...").
WINDOWS_LOCK_OFFSET = 1 << 20

# Directories are opened as descriptors and files created relative to them, so that no link can
# be swapped in between the check and the write (POSIX ``openat``; Python's ``dir_fd``). Windows
# has neither, and creating links there needs privileges: paths are used as they are.
_DIR_FDS = hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class StateDirError(LmctlError):
    """The state directory (or a directory or file in it) cannot be created or used: it is not
    there, not a directory, not writable, or a symbolic link lmctl will not write through."""


def _refuse_link(path: Path, what: str) -> None:
    """``StateDirError`` when ``path`` is a symbolic link (a spec repository can ship one that
    points anywhere: lmctl would write backups, locks or state there)."""
    if path.is_symlink():
        raise StateDirError(
            f"{what} {path} is a symbolic link; lmctl does not write through links (it could "
            "point anywhere): remove it, or name a real directory with --state-dir"
        )


def private_dir(path: Path, what: str = "the state directory") -> Path:
    """Create ``path`` if missing, private (0700), with a ``.gitignore`` of ``*`` in it (0600);
    an existing directory is left as it is (it may be the user's own). ``StateDirError`` when it
    is a symbolic link or cannot be had (a file in the way, no permission)."""
    _refuse_link(path, what)
    try:
        if not path.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            _make_private_dir(path)
    except OSError as error:
        _refuse_link(path, what)  # made a link meanwhile
        raise StateDirError(
            f"{what} {path} cannot be used ({error.strerror or error}); choose "
            "another with --state-dir (or LMCTL_STATE_DIR)"
        ) from None
    return path


def _make_private_dir(path: Path) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if path.is_dir() and not path.is_symlink():
            return  # another lmctl made it just now
        raise
    descriptor = open_in(path, ".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(GITIGNORE)


def open_in(directory: Path, name: str, flags: int) -> int:
    """A descriptor of ``directory/name`` opened with ``flags`` (created 0600), following a link
    neither at ``directory`` nor at ``name`` (``OSError`` ``ELOOP`` or ``ENOTDIR`` instead)."""
    if not _DIR_FDS:
        return os.open(directory / name, flags | NOFOLLOW | _CLOEXEC, 0o600)
    folder = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW | _CLOEXEC)
    try:
        return os.open(name, flags | NOFOLLOW | _CLOEXEC, 0o600, dir_fd=folder)
    finally:
        os.close(folder)


def state_subdir(state_dir: Path, name: str) -> Path:
    """``state_dir/name`` (``backups``, ``locks``), both created as ``private_dir``."""
    private_dir(state_dir)
    return private_dir(state_dir / name, f"the {name} directory")


def save_backup(state_dir: Path, appliance: str, archive: bytes) -> Path:
    """Keep the appliance's backup as ``backups/<appliance>-<UTC timestamp>.bak`` (mode 0600),
    never through a link."""
    stamp = datetime.now(UTC).strftime(_STAMP)
    backups = state_subdir(state_dir, "backups")
    _fit_for_secrets(backups)
    name = f"{appliance}-{stamp}{BACKUP_SUFFIX}"
    _write_new(backups, name, archive)
    return backups / name


def _write_new(directory: Path, name: str, data: bytes) -> None:
    descriptor = open_in(directory, name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


def save_backup_record(backup: Path, record: bytes) -> Path:
    """Keep ``record`` (what lmctl knows of the backup: the state it was taken in, the plan
    applied after it) beside the backup as ``<backup name>.json`` (0600, never through a
    link)."""
    name = record_name(backup.name)
    _write_new(backup.parent, name, record)
    return backup.parent / name


def record_name(backup_name: str) -> str:
    """The name of the record kept beside the backup called ``backup_name``."""
    return backup_name.removesuffix(BACKUP_SUFFIX) + RECORD_SUFFIX


def not_private(status: os.stat_result, *, directory: bool = False) -> str | None:
    """Why a file (``directory``: a directory) in ``backups/`` is not one lmctl made, in a few
    words ("mode 0644", "a symbolic link", "owned by uid 1001"); None when it is.

    lmctl makes the backups directory 0700 and every backup and record 0600, owned by the user.
    A spec repository can ship files named like backups (git checks files out 0644 and
    directories 0755): the SHA-256 in a record vouches for the backup, but nothing vouches for
    the record but who wrote it. POSIX only: Windows has no such modes.
    """
    mode = status.st_mode
    fit = stat.S_ISDIR(mode) if directory else stat.S_ISREG(mode)
    if not fit:
        return file_kind(mode)
    if os.name != "posix":
        return None
    if status.st_uid != os.getuid():
        return f"owned by uid {status.st_uid}, not by you"
    if stat.S_IMODE(mode) & 0o077:
        return f"mode {stat.S_IMODE(mode):04o}"
    return None


@dataclass(frozen=True, slots=True)
class BackupFile:
    """A backup in the state directory: its path, its appliance and when it was taken (by its
    name), and why it is not lmctl's (``foreign``, see ``not_private``; None when it is)."""

    path: Path
    appliance: str
    taken_at: datetime
    foreign: str | None = None


def backup_file(path: Path, foreign: str | None = None) -> BackupFile | None:
    """The backup ``path`` names (by lmctl's naming), or None for any other file name."""
    found = _BACKUP_NAME.fullmatch(path.name)
    if found is None:
        return None
    taken_at = datetime.strptime(found["stamp"], _STAMP).replace(tzinfo=UTC)
    return BackupFile(path, found["appliance"], taken_at, foreign)


def _backup_in(directory: Path, name: str) -> BackupFile | None:
    if _BACKUP_NAME.fullmatch(name) is None:
        return None
    try:
        foreign = not_private(os.lstat(directory / name))
    except OSError as error:
        foreign = f"cannot be read: {error.strerror or error}"
    return backup_file(directory / name, foreign)


def backups_dir(state_dir: Path) -> Path | None:
    """The state directory's ``backups/``, None when there is none; ``StateDirError`` when it
    is a link, or not private to the user (see ``not_private``)."""
    directory = state_dir / "backups"
    _refuse_link(directory, "the backups directory")
    try:
        problem = not_private(os.lstat(directory), directory=True)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateDirError(
            f"the backups directory {directory} cannot be read ({error.strerror or error})"
        ) from None
    if problem is not None:
        raise StateDirError(
            f"the backups directory {directory} is not lmctl's ({problem}); lmctl makes it "
            "0700, owned by you: a repository or another user may have put it there. Remove "
            f"it, or if it is yours, run chmod 700 {directory} and check every file in it"
        )
    return directory


def backups_in(state_dir: Path, appliance: str | None = None) -> list[BackupFile]:
    """The files named like backups in the state directory (of ``appliance`` only, when given),
    oldest first by name, each with ``foreign`` set when lmctl did not write it; none when there
    is no ``backups/`` directory. ``StateDirError`` when it is a link or not private."""
    directory = backups_dir(state_dir)
    if directory is None:
        return []
    try:
        names = os.listdir(directory)
    except OSError as error:
        raise StateDirError(
            f"the backups directory {directory} cannot be read ({error.strerror or error})"
        ) from None
    found = [_backup_in(directory, name) for name in names]
    chosen = [b for b in found if b is not None and appliance in (None, b.appliance)]
    return sorted(chosen, key=lambda b: (b.taken_at, b.path.name))


def remove_backup(backup: Path) -> None:
    """Remove a backup lmctl kept and its record (links removed, never followed)."""
    _remove_in(backup.parent, backup.name)
    _remove_in(backup.parent, record_name(backup.name))


def _remove_in(directory: Path, name: str) -> None:
    """Unlink ``directory/name`` (a link is removed, never followed); missing is fine."""
    try:
        if _DIR_FDS:
            folder = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW | _CLOEXEC)
            try:
                os.unlink(name, dir_fd=folder)
            finally:
                os.close(folder)
        else:
            os.unlink(directory / name)
    except FileNotFoundError:
        pass


def journal_path(state_dir: Path) -> Path:
    """Where the journal of applies and restores is kept."""
    return state_dir / "journal" / JOURNAL_NAME


def journal_to_read(state_dir: Path) -> Path:
    """The journal's path, for reading: ``StateDirError`` when the state directory or its
    ``journal/`` directory is a symbolic link (apply refuses to write through one, so history
    does not read through one either)."""
    path = journal_path(state_dir)
    _refuse_link(state_dir, "the state directory")
    _refuse_link(path.parent, "the journal directory")
    return path


def append_journal(state_dir: Path, line: bytes) -> Path:
    """Append ``line`` to the journal (created 0600 in a private ``journal/`` directory; never
    through a link, never to anything but a regular file). One ``write`` per line, to a file
    opened for appending: two lmctl processes do not interleave within a line."""
    path = journal_path(state_dir)
    directory = state_subdir(state_dir, path.parent.name)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = open_in(directory, path.name, flags)
    except OSError as error:
        raise StateDirError(
            f"the journal {path} cannot be opened ({error.strerror or error}); it must be a "
            "regular file, not a link"
        ) from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise StateDirError(f"the journal {path} is {file_kind(mode)}, not a regular file")
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    return path


def _fit_for_secrets(directory: Path) -> None:
    """``StateDirError`` unless ``directory`` is the user's own and writable by no one else, and
    git ignores what is in it: a backup holds the appliance's private keys, and an existing
    directory (it may have come with the repository) was not made private by lmctl."""
    try:
        problem = not_private(os.stat(directory, follow_symlinks=False), directory=True)
        if problem is not None:
            raise StateDirError(
                f"the backups directory {directory} is not private to you ({problem}); a "
                f"backup holds the appliance's private keys: run chmod 700 {directory} (as "
                "its owner), or choose another --state-dir"
            )
        _ignored_by_git(directory)
    except OSError as error:
        raise StateDirError(
            f"the backups directory {directory} cannot be used ({error.strerror or error}); "
            "choose another with --state-dir (or LMCTL_STATE_DIR)"
        ) from None


def _ignored_by_git(directory: Path) -> None:
    """Make ``directory/.gitignore`` ignore everything, whatever it held (never through a
    link: ``open_in`` refuses one)."""
    try:
        descriptor = open_in(directory, ".gitignore", os.O_RDONLY)
    except FileNotFoundError:
        held = ""
    else:
        held = _read_text(descriptor)
        os.close(descriptor)
    if "*" not in held.splitlines():
        descriptor = open_in(directory, ".gitignore", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(GITIGNORE)


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
    if path.is_symlink():
        raise StateDirError(
            f"the apply lock {path} is a symbolic link; lmctl does not write through links: "
            "remove it"
        )
    try:
        # Never through a link: a spec repository could ship one pointing at any file.
        descriptor = open_in(path.parent, path.name, os.O_RDWR | os.O_CREAT)
    except OSError as error:
        raise StateDirError(
            f"the apply lock {path} cannot be opened ({error.strerror or error}); it must be a "
            "regular file, not a link: remove it"
        ) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise StateDirError(
            f"the apply lock {path} is {file_kind(mode)}, not a regular file: remove it"
        )
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
