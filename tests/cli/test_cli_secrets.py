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

from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    Outcome,
    array_spec,
    run_process,
    write_mock_inventory,
)
from mock_site import Array, Site

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


def _prefixes(secret: str) -> list[str]:
    return [secret[:length] for length in range(4, len(secret) + 1)]


def test_a_nickname_holding_the_password_is_scrubbed_in_ls_plan_plan_files_and_apply(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin typed the appliance's password into NickNames: one on a key a spec wants (a
    conflict, then an adoption), one on a key no spec wants. Every output that shows appliance
    text shows ``***`` instead, and the plan still adopts the VS (scrubbing decides nothing)."""
    wanted = Array("sec", "10.78.0.50", ["10.78.0.11"], services=["https"])
    site = Site.open(tmp_path, mock_server, monkeypatch, wanted)
    password = mock_server.password
    https = VirtualServiceKey(address=wanted.vip, port="443", protocol="tcp")
    other = VirtualServiceKey(address="10.78.9.9", port="22", protocol="tcp")
    site.raw(
        [
            ("add_virtual_service", (https,), {"params": {"NickName": "exch"}}),
            ("add_virtual_service", (other,), {"params": {"NickName": "ssh"}}),
            ("add_real_server", (https, "10.78.0.11", 443), {}),
        ]
    )
    site.rename(https, f"Exchange pw {password} HTTPS")
    site.rename(other, f"ssh {password}")
    arrays = str(site.arrays_dir)
    saved = tmp_path / "adopt.json"
    runs = {
        "ls": site.lmctl("ls", arrays),
        "ls json": site.lmctl("ls", arrays, "--format", "json"),
        "plan": site.plan(),
        "plan json": site.plan("--format", "json"),
        "plan markdown": site.plan("--format", "markdown"),
        "plan adopt": site.plan("--adopt", "sec"),
        "plan adopt json": site.plan("--adopt", "sec", "--format", "json"),
        "plan adopt markdown": site.plan("--adopt", "sec", "--format", "markdown"),
        "plan adopt out": site.plan("--adopt", "sec", "--out", str(saved)),
    }
    runs["plan file"] = Outcome(0, saved.read_text(), "", saved.read_text())
    runs["apply"] = site.lmctl("apply", str(saved), "--auto-approve", "--adopt", "sec")
    assert "***" in runs["ls"].stdout and "***" in runs["plan adopt"].stdout
    assert "adopt 10.78.0.50:443/tcp" in runs["plan adopt"].stdout
    assert runs["apply"].exit_code == 0, runs["apply"].output
    after = {vs.key: vs.nickname for vs in site.read()}
    assert after[https] == "lmctl.sec.https", "the adoption went through"
    assert after[other] == f"ssh {password}", "the appliance keeps its own text"
    for name, run in runs.items():
        leaked = [prefix for prefix in _prefixes(password) if prefix in run.output]
        assert not leaked, (name, run.output)
