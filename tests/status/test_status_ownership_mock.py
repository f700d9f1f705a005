"""Over real HTTPS against the served mock: status and drain leave unowned virtual services alone.

The repro of a first-time user: a hand-made VS (NickName ``owa``, no lmctl marker) already holds
the VIP:443 an array wants; status must not report it OK and drain must not write to it. Also:
a VIP edited in the spec but not applied, and members named by an IPv6 address in any spelling.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from status_testkit import ARRAY_FOUR, MEMBERS, RunLmctl, prepare_arrays

FAST = ("--poll-interval", "0.05")
FOUR_VIP = "10.30.2.10"
FOUR_MEMBERS = ("10.30.2.11", "10.30.2.12")
HELD = f"{FOUR_VIP}:443/tcp is held by a virtual service lmctl does not own (NickName 'owa')"


@pytest.fixture
def run_lmctl(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    mock_control: MockControl,
    connection_v1: ApplianceConnection,
) -> RunLmctl:
    """Arrays ``two`` and ``three`` applied; ``four`` in the specs, its VIP:443 held by ``owa``."""
    run = prepare_arrays(request, "v1")
    (tmp_path / "arrays" / "four.yaml").write_text(ARRAY_FOUR)

    async def hand_made_owa() -> None:
        async with LoadMaster(connection_v1) as client:
            key = VirtualServiceKey(address=FOUR_VIP, port="443")
            await client.add_virtual_service(key, {"NickName": "owa"})
            for address in FOUR_MEMBERS:
                await client.add_real_server(key, address, 443)

    asyncio.run(hand_made_owa())
    mock_control.clear_log()
    return run


def owa_flags(mock_control: MockControl) -> list[bool]:
    """The enable flag of each real server of the hand-made ``owa`` VS."""
    return [rs.enable for rs in mock_control.connections() if rs.address in FOUR_MEMBERS]


def test_status_does_not_vouch_for_an_unowned_vs_on_the_arrays_vip(run_lmctl: RunLmctl) -> None:
    outcome = run_lmctl("status", "--array", "four")

    words = " ".join(outcome.stdout.split())  # the table may wrap a long message
    assert outcome.exit_code == 3, outcome.stdout
    assert "four on lm-test: NOT SERVING" in words
    assert f"https: virtual service is missing: {HELD}" in words


def test_status_json_names_the_holder_of_the_key(run_lmctl: RunLmctl) -> None:
    outcome = run_lmctl("status", "--array", "four", "--format", "json")

    document = json.loads(outcome.stdout)
    (four,) = document["arrays"]
    (https,) = four["services"]
    assert (document["exit_code"], https["exists"]) == (3, False)
    assert https["live_virtual_service"] is None
    assert https["held_by"] == HELD
    assert {c["type"]: c["reason"] for c in four["conditions"]}["Serving"] == (
        "VirtualServiceMissing"
    )


@pytest.mark.parametrize("command", ["drain", "undrain"])
def test_drain_and_undrain_never_write_to_an_unowned_vs(
    run_lmctl: RunLmctl, mock_control: MockControl, command: str
) -> None:
    outcome = run_lmctl(command, "EX-D2", *FAST)

    assert outcome.exit_code == 1
    assert f"https: EX-D2 is not on lm-test ({HELD}, never changed by lmctl), skipped" in (
        " ".join(outcome.stdout.split())
    )
    assert "EX-D2 is in no virtual service of array four on lm-test" in outcome.stderr
    assert not [call for call in mock_control.calls() if call.write]
    assert owa_flags(mock_control) == [True, True]


def test_status_after_a_vip_edit_reports_the_array_serving_on_its_old_vip(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    spec = tmp_path / "arrays" / "three.yaml"
    spec.write_text(spec.read_text().replace("vip: 10.30.1.10", "vip: 10.30.1.20"))
    mock_control.set_connections(MEMBERS["EX-B1"], 7)

    outcome = run_lmctl("status", "--array", "three", "--format", "json")

    assert outcome.exit_code == 2, outcome.stdout  # serving on the old VIP, not in sync
    (three,) = json.loads(outcome.stdout)["arrays"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in three["conditions"]}
    assert conditions == {
        "Serving": ("True", "ServicesUp"),
        "FailoverReady": ("True", "RedundantMembers"),
        "Healthy": ("True", "AllMembersUp"),
        "InSync": ("False", "AddressDiffers"),
    }
    (in_sync,) = [c["message"] for c in three["conditions"] if c["type"] == "InSync"]
    assert "https: VIP/port differs from spec: 10.30.1.10:443 → 10.30.1.20:443" in in_sync
    https = three["services"][0]
    assert (https["virtual_service"], https["live_virtual_service"]) == (
        "10.30.1.20:443/tcp",
        "10.30.1.10:443/tcp",
    )
    assert https["members"][0]["active_connections"] == 7


def test_drain_after_a_vip_edit_writes_to_the_marked_vs_at_its_old_vip(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    spec = tmp_path / "arrays" / "three.yaml"
    spec.write_text(spec.read_text().replace("vip: 10.30.1.10", "vip: 10.30.1.20"))

    outcome = run_lmctl("drain", "EX-B2", *FAST)

    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert "disable 10.30.1.12:443 in https (10.30.1.10:443/tcp)" in outcome.stdout
    writes = [(call.command, call.params.get("vs")) for call in mock_control.calls() if call.write]
    assert writes == [("modrs", "10.30.1.10")]


ARRAY_SIX = """\
name: six
site: DR6
exchange: 2016 CU23
fqdn: mail-six.corp.example.com
vip: 2001:db8:30::10
appliance: lm-test
members:
  - {name: EX-F1, address: "2001:db8:30::11"}
  - {name: EX-F2, address: "2001:db8:30::12"}
services: [https]
"""


def test_drain_and_undrain_of_a_member_named_by_its_ipv6_address_in_another_spelling(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    (tmp_path / "arrays" / "four.yaml").unlink()
    (tmp_path / "arrays" / "six.yaml").write_text(ARRAY_SIX)
    applied = run_lmctl("apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    mock_control.clear_log()

    drained = run_lmctl("drain", "2001:DB8:30:0::12", *FAST)
    undrained = run_lmctl("undrain", "2001:0db8:30::12", *FAST)

    assert drained.exit_code == 0, drained.stdout + drained.stderr
    assert "EX-F2 is drained: disabled in array six, 0 connections" in drained.stdout
    assert undrained.exit_code == 0, undrained.stdout + undrained.stderr
    assert "EX-F2 is enabled and Up in every service of array six" in undrained.stdout
    writes = [
        (call.command, call.params.get("rs"), call.params.get("enable"))
        for call in mock_control.calls()
        if call.write
    ]
    assert writes == [("modrs", "2001:db8:30::12", "N"), ("modrs", "2001:db8:30::12", "Y")]
