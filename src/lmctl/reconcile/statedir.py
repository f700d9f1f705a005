"""lmctl's state directory (``.lmctl`` by default): backups, locks and ``mock://`` state.

It usually sits in the admin's spec repository, and backups hold the appliance's private keys,
so every directory lmctl creates there gets a ``.gitignore`` of ``*``: ``git add -A`` never
picks up a backup, a lock or the mock's state.
"""

from __future__ import annotations

from pathlib import Path

GITIGNORE = "*\n"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing, with a ``.gitignore`` of ``*`` in it; an
    existing directory is left as it is (it may be the user's own)."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        (path / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    return path


def state_subdir(state_dir: Path, name: str) -> Path:
    """``state_dir/name`` (``backups``, ``locks``), both created as ``private_dir``."""
    private_dir(state_dir)
    return private_dir(state_dir / name)
