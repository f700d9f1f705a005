"""Defaults shared by the commands and the library: where specs and state live, and the exit
code of an interrupted command. Kept free of heavy imports so ``lmctl --help`` stays fast."""

from __future__ import annotations

from pathlib import Path

DEFAULT_SPECS = Path("arrays")
"""The spec directory read when no spec path is given."""

DEFAULT_STATE_DIR = Path(".lmctl")
"""Where backups, locks and the ``mock://`` appliances' state are kept."""

INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""
