"""Opening files that someone else may have put in lmctl's way: regular files only, never
through a link at the last step, never waiting on a FIFO, and the file opened is the one checked;
writing files (``write_all``) all or none, never through a link.

A spec repository can ship a FIFO (``open`` would wait forever for a writer), a device, or a link
to any file of the user's (which lmctl would then read, or write over). ``O_NOFOLLOW`` refuses
a link at the last component of the path and ``O_NONBLOCK`` makes opening a FIFO return at once
(POSIX ``open()``; Python's ``os.open`` flags); ``fstat`` on the open descriptor then says what was
really opened. Neither flag exists on Windows, which has no FIFOs to open by name and where
creating links needs privileges.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ_FLAGS = os.O_RDONLY | NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)

FileIdentity = tuple[int, int]
"""A file's device and inode: the same pair means the same file, whatever its path."""


def identity(status: os.stat_result) -> FileIdentity:
    """The ``FileIdentity`` of a ``stat`` result."""
    return status.st_dev, status.st_ino


def file_kind(mode: int) -> str:
    """What ``mode`` (a ``stat`` result's ``st_mode``) is, in the words of a message."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"


class NotARegularFile(OSError):
    """Something other than a regular file where lmctl reads one, or not the file checked."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(errno.EINVAL, problem, str(path))

    @classmethod
    def of_kind(cls, path: Path, mode: int) -> NotARegularFile:
        """The error for ``path``, which is what ``mode`` says (a link, a FIFO, ...)."""
        return cls(path, f"{file_kind(mode)}, not a regular file")

    def __str__(self) -> str:
        return f"{self.filename} is {self.strerror}"


def open_regular(path: Path, expected: FileIdentity | None = None) -> BinaryIO:
    """``path`` opened for reading in binary, when it is a regular file (and ``expected``'s
    file, when given: nothing swapped in since it was checked).

    A link at the last component is not followed (``OSError`` ``ELOOP``): resolve ``path`` first
    to follow links on purpose. ``NotARegularFile`` for a FIFO, device, directory or another file.
    """
    stream = os.fdopen(os.open(path, _READ_FLAGS), "rb")
    try:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise NotARegularFile.of_kind(path, status.st_mode)
        if expected is not None and identity(status) != expected:
            raise NotARegularFile(path, "not the file lmctl checked (it was replaced meanwhile)")
    except BaseException:
        stream.close()
        raise
    return stream


class FileTooLarge(OSError):
    """A file larger than lmctl reads of its kind (a record, the journal): reading it whole
    could exhaust memory."""

    def __init__(self, path: Path, size: int, max_size: int) -> None:
        super().__init__(
            errno.EFBIG, f"{size} bytes, more than the {max_size} lmctl reads", str(path)
        )

    def __str__(self) -> str:
        return f"{self.filename} is too large ({self.strerror})"


def read_regular_file(path: Path, *, private: bool = False, max_size: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (not a link to one); ``private`` makes it readable
    by its owner only (through the open file, never through a link).

    ``NotARegularFile`` for a link, FIFO, directory or device there; ``FileNotFoundError`` when
    nothing is there; ``FileTooLarge`` when it holds more than ``max_size`` bytes (checked on
    the open file, and never more read); another ``OSError`` when it cannot be read.
    """
    status = path.lstat()
    if not stat.S_ISREG(status.st_mode):
        raise NotARegularFile.of_kind(path, status.st_mode)
    with open_regular(path, identity(status)) as stream:
        if private and hasattr(os, "fchmod"):
            os.fchmod(stream.fileno(), 0o600)
        elif private:
            path.chmod(0o600)
        if max_size is None:
            return stream.read()
        size = os.fstat(stream.fileno()).st_size
        data = stream.read(max_size + 1)
        if size > max_size or len(data) > max_size:
            raise FileTooLarge(path, max(size, len(data)), max_size)
        return data


# Writing a file lmctl makes (a generated spec or script): never through a link or into a FIFO.


def new_file_mode() -> int:
    """The mode ``open`` gives a new file (``mkstemp`` makes it 0600): 0666 less the umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def temporary_beside(path: Path, data: bytes, mode: int) -> Path:
    """``data`` in a new file beside ``path`` (``mkstemp``: created exclusively, so a link or a
    FIFO planted there is never followed or opened), for ``os.replace`` over ``path``."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def write_all(texts: Sequence[tuple[Path, str]], written: list[Path]) -> None:
    """Write each text to its path, all or none as far as a file system allows, appending each
    path to ``written`` once it is there; an ``OSError`` is raised as it came.

    Each text goes to a fresh temporary file beside its path (``mkstemp``: created exclusively,
    so a link or a FIFO planted there is never followed or opened); only when all are written
    are they renamed over their paths, which replaces a link there instead of following it. A
    failure removes the temporaries not yet renamed.
    """
    temporaries: list[Path] = []
    renamed = 0
    try:
        mode = new_file_mode()
        for path, text in texts:
            temporaries.append(temporary_beside(path, text.encode("utf-8"), mode))
        for temporary, (path, _) in zip(temporaries, texts, strict=True):
            os.replace(temporary, path)
            renamed += 1
            written.append(path)
    except BaseException:
        for temporary in temporaries[renamed:]:
            temporary.unlink(missing_ok=True)
        raise


def existing_refusal(path: Path, *, overwrite: bool) -> str:
    """Why lmctl may not write ``path`` (empty when it may): something other than a regular file
    or a link is there, or anything is there and ``overwrite`` is not set."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return ""
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        return f"{path} is {file_kind(mode)}, no file lmctl may replace"
    if not overwrite:
        return f"{path} already exists ({file_kind(mode)}); give --overwrite to replace it"
    return ""


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once: a temporary beside it renamed over it (a link at
    ``path`` is replaced, never followed). Check ``existing_refusal`` first."""
    temporary = temporary_beside(path, data, new_file_mode())
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
