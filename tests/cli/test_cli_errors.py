"""The one error boundary: every fault a user can run into ends ``lmctl plan`` and ``lmctl apply``
with one ``error:`` line on stderr and the fault's exit code, never a traceback; ``plan --format
json`` prints the failure document on stdout too.

Each fault is set up on a fresh site: the repository's example arrays (built-in ``mock://``
appliances, whose state lives in the state directory) or arrays on the served mock over HTTPS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lmctl.mock.server import MockServerHandle
from lmctl_testkit import PASSWORD_VARIABLE, Outcome, invoke, run_process
from mock_site import APPLIANCE, Array, Site, example_site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])

# What each command is run with after the fault's own arguments.
COMMANDS = {
    "plan": ("plan",),
    "plan-json": ("plan", "--format", "json"),
    "apply": ("apply", "--auto-approve"),
}


@dataclass(frozen=True)
class Context:
    """Where a fault is set up: a fresh directory, the served mock, the environment."""

    root: Path
    server: MockServerHandle
    monkeypatch: pytest.MonkeyPatch

    def example(self) -> Path:
        return example_site(self.root)

    def site(self) -> Site:
        return Site.open(self.root, self.server, self.monkeypatch, A1)


def corrupt_mock_state(context: Context, command: str) -> list[str]:
    arrays = context.example()
    state = context.root / ".lmctl"
    state.mkdir()
    (state / "mock-lm-hq.json").write_text("garbage\n")
    return [str(arrays), "--state-dir", str(state)]


def state_dir_is_a_file(context: Context, command: str) -> list[str]:
    arrays = context.example()
    state = context.root / "state"
    state.write_text("not a directory\n")
    return [str(arrays), "--state-dir", str(state)]


def state_dir_is_a_file_real_appliance(context: Context, command: str) -> list[str]:
    """Only apply keeps anything there (its locks) when no appliance is a mock:// one."""
    site = context.site()
    state = context.root / "state"
    state.write_text("not a directory\n")
    return [str(site.arrays_dir), "--state-dir", str(state)]


def unusable_plan_file(context: Context, command: str) -> list[str]:
    """apply's input is a plan of another format; plan's --out a directory."""
    site = context.site()
    state = ["--state-dir", str(site.state_dir)]
    if command == "apply":
        saved = context.root / "plan.json"
        saved.write_text('{"kind": "lmctl-plan", "format_version": 2}')
        return [str(saved), *state]
    return [str(site.arrays_dir), "--out", str(context.root), *state]


def appliance_unreachable(context: Context, command: str) -> list[str]:
    site = context.site()
    inventory = site.arrays_dir / "appliances.yaml"
    document = yaml.safe_load(inventory.read_text())
    document["appliances"][APPLIANCE]["url"] = "https://127.0.0.1:1"
    inventory.write_text(yaml.safe_dump(document))
    return [str(site.arrays_dir), "--state-dir", str(site.state_dir)]


def appliance_refuses_login(context: Context, command: str) -> list[str]:
    site = context.site()
    context.monkeypatch.setenv(PASSWORD_VARIABLE, "not-the-password")
    return [str(site.arrays_dir), "--state-dir", str(site.state_dir)]


# fault → how to set it up, and per command: (exit code, what the error line says; None: no
# error at all).
Fault = Callable[[Context, str], list[str]]
EVERY_COMMAND = ("plan", "plan-json", "apply")
FAULTS: dict[str, tuple[Fault, dict[str, tuple[int, str | None]]]] = {
    "corrupt mock state": (
        corrupt_mock_state,
        dict.fromkeys(EVERY_COMMAND, (1, "lm-hq: mock state file ")),
    ),
    "state dir is a file": (
        state_dir_is_a_file,
        dict.fromkeys(EVERY_COMMAND, (1, "File exists")),
    ),
    "state dir is a file, real appliance": (
        state_dir_is_a_file_real_appliance,
        {"plan": (0, None), "plan-json": (0, None), "apply": (1, "the state directory ")},
    ),
    "unusable plan file": (
        unusable_plan_file,
        {
            "plan": (1, " is a directory: name a file"),
            "plan-json": (1, " is a directory: name a file"),
            "apply": (1, "plan format_version 2; this lmctl reads version 1"),
        },
    ),
    "appliance unreachable": (
        appliance_unreachable,
        dict.fromkeys(EVERY_COMMAND, (1, "cannot read lm-test: ")),
    ),
    "appliance refuses login": (
        appliance_refuses_login,
        dict.fromkeys(EVERY_COMMAND, (1, "cannot read lm-test: ")),
    ),
}


def assert_one_error_line(outcome: Outcome, code: int, says: str | None) -> None:
    assert outcome.exit_code == code, outcome.output
    assert "Traceback" not in outcome.output
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
    if says is None:
        assert errors == [], outcome.output
        return
    assert len(errors) == 1, outcome.output
    assert outcome.stderr.splitlines()[-1] == errors[0]
    assert says in errors[0], errors[0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_fault_is_one_error_line_and_its_exit_code(
    tmp_path: Path,
    mock_server: MockServerHandle,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    set_up, expected = FAULTS[fault]
    arguments = set_up(Context(tmp_path, mock_server, monkeypatch), command)
    name, *options = COMMANDS[command]
    outcome = invoke(name, *arguments, *options, catch_exceptions=False)
    code, says = expected[command]
    assert_one_error_line(outcome, code, says)
    if command == "plan-json" and says is not None:
        document = json.loads(outcome.stdout)
        assert (document["kind"], document["exit_code"]) == ("lmctl-plan-failure", code)
        assert says in document["error"]["message"]


def test_a_corrupt_mock_state_ends_a_real_process_with_one_line(tmp_path: Path) -> None:
    """Through ``main()`` as the ``lmctl`` script runs it (it used to end in a traceback)."""
    example_site(tmp_path)
    (tmp_path / ".lmctl").mkdir()
    (tmp_path / ".lmctl" / "mock-lm-hq.json").write_text("{")
    for command in (["plan", "arrays"], ["apply", "arrays", "--auto-approve"]):
        outcome = run_process(tmp_path, {}, *command)
        assert outcome.exit_code == 1, outcome.output
        assert outcome.stderr.splitlines() == [
            "error: lm-hq: mock state file .lmctl/mock-lm-hq.json is not a valid lmctl mock "
            "state (Expecting property name enclosed in double quotes: line 1 column 2 "
            "(char 1)); delete it to start from an empty appliance"
        ]
