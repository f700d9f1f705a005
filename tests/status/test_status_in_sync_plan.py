"""Status's InSync agrees with plan: whatever ``lmctl plan`` would change for an array makes it
InSync False (a duplicate marked VS, a marked VS of a service the spec no longer has)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from status_builders import VIP, desired_service, observed_service, status_of
from status_mock_specs import RunLmctl, prepare_arrays

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.status.model import FAILOVER_READY, HEALTHY, IN_SYNC, SERVING, StatusExit

OTHER_VIP = "10.20.0.99"


def test_a_duplicate_marked_vs_makes_in_sync_false_naming_the_extra_vs() -> None:
    https = desired_service("https", 443, ["cas01", "cas02"])
    duplicate = https.model_copy(update={"key": VirtualServiceKey(address=OTHER_VIP, port="443")})
    live = [observed_service(https, 1), observed_service(duplicate, 2)]

    status = status_of([https], live)

    assert status.exit_code == StatusExit.OK  # InSync never changes the exit code
    assert all(status.condition(c).is_true for c in (SERVING, FAILOVER_READY, HEALTHY))
    in_sync = status.condition(IN_SYNC)
    assert (in_sync.status, in_sync.reason) == ("False", "DuplicateVirtualService")
    assert in_sync.message == (
        f"https: duplicate virtual service {OTHER_VIP}:443/tcp (NickName 'lmctl.hq.https', "
        f"2 real servers) also carries the service's marker; `lmctl apply` deletes it"
    )
    service = status.service("https")
    assert service.live_key == VirtualServiceKey(address=VIP, port="443")
    assert service.in_sync is False
    assert service.duplicates == (
        f"{OTHER_VIP}:443/tcp (NickName 'lmctl.hq.https', 2 real servers)",
    )


def test_a_marked_vs_of_a_service_the_spec_no_longer_has_makes_in_sync_false() -> None:
    https = desired_service("https", 443, ["cas01", "cas02"])
    imap = desired_service("imap4s", 993, ["cas01", "cas02"])

    status = status_of([https], [observed_service(https, 1), observed_service(imap, 2)])

    in_sync = status.condition(IN_SYNC)
    assert (in_sync.status, in_sync.reason) == ("False", "UnexpectedVirtualService")
    assert in_sync.message == (
        f"imap4s: virtual service {VIP}:993/tcp (NickName 'lmctl.hq.imap4s', 2 real servers) "
        "carries this array's marker but the spec has no such service; `lmctl apply` deletes it"
    )
    assert status.service("https").in_sync is True


def test_another_arrays_marked_vs_does_not_count_against_this_array() -> None:
    https = desired_service("https", 443, ["cas01", "cas02"])
    dr = desired_service("https", 443, ["cas03"], array="dr").model_copy(
        update={"key": VirtualServiceKey(address=OTHER_VIP, port="443")}
    )

    status = status_of([https], [observed_service(https, 1), observed_service(dr, 2)])

    assert status.condition(IN_SYNC).is_true


@pytest.fixture
def run_lmctl(request: pytest.FixtureRequest) -> RunLmctl:
    """lmctl against arrays ``two`` and ``three``, created on the served mock over APIv1."""
    return prepare_arrays(request, "v1")


def test_status_and_plan_agree_on_a_duplicate_marked_vs_over_https(
    run_lmctl: RunLmctl, connection_v1: ApplianceConnection, tmp_path: Path
) -> None:
    duplicate = VirtualServiceKey(address="10.30.1.99", port="443")

    async def add_duplicate() -> None:
        async with LoadMaster(connection_v1) as client:
            await client.add_virtual_service(duplicate, {"NickName": "lmctl.three.https"})

    asyncio.run(add_duplicate())

    plan = run_lmctl("plan", "--detailed-exitcode")
    text = run_lmctl("status", "three")
    document = json.loads(run_lmctl("status", "three", "--format", "json").stdout)

    assert plan.exit_code == 2
    assert "delete virtual service 10.30.1.99:443/tcp (lmctl.three.https" in plan.stdout
    assert text.exit_code == 0, text.stdout
    words = " ".join(text.stdout.split())  # the table may wrap a long message
    assert "InSync False DuplicateVirtualService" in words
    assert "https: duplicate virtual service 10.30.1.99:443/tcp" in words
    (three,) = document["arrays"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in three["conditions"]}
    assert conditions[IN_SYNC] == ("False", "DuplicateVirtualService")
    https = next(s for s in three["services"] if s["service"] == "https")
    assert https["in_sync"] is False
    assert https["duplicate_virtual_services"] == [
        "10.30.1.99:443/tcp (NickName 'lmctl.three.https', 0 real servers)"
    ]


def test_a_change_plan_finds_that_no_status_check_names_still_makes_in_sync_false() -> None:
    from lmctl.status.conditions import plan_problems
    from lmctl.status.pending import PendingChanges

    pending = PendingChanges(changes=("update virtual service 10.20.0.10:443/tcp",))

    assert plan_problems(pending, []) == [
        (
            "ChangesPending",
            "`lmctl plan` would make 1 change: update virtual service 10.20.0.10:443/tcp",
        )
    ]
    # Already explained by a per-field reason: not repeated.
    assert plan_problems(pending, [("SettingsDiffer", "https: Idletime 660 (spec 7200)")]) == []
