"""``lmctl status`` on a per-protocol array over HTTPS against the mock: each SubVS is a
service of the array (``https/<directory>``) with its own members' health, so a member Down
for one virtual directory alone degrades that directory only."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    PER_PROTOCOL_DIRECTORIES,
    PER_PROTOCOL_MEMBERS,
    applied_per_protocol,
    run_in,
)

MEMBERS = PER_PROTOCOL_MEMBERS
DIRECTORIES = PER_PROTOCOL_DIRECTORIES


@pytest.fixture
def specs(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 2019 per-protocol array applied to the mock at ``lm-hq``."""
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    directory = applied_per_protocol(tmp_path, mock_server)
    return directory


def status(directory: Path) -> tuple[int, dict[str, Any]]:
    outcome = run_in(directory, "status", "--format", "json")
    (array,) = json.loads(outcome.stdout)["arrays"]
    return outcome.exit_code, array


def member_states(array: dict[str, Any]) -> dict[str, dict[str, str]]:
    """service → member → state, from the JSON document."""
    return {
        service["service"]: {member["member"]: member["state"] for member in service["members"]}
        for service in array["services"]
    }


def test_every_directory_up_exits_0_with_one_service_per_subvs(specs: Path) -> None:
    code, array = status(specs)

    assert code == 0, array
    assert {c["type"]: c["status"] for c in array["conditions"]} == dict.fromkeys(
        ("Serving", "FailoverReady", "Healthy", "InSync"), "True"
    )
    states = member_states(array)
    assert {f"https/{d}" for d in DIRECTORIES} <= set(states)
    assert "https" not in states
    for directory in DIRECTORIES:
        assert states[f"https/{directory}"] == {"EX19-01": "up", "EX19-02": "up"}


def test_a_member_down_for_ews_alone_exits_2_naming_ews_and_the_member(
    specs: Path, mock_control: MockControl
) -> None:
    mock_control.mark(MEMBERS["EX19-02"], "Down", url="/ews/healthcheck.htm")

    code, array = status(specs)

    assert code == 2, array
    conditions = {c["type"]: (c["status"], c["reason"], c["message"]) for c in array["conditions"]}
    assert conditions["Serving"][0] == "True"
    assert conditions["Healthy"] == ("False", "MembersDown", "EX19-02 is Down in https/ews")
    assert conditions["FailoverReady"][:2] == ("False", "SingleMemberUp")
    assert conditions["FailoverReady"][2] == (
        "https/ews: only EX19-01 is enabled and Up (no failover if EX19-01 fails)"
    )
    states = member_states(array)
    assert states["https/ews"] == {"EX19-01": "up", "EX19-02": "down"}
    for directory in ("owa", "Microsoft-Server-ActiveSync"):
        assert states[f"https/{directory}"] == {"EX19-01": "up", "EX19-02": "up"}
    text = run_in(specs, "status")
    assert text.exit_code == 2
    assert "https/ews" in text.output and "EX19-02" in text.output


def test_a_disabled_parent_leaves_every_directory_not_serving(
    specs: Path, mock_server: MockServerHandle
) -> None:
    # An admin disables the parent VS in the appliance's own API: no directory answers.
    assert mock_server.ca_file is not None
    reply = httpx.get(
        f"{mock_server.url}/access/modvs",
        params={"vs": "10.30.1.50", "port": "443", "prot": "tcp", "Enable": "0"},
        auth=(mock_server.username, mock_server.password),
        verify=ssl.create_default_context(cafile=str(mock_server.ca_file)),
    )
    assert reply.status_code == 200, reply.text

    code, array = status(specs)

    assert code == 3, array
    serving = next(c for c in array["conditions"] if c["type"] == "Serving")
    assert (serving["status"], serving["reason"]) == ("False", "VirtualServiceDisabled")
    for directory in DIRECTORIES:
        assert (
            f"https/{directory}: virtual service 10.30.1.50:443/tcp is disabled"
            in (serving["message"])
        )
    insync = next(c for c in array["conditions"] if c["type"] == "InSync")
    assert insync["status"] == "False"


def test_a_missing_subvs_is_named_and_its_parent_is_not_called_missing(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    (ews,) = [
        vs["index"]
        for vs in mock_control.state()["services"]
        if vs["settings"].get("NickName") == "lmctl.mail-2019.https.ews"
    ]
    # An admin deletes the EWS SubVS in the appliance's own API.
    assert mock_server.ca_file is not None
    reply = httpx.get(
        f"{mock_server.url}/access/delvs",
        params={"vs": str(ews)},
        auth=(mock_server.username, mock_server.password),
        verify=ssl.create_default_context(cafile=str(mock_server.ca_file)),
    )
    assert reply.status_code == 200, reply.text

    code, array = status(specs)

    assert code == 3, array
    serving = next(c for c in array["conditions"] if c["type"] == "Serving")
    assert serving["message"] == (
        "https/ews: SubVS lmctl.mail-2019.https.ews of 10.30.1.50:443/tcp is missing"
    )
