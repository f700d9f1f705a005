"""Specs and a runner for the status tests that run lmctl against the served HTTPS mock.

``prepare_arrays`` writes two arrays on one appliance (the session's served mock) as specs in a
temporary directory and creates them on the mock with ``lmctl apply``, every member Up:
- ``two`` (Exchange 2010 SP3): rpc, https, http-redirect; members CAS-A1, CAS-A2;
- ``three`` (Exchange 2016 CU23): https, http-redirect; members EX-B1, EX-B2, EX-B3.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    Outcome,
    array_spec,
    invoke,
    write_mock_inventory,
    write_spec_files,
)

MEMBERS = {
    "CAS-A1": "10.30.0.11",
    "CAS-A2": "10.30.0.12",
    "EX-B1": "10.30.1.11",
    "EX-B2": "10.30.1.12",
    "EX-B3": "10.30.1.13",
}

ARRAY_TWO = array_spec(
    "two",
    "HQ",
    "2010 SP3",
    "10.30.0.10",
    "lm-test",
    {member: MEMBERS[member] for member in ("CAS-A1", "CAS-A2")},
    fqdn="outlook-two.corp.example.com",
    rpc_ports=(60000, 60001),
)

ARRAY_THREE = array_spec(
    "three",
    "HQ",
    "2016 CU23",
    "10.30.1.10",
    "lm-test",
    {member: MEMBERS[member] for member in ("EX-B1", "EX-B2", "EX-B3")},
    fqdn="mail-three.corp.example.com",
    services=("https", "http-redirect"),
)

# Not applied by prepare_arrays (for tests of an array missing on its appliance).
ARRAY_FOUR = array_spec(
    "four",
    "DR",
    "2016 CU23",
    "10.30.2.10",
    "lm-test",
    {"EX-D1": "10.30.2.11", "EX-D2": "10.30.2.12"},
    fqdn="mail-four.corp.example.com",
    services=("https",),
)


RunLmctl = Callable[..., Outcome]


def prepare_arrays(request: pytest.FixtureRequest, dialect: str) -> RunLmctl:
    """Write arrays ``two`` and ``three`` and create them with ``lmctl apply`` over API
    ``dialect`` (v1 or v2); returns ``run(*args)`` that runs lmctl in-process on those specs
    (the mock's call log starts empty).

    Uses the test's ``tmp_path`` (specs in ``tmp_path/arrays``, the working directory),
    ``mock_server``, ``mock_control`` and ``monkeypatch`` (the mock's password)."""
    tmp_path: Path = request.getfixturevalue("tmp_path")
    mock_server: MockServerHandle = request.getfixturevalue("mock_server")
    mock_control: MockControl = request.getfixturevalue("mock_control")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    specs = tmp_path / "arrays"
    write_mock_inventory(specs, mock_server, "lm-test", dialect)
    write_spec_files(specs, {"two.yaml": ARRAY_TWO, "three.yaml": ARRAY_THREE})
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Outcome:
        # plan and apply take the specs as arguments; status, drain, undrain as --specs.
        where = [str(specs)] if args[0] in ("plan", "apply") else ["--specs", str(specs)]
        return invoke(*args, *where)

    applied = run("apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    mock_control.clear_log()
    return run
