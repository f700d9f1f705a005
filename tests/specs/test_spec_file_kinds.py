"""What a spec directory may hold, and what an error may quote of it.

A ``*.yaml`` name in the specs directory is read only when it is a regular file (or a link to one
inside the specs directory or the repository); anything else is an error naming it, never a
silent skip (a skipped array would be planned for deletion) and never a wait on a FIFO. An error
quotes at most a short escaped excerpt of text lmctl did not understand: a link to a password
file must not print the file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from spec_files import BRANCH_2016, HQ_2010, INVENTORY, run_lmctl

from lmctl.errors import EXCERPT_LENGTH
from lmctl_testkit import Outcome, write_spec_files

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and links are POSIX's")

SECRET_LINES = (
    "root:$6$Vh3ZqK8u$e1c1c0ffeeSecretHashThatMustNeverBePrinted:19700:0:99999:7:::\n"
    "svc-exchange:$6$AnotherSecretHashNeverToBeShownAnywhereAtAll:19700:0:99999:7:::\n"
)


def repository(root: Path) -> Path:
    """A spec repository (``root/repo``, a git work tree) with valid specs in ``arrays/``."""
    repo = root / "repo"
    write_spec_files(
        repo / "arrays",
        {"appliances.yaml": INVENTORY, "hq-cas.yaml": HQ_2010, "branch-2016.yaml": BRANCH_2016},
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    return repo


def assert_no_secret(outcome: Outcome) -> None:
    for line in SECRET_LINES.splitlines():
        for part in line.split(":"):
            if len(part) > 8:
                assert part not in outcome.output, outcome.output


def test_an_unknown_key_is_quoted_as_a_short_escaped_excerpt(tmp_path: Path) -> None:
    key = "\\e]0;owned\\a\\e[2J" + "x" * 200
    outcome = run_lmctl(tmp_path / "arrays", {"hq-cas.yaml": HQ_2010 + f'"{key}": 1\n'})

    assert outcome.exit_code == 1
    assert "\x1b" not in outcome.output and "\x07" not in outcome.output
    assert "x" * (EXCERPT_LENGTH + 1) not in outcome.output
    [line] = [line for line in outcome.output.splitlines() if "unknown key" in line]
    assert "hq-cas.yaml:11: error: " in line
    assert "unknown key '\\x1b]0;owned\\x07\\x1b[2Jxxx" in line
    assert "…'" in line
