"""``lmctl drain`` / ``lmctl undrain`` of a member of a per-protocol array over HTTPS against
the served mock: the member is switched in every SubVS of its array (each directory is a
service of its own, checked for safety and waited for on its own), never in the parent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    PER_PROTOCOL_DIRECTORIES,
    PER_PROTOCOL_MEMBERS,
    admin_call,
    admins_sub_service,
    applied_per_protocol,
    run_in,
)

MEMBERS = PER_PROTOCOL_MEMBERS
DIRECTORIES = PER_PROTOCOL_DIRECTORIES
FAST = ("--poll-interval", "0.05")
PARENT = "10.30.1.50:443/tcp"


@pytest.fixture
def specs(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A 2019 per-protocol array applied to the mock at ``lm-hq``; the call log cleared."""
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    directory = applied_per_protocol(tmp_path, mock_server)
    mock_control.clear_log()
    return directory


def sub_service_indexes(mock_control: MockControl) -> dict[str, int]:
    """directory → the Index of its SubVS, as the mock holds them."""
    indexes: dict[str, int] = {}
    for service in mock_control.state()["services"]:
        nickname = service.get("settings", {}).get("NickName") or ""
        if nickname.startswith("lmctl.mail-2019.https."):
            indexes[nickname.removeprefix("lmctl.mail-2019.https.")] = service["index"]
    return indexes


def flags(mock_control: MockControl, member: str) -> dict[int, bool]:
    """VS Index → the member's enable flag there, for every VS that has it."""
    return {
        rs.vs_index: rs.enable for rs in mock_control.connections() if rs.address == MEMBERS[member]
    }


def member_rows(directory: Path, member: str) -> dict[str, dict[str, Any]]:
    """service → the member's row of ``status --format json``."""
    outcome = run_in(directory, "status", "--format", "json")
    (array,) = json.loads(outcome.stdout)["arrays"]
    return {
        service["service"]: row
        for service in array["services"]
        for row in service["members"]
        if row["member"] == member
    }


def test_drain_disables_the_member_in_every_subvs_and_waits_for_all_their_connections(
    specs: Path, mock_control: MockControl
) -> None:
    mock_control.set_connections(MEMBERS["EX19-02"], 40)
    mock_control.set_drain_seconds(0.6)
    indexes = sub_service_indexes(mock_control)
    assert set(indexes) == set(DIRECTORIES)

    outcome = run_in(specs, "drain", "EX19-02", "--timeout", "10", *FAST)

    assert outcome.exit_code == 0, outcome.output
    for directory in DIRECTORIES:
        assert f"disable 10.30.1.12:443 in https/{directory} ({PARENT})" in outcome.stdout
    # 40 in each of the three SubVSs, falling to 0 while the mock drains them.
    counts = [int(n) for n in re.findall(r"EX19-02: (\d+) active connections", outcome.stdout)]
    assert 0 < counts[0] <= 120 and counts[-1] == 0
    assert "EX19-02 is drained: disabled in array mail-2019, 0 connections" in outcome.stdout
    writes = [call for call in mock_control.calls() if call.write]
    assert sorted(
        (call.command, call.params.get("vs"), call.params.get("enable")) for call in writes
    ) == sorted(("modrs", str(index), "N") for index in indexes.values())
    assert flags(mock_control, "EX19-02") == dict.fromkeys(indexes.values(), False)
    assert flags(mock_control, "EX19-01") == dict.fromkeys(indexes.values(), True)


def test_status_counts_each_subvs_members_connections(
    specs: Path, mock_control: MockControl
) -> None:
    mock_control.set_connections(MEMBERS["EX19-01"], 7)

    rows = member_rows(specs, "EX19-01")

    assert {service: row["active_connections"] for service, row in rows.items()} == {
        f"https/{directory}": 7 for directory in DIRECTORIES
    }


def test_a_drained_member_shows_drained_per_directory_and_a_second_drain_writes_nothing(
    specs: Path, mock_control: MockControl
) -> None:
    assert run_in(specs, "drain", "EX19-02", *FAST).exit_code == 0
    mock_control.clear_log()

    again = run_in(specs, "drain", "EX19-02", *FAST)

    assert again.exit_code == 0, again.output
    assert "EX19-02 is already disabled in every service of mail-2019" in again.stdout
    assert not [call for call in mock_control.calls() if call.write]
    rows = member_rows(specs, "EX19-02")
    assert {row["state"] for row in rows.values()} == {"drained"}, rows
    assert set(rows) == {f"https/{directory}" for directory in DIRECTORIES}
    # plan leaves the drain alone, and says so once for the member, naming its SubVSs.
    plan = run_in(specs, "plan")
    assert plan.stdout.count("drained: EX19-02") == 1, plan.stdout
    subs = ", ".join(f"lmctl.mail-2019.https.{directory}" for directory in DIRECTORIES)
    words = " ".join(plan.stdout.split())
    assert f"drained: EX19-02 10.30.1.12:443 is disabled on the appliance in SubVS {subs}" in words


