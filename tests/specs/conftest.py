"""Fixtures of the spec tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_files import Outcome, RunSpecs, SpecFiles, run_lmctl


@pytest.fixture
def run_specs(tmp_path: Path) -> RunSpecs:
    """``run_specs(files, *args)``: write the spec files into a temporary ``arrays/`` and run
    ``lmctl <args>`` (default ``validate <that directory>``)."""

    def run(files: SpecFiles, *args: str) -> Outcome:
        return run_lmctl(tmp_path / "arrays", files, *args)

    return run
