"""Writing a new spec repository: checked whole before the first file, never over a file unless
told, never through a link, all files or none as far as a file system allows."""

from __future__ import annotations

import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lmctl.errors import LmctlError
from lmctl.files import file_kind, read_regular_file, write_all
from lmctl.scaffold.layout import ScaffoldFile
from lmctl.text import escaped


class ScaffoldError(LmctlError):
    """A spec repository ``lmctl init`` may not or cannot write (the message says what)."""


def _shown(paths: Sequence[Path]) -> str:
    return ", ".join(escaped(str(path)) for path in paths)


def _directories(files: Sequence[ScaffoldFile]) -> list[PurePosixPath]:
    """The directories the files go into, below the root, parents first."""
    found = {parent for file in files for parent in file.path.parents if parent.parts}
    return sorted(found, key=lambda directory: (len(directory.parts), directory))


def _link_refusal(path: Path) -> str:
    return (
        f"{escaped(str(path))} is a symbolic link; lmctl init does not write through links (it "
        "could point anywhere): nothing was written"
    )


# The one file init adds to instead of refusing: a repository often has one already.
GITIGNORE = PurePosixPath(".gitignore")


@dataclass
class Written:
    """The files init wrote, and per existing file it added lines to, those lines."""

    paths: list[Path] = field(default_factory=list)
    appended: dict[Path, list[str]] = field(default_factory=dict)


def missing_lines(existing: str, wanted: str) -> list[str]:
    """The patterns of ``wanted`` (a ``.gitignore``: comments and blank lines left out) that
    ``existing`` does not have as a line of its own."""
    have = {line.strip() for line in existing.splitlines()}
    return [
        line
        for line in (line.strip() for line in wanted.splitlines())
        if line and not line.startswith("#") and line not in have
    ]


def _appended(existing: str, lines: Sequence[str]) -> str:
    separator = "" if not existing or existing.endswith("\n") else "\n"
    return f"{existing}{separator}# Added by lmctl init.\n" + "".join(f"{line}\n" for line in lines)


def _existing_gitignore(root: Path, overwrite: bool) -> str | None:
    """The text of the repository's own ``.gitignore`` init adds to: a regular file (never a
    link: that one is refused as any existing file), and only without ``overwrite``."""
    path = root / GITIGNORE
    try:
        mode = path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # the root is refused later
        return None
    if overwrite or not stat.S_ISREG(mode):
        return None
    try:
        return read_regular_file(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScaffoldError(
            f"cannot read {escaped(str(path))} to add lmctl's lines to it: {error}; nothing "
            "was written"
        ) from error


def _refusal(root: Path, files: Sequence[ScaffoldFile], overwrite: bool) -> str:
    """Why the files may not be written under ``root`` (empty: they may)."""
    if root.exists() and not root.is_dir():
        kind = file_kind(root.stat().st_mode)
        return f"{escaped(str(root))} is {kind}, not a directory: nothing was written"
    for directory in (root / relative for relative in _directories(files)):
        if directory.is_symlink():
            return _link_refusal(directory)
        if directory.exists() and not directory.is_dir():
            kind = file_kind(directory.lstat().st_mode)
            return f"{escaped(str(directory))} is {kind}, not a directory: nothing was written"
    targets = [root / file.path for file in files]
    existing = [path for path in targets if path.is_symlink() or path.exists()]
    odd = [path for path in existing if not path.is_symlink() and not path.is_file()]
    if odd:
        verb = "is" if len(odd) == 1 else "are"
        return f"{_shown(odd)} {verb} no file lmctl init may replace: nothing was written"
    if existing and not overwrite:
        verb = "exists" if len(existing) == 1 else "exist"
        return (
            f"{_shown(existing)} already {verb}: nothing was written (give --overwrite to "
            "replace, or name another directory)"
        )
    return ""


def _make_directories(root: Path, files: Sequence[ScaffoldFile]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for directory in (root / relative for relative in _directories(files)):
        directory.mkdir(exist_ok=True)
        if directory.is_symlink():  # put there since the check
            raise ScaffoldError(_link_refusal(directory))


def write_repository(root: Path, files: Sequence[ScaffoldFile], *, overwrite: bool) -> Written:
    """Write ``files`` under ``root`` (created if missing) and return what was written;
    ``ScaffoldError`` (saying which were written) when one exists and ``overwrite`` is not set,
    a directory on the way is a link or no directory, or a file cannot be written. An existing
    ``.gitignore`` (a regular file) gets the lines it misses appended instead."""
    result = Written()
    gitignore = _existing_gitignore(root, overwrite)
    ours = [file for file in files if file.path == GITIGNORE and gitignore is not None]
    files = [file for file in files if file not in ours]
    refusal = _refusal(root, files, overwrite)
    if refusal:
        raise ScaffoldError(refusal)
    lines = [line for file in ours for line in missing_lines(gitignore or "", file.text)]
    if lines:
        result.appended[root / GITIGNORE] = lines
        files.append(ScaffoldFile(GITIGNORE, _appended(gitignore or "", lines)))
    targets = [root / file.path for file in files]
    written: list[Path] = []
    try:
        _make_directories(root, files)
        write_all([(root / file.path, file.text) for file in files], written)
    except OSError as error:
        left = [path for path in targets if path not in written]
        done = f"wrote only {_shown(written)}" if written else "nothing was written"
        raise ScaffoldError(
            f"cannot write the spec repository {escaped(str(root))}: "
            f"{error.strerror or error}; {done} (not written: {_shown(left)})"
        ) from error
    result.paths = [path for path in targets if path not in result.appended]
    return result
