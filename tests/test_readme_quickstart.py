"""The README's Quickstart works on a fresh clone: its lmctl commands, run one after another in a
copy of the example arrays with no state yet, all exit 0 (the virtual environment and the
install are the test run's own)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from lmctl_testkit import invoke

REPO = Path(__file__).resolve().parents[1]


def quickstart_commands() -> list[list[str]]:
    """The lmctl commands of the Quickstart's one-line command, in order."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1]
    block = re.search(r"```sh\n(.*?)\n```", section, re.DOTALL)
    assert block is not None
    steps = [shlex.split(step) for step in block.group(1).split(" && ")]
    return [step[1:] for step in steps if step[0] == "lmctl"]


def test_the_quickstart_applies_plans_and_checks_the_examples_from_a_fresh_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "arrays", tmp_path / "arrays")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LMCTL_STATE_DIR", raising=False)
    monkeypatch.delenv("LMCTL_INVENTORY", raising=False)
    commands = quickstart_commands()
    assert [command[0] for command in commands] == ["mock", "apply", "plan", "status"]
    for command in commands:
        outcome = invoke(*command)
        assert outcome.exit_code == 0, (command, outcome.output)
    # Run again (the same clone): the certificate is found installed, nothing else changes.
    again = invoke(*commands[0])
    assert again.exit_code == 0 and "already installed" in again.stdout
