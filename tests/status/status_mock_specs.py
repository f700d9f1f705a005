"""Specs and a runner for the status tests that run lmctl against the served HTTPS mock.

``prepare_arrays`` writes two arrays on one appliance (the session's served mock) as specs in a
temporary directory and creates them on the mock with ``lmctl apply``, every member Up:
- ``two`` (Exchange 2010 SP3): rpc, https, http-redirect; members CAS-A1, CAS-A2;
- ``three`` (Exchange 2016 CU23): https, http-redirect; members EX-B1, EX-B2, EX-B3.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.cli.app import app
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle

PASSWORD_VARIABLE = "LMCTL_STATUS_TEST_PASSWORD"
MEMBERS = {
    "CAS-A1": "10.30.0.11",
    "CAS-A2": "10.30.0.12",
    "EX-B1": "10.30.1.11",
    "EX-B2": "10.30.1.12",
    "EX-B3": "10.30.1.13",
}

ARRAY_TWO = """\
name: two
site: HQ
exchange: 2010 SP3
fqdn: outlook-two.corp.example.com
vip: 10.30.0.10
appliance: lm-test
rpc_ports: {client_access: 60000, address_book: 60001}
members:
  - {name: CAS-A1, address: 10.30.0.11}
  - {name: CAS-A2, address: 10.30.0.12}
"""

ARRAY_THREE = """\
name: three
site: HQ
exchange: 2016 CU23
fqdn: mail-three.corp.example.com
vip: 10.30.1.10
appliance: lm-test
members:
  - {name: EX-B1, address: 10.30.1.11}
  - {name: EX-B2, address: 10.30.1.12}
  - {name: EX-B3, address: 10.30.1.13}
services: [https, http-redirect]
"""


# Not applied by prepare_arrays (for tests of an array missing on its appliance).
ARRAY_FOUR = """\
name: four
site: DR
exchange: 2016 CU23
fqdn: mail-four.corp.example.com
vip: 10.30.2.10
appliance: lm-test
members:
  - {name: EX-D1, address: 10.30.2.11}
  - {name: EX-D2, address: 10.30.2.12}
services: [https]
"""


@dataclass(frozen=True)
class Outcome:
    """What one ``lmctl`` run printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str


RunLmctl = Callable[..., Outcome]


def _inventory(handle: MockServerHandle, dialect: str) -> str:
    return (
        "appliances:\n"
        "  lm-test:\n"
        f"    url: {handle.url}\n"
        f"    dialect: {dialect}\n"
        f"    auth: {{username: {handle.username}, password: {{env: {PASSWORD_VARIABLE}}}}}\n"
        f'    tls: {{fingerprint: "{handle.fingerprint_sha256}"}}\n'
    )


def prepare_arrays(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    connection: ApplianceConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> RunLmctl:
    """Write arrays ``two`` and ``three`` and create them with ``lmctl apply``; returns
    ``run(*args)`` that runs lmctl in-process on those specs (the mock's call log starts empty).

    ``connection`` picks the dialect lmctl uses (the inventory names the same served mock)."""
    specs = tmp_path / "arrays"
    specs.mkdir()
    (specs / "appliances.yaml").write_text(_inventory(mock_server, connection.dialect))
    (specs / "two.yaml").write_text(ARRAY_TWO)
    (specs / "three.yaml").write_text(ARRAY_THREE)
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> Outcome:
        # plan and apply take the specs as arguments; status, drain, undrain as --specs.
        where = [str(specs)] if args[0] in ("plan", "apply") else ["--specs", str(specs)]
        result = runner.invoke(app, [*args, *where])
        return Outcome(result.exit_code, result.stdout, result.stderr)

    applied = run("apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    mock_control.clear_log()
    return run


@contextmanager
def lmctl_process(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``lmctl ARGS`` as a new process (for Ctrl-C tests), stdout and stderr piped.

    A process still running after 30 s is killed, so a hang fails its test, not the suite.
    """
    lmctl = Path(sys.executable).with_name("lmctl")
    process = subprocess.Popen(
        [str(lmctl), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    guard = threading.Timer(30, process.kill)
    guard.start()
    try:
        yield process
    finally:
        guard.cancel()
        if process.poll() is None:
            process.kill()
            process.communicate()
