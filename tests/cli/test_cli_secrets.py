"""Secrets never leak: every command at its most verbose, in a real process, with failures.

lmctl runs as a separate process against the served mock over HTTPS; the mock's password comes
from the environment as the inventory says. Neither the password, nor a wrong password tried
by mistake, nor the HTTP Basic token built from them may appear in anything lmctl prints or
leaves behind: stdout, stderr (with ``-vv`` logging), a saved plan, backups, the state dir.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    Outcome,
    array_spec,
    run_process,
    write_mock_inventory,
)

ARRAY = array_spec(
    "secrets",
    "SECRETS",
    "2016 CU23",
    "10.77.0.50",
    "lm-secret",
    {"SEC-CAS01": "10.77.0.11", "SEC-CAS02": "10.77.0.12"},
    fqdn="mail-secrets.corp.example.com",
)


def _lmctl(workdir: Path, password: str, *args: str) -> Outcome:
    return run_process(workdir, {PASSWORD_VARIABLE: password}, "-vv", *args)


def _forms(username: str, secret: str) -> list[str]:
    """A secret as it could leak: plain, and inside an HTTP Basic token."""
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return [secret, token]


def test_no_secret_in_any_output_at_the_highest_verbosity(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arrays = tmp_path / "arrays"
    write_mock_inventory(arrays, mock_server, "lm-secret", "v1")
    (arrays / "secrets.yaml").write_text(ARRAY)
    password = mock_server.password
    wrong_password = "Wr0ng-" + password[::-1]

    runs = [
        _lmctl(tmp_path, password, "plan", "arrays", "--out", "plan.json"),
        _lmctl(tmp_path, password, "apply", "arrays", "--auto-approve"),
        _lmctl(tmp_path, password, "status", "arrays"),
        _lmctl(tmp_path, wrong_password, "plan", "arrays"),
    ]
    (backup,) = (tmp_path / ".lmctl" / "backups").glob("*.bak")
    restore = ("restore", backup.name, "--inventory", "arrays/appliances.yaml", "--auto-approve")
    runs += [
        _lmctl(tmp_path, password, *restore),
        _lmctl(tmp_path, password, "backups"),
        _lmctl(tmp_path, password, "history"),
    ]
    for nth in range(1, 9):  # more 500s than the client's read retries
        mock_control.add_fault("http500", command="listvs", nth=nth)
    runs.append(_lmctl(tmp_path, password, "plan", "arrays"))

    assert [run.exit_code for run in runs] == [0, 0, 0, 1, 0, 0, 0, 1], [r.stderr for r in runs]
    assert "Restore complete" in runs[4].stdout
    assert "DEBUG" in runs[0].stderr, "-vv must log the requests"
    assert "401" in runs[3].stderr + runs[3].stdout or "credential" in runs[3].stderr.lower()
    leftovers = [path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file()]
    printed = [text for run in runs for text in (run.stdout, run.stderr)]
    for secret in _forms(mock_server.username, password) + _forms(
        mock_server.username, wrong_password
    ):
        for text in printed + leftovers:
            assert secret not in text