def test_drain_is_refused_when_the_other_member_is_down_for_one_directory(
    specs: Path, mock_control: MockControl
) -> None:
    mock_control.mark(MEMBERS["EX19-01"], "Down", url="/ews/healthcheck.htm")

    refused = run_in(specs, "drain", "EX19-02", *FAST)

    assert refused.exit_code == 3, refused.output
    assert "refusing to drain EX19-02: https/ews: no other member is enabled and Up" in (
        " ".join(refused.output.split())
    )
    assert "https/owa" not in refused.output
    assert not [call for call in mock_control.calls() if call.write]
    assert set(flags(mock_control, "EX19-02").values()) == {True}


def test_undrain_reenables_every_subvs_and_waits_for_each_directory_to_be_up(
    specs: Path, mock_control: MockControl
) -> None:
    assert run_in(specs, "drain", "EX19-02", *FAST).exit_code == 0
    mock_control.mark(MEMBERS["EX19-02"], "Down", url="/ews/healthcheck.htm")
    mock_control.clear_log()

    outcome = run_in(specs, "undrain", "EX19-02", "--timeout", "0.3", *FAST)

    # Enabled in every SubVS, Up in every directory but EWS: undrain waits, then says which.
    assert outcome.exit_code == 2, outcome.output
    assert set(flags(mock_control, "EX19-02").values()) == {True}
    writes = [call for call in mock_control.calls() if call.write]
    assert [call.params.get("enable") for call in writes] == ["Y"] * len(DIRECTORIES)
    assert "timed out: EX19-02 is enabled but not Up in https/ews" in " ".join(
        outcome.output.split()
    )

    mock_control.mark(MEMBERS["EX19-02"], "Up", url="/ews/healthcheck.htm")
    done = run_in(specs, "undrain", "EX19-02", *FAST)
    assert done.exit_code == 0, done.output
    assert "EX19-02 is enabled and Up in every service of array mail-2019" in done.stdout


def test_a_fault_on_a_subvs_switch_is_settled_and_a_rerun_writes_nothing(
    specs: Path, mock_control: MockControl
) -> None:
    mock_control.add_fault("http500", command="modrs", nth=2)

    first = run_in(specs, "drain", "EX19-02", *FAST)
    faulted = [call for call in mock_control.calls() if call.fault]
    mock_control.clear_log()
    again = run_in(specs, "drain", "EX19-02", *FAST)

    # The client reads the SubVS's real server back after the failed write and settles it.
    assert first.exit_code == 0, first.output
    assert [call.command for call in faulted] == ["modrs"]
    assert again.exit_code == 0, again.output
    assert not [call for call in mock_control.calls() if call.write]
    assert set(flags(mock_control, "EX19-02").values()) == {False}


@pytest.mark.parametrize("command", ["drain", "undrain"])
def test_a_copied_subvs_marker_is_refused_without_calling_the_member_missing(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl, command: str
) -> None:
    # An admin's empty SubVS carries OWA's marker: the member still serves OWA through
    # lmctl's OWA SubVS (the one with the rule), so nothing is "not on lm-hq".
    admins_sub_service(mock_server, mock_control, "lmctl.mail-2019.https.owa")
    mock_control.clear_log()

    refused = run_in(specs, command, "EX19-01", *FAST)

    assert refused.exit_code == 3, refused.output
    words = " ".join(refused.output.split())
    assert f"refusing to {command} EX19-01: lmctl cannot switch it everywhere" in words
    assert "2 SubVSs carry the marker 'lmctl.mail-2019.https.owa'" in words
    assert "is not on lm-hq" not in words and "skipped" not in words
    assert not [call for call in mock_control.calls() if call.write]


def test_a_refusal_for_a_foreign_subvs_comes_before_any_skipped_service(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # EX19-01 is missing from EWS's SubVS and an admin's SubVS sits in the parent: the drain
    # is refused, and no service is said to be skipped by a drain that does not happen.
    ews = sub_service_indexes(mock_control)["ews"]
    address = MEMBERS["EX19-01"]
    reply = admin_call(mock_server, "delrs", {"vs": str(ews), "rs": address, "rsport": "443"})
    assert reply.status_code == 200, reply.text
    admins_sub_service(mock_server, mock_control, "ews-test")
    mock_control.clear_log()

    refused = run_in(specs, "drain", "EX19-01", *FAST)

    assert refused.exit_code == 3, refused.output
    words = " ".join(refused.output.split())
    assert "refusing to drain EX19-01" in words and "(NickName 'ews-test') is not lmctl's" in words
    assert "skipped" not in words
    assert not [call for call in mock_control.calls() if call.write]
