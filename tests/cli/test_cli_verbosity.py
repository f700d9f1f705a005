"""``-v``, ``-vv``, ``-vvv``: what each level logs, in a real process against the served mock.

-v: one line per API call naming the appliance, the command, the object (a VS key, a real
server), the HTTP status and the milliseconds, and nothing from httpx/httpcore/asyncio; -vv: also
the request and reply bodies, scrubbed; -vvv: also the HTTP libraries' debug lines. No level
shows the password or the HTTP Basic token made from it.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from lmctl.loadmaster.transport import call_object
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    Outcome,
    array_spec,
    invoke,
    run_process,
    write_mock_inventory,
)

ARRAY = array_spec(
    "verbose",
    "VERBOSE",
    "2016 CU23",
    "10.78.0.50",
    "lm-verbose",
    {"VRB-CAS01": "10.78.0.11", "VRB-CAS02": "10.78.0.12"},
    fqdn="mail-verbose.corp.example.com",
)
# 2026-12-02 16:31:48,668 INFO lmctl.loadmaster: lm-verbose: listvs → HTTP 200 in 42 ms
CALL_LINE = re.compile(
    r"^\S+ \S+ INFO lmctl\.loadmaster: lm-verbose: (?P<call>\S+(?: [^→]+)?) → "
    r"HTTP (?P<status>\d{3}) in (?P<ms>\d+) ms$"
)


@pytest.fixture(params=["v1", "v2"])
def workdir(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    mock_server: MockServerHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A site on the served mock (in each dialect) with the array applied (in-process: the
    set-up is not what the tests look at; the commands they check run as processes)."""
    arrays = tmp_path / "arrays"
    write_mock_inventory(arrays, mock_server, "lm-verbose", request.param)
    (arrays / "verbose.yaml").write_text(ARRAY)
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    state_dir = str(tmp_path / ".lmctl")
    applied = invoke("apply", "--auto-approve", str(arrays), "--state-dir", state_dir)
    assert applied.exit_code == 0, applied.output
    return tmp_path


def lmctl(workdir: Path, server: MockServerHandle, *args: str) -> Outcome:
    return run_process(workdir, {PASSWORD_VARIABLE: server.password}, *args)


def secrets(server: MockServerHandle) -> list[str]:
    token = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
    return [server.password, token]


def test_v_logs_one_line_per_api_call_with_appliance_command_object_status_and_ms(
    workdir: Path, mock_server: MockServerHandle
) -> None:
    drained = lmctl(workdir, mock_server, "-v", "drain", "VRB-CAS02", "arrays", "--timeout", "5")

    assert drained.exit_code == 0, drained.output
    lines = drained.stderr.splitlines()
    calls = [match["call"] for line in lines if (match := CALL_LINE.match(line))]
    assert calls[0] == "listvs"
    assert "stats" in calls
    assert "modrs 10.78.0.50:443/tcp rs 10.78.0.12:443" in calls
    assert len(calls) == sum("lmctl.loadmaster" in line and " → " in line for line in lines)
    assert not [line for line in lines if " DEBUG " in line]
    for library in ("httpx", "httpcore", "asyncio"):
        assert f" {library}" not in drained.stderr


def test_vv_adds_the_bodies_scrubbed_and_vvv_the_http_libraries(
    workdir: Path, mock_server: MockServerHandle
) -> None:
    runs = {
        level: lmctl(workdir, mock_server, level, "status", "arrays")
        for level in ("-v", "-vv", "-vvv")
    }

    assert [run.exit_code for run in runs.values()] == [0, 0, 0], runs
    vv, vvv = runs["-vv"].stderr, runs["-vvv"].stderr
    assert "DEBUG lmctl.loadmaster: lm-verbose ← listvs reply: " in vv
    assert "lmctl.verbose.https" in vv  # the reply's content (the marker in a NickName)
    assert " httpcore" not in vv and " httpx" not in vv
    assert "DEBUG httpcore" in vvv
    for run in runs.values():
        for secret in secrets(mock_server):
            assert secret not in run.output


def test_a_backup_reply_is_never_logged(workdir: Path, mock_server: MockServerHandle) -> None:
    reweighted = ARRAY.replace("address: 10.78.0.12}", "address: 10.78.0.12, weight: 500}")
    (workdir / "arrays" / "verbose.yaml").write_text(reweighted)

    applied = lmctl(workdir, mock_server, "-vv", "apply", "--auto-approve", "arrays")

    assert applied.exit_code == 0, applied.output
    assert re.search(r"lm-verbose ← backup reply: \(\d+ bytes, not logged\)", applied.stderr)


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({}, ""),
        ({"vs": "10.0.0.5", "port": "443", "prot": "tcp", "Weight": "7"}, " 10.0.0.5:443/tcp"),
        ({"vs": "7"}, " VS 7"),
        (
            {
                "vs": "2001:db8::5",
                "port": "443",
                "prot": "tcp",
                "rs": "2001:db8::21",
                "rsport": "443",
            },
            " [2001:db8::5]:443/tcp rs [2001:db8::21]:443",
        ),
        ({"param": "version"}, " param=version"),
    ],
)
def test_a_call_line_names_the_object_and_no_setting(params: dict[str, str], shown: str) -> None:
    assert call_object(params) == shown
