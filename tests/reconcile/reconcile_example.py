"""The repository's example arrays (``arrays/``: lm-hq and lm-branch, both built-in
``mock://`` appliances served over HTTPS on loopback), copied for a test."""

from __future__ import annotations

import shutil
from pathlib import Path

from lmctl_testkit import Outcome, invoke

EXAMPLE_ARRAYS = Path(__file__).resolve().parents[2] / "arrays"


def example_site(root: Path) -> Path:
    """A copy of the example arrays under ``root``; returns its ``arrays`` directory."""
    arrays = root / "arrays"
    shutil.copytree(EXAMPLE_ARRAYS, arrays)
    return arrays


def lmctl(root: Path, *args: str) -> Outcome:
    """``lmctl ARGS --state-dir ROOT/.lmctl`` in-process."""
    return invoke(*args, "--state-dir", str(root / ".lmctl"), catch_exceptions=False)
