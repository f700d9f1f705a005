"""Status agrees with plan: both read one match of the appliance, so whatever ``lmctl plan`` would
change for an array makes it InSync False (a duplicate marked VS, a marked VS of a service the
spec no longer has, a renamed array's VSs to re-mark), and a VS plan re-marks in place serves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lmctl.appliance.changes import FieldChange, UpdateVirtualService
from lmctl.errors import ExitCode
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.status.conditions import changes_pending
from lmctl.status.model import FAILOVER_READY, HEALTHY, IN_SYNC, SERVING
from status_testkit import (
    VIP,
    RunLmctl,
    desired_service,
    observed_service,
    prepare_arrays,
    status_of,
)

OTHER_VIP = "10.20.0.99"


def test_a_duplicate_marked_vs_makes_in_sync_false_naming_the_extra_vs() -> None:
    https = desired_service("https", 443, ["cas01", "cas02"])
    duplicate = https.model_copy(update={"key": VirtualServiceKey(address=OTHER_VIP, port="443")})
    live = [observed_service(https, 1), observed_service(duplicate, 2)]

    status = status_of([https], live)

    assert status.exit_code == ExitCode.DEGRADED  # serving, but not in sync
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
    text = run_lmctl("status", "--array", "three")
    document = json.loads(run_lmctl("status", "--array", "three", "--format", "json").stdout)

    assert plan.exit_code == 2
    assert "delete virtual service 10.30.1.99:443/tcp (NickName 'lmctl.three.https'" in plan.stdout
    assert text.exit_code == 2, text.stdout  # plan would change it: not in sync
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
    key = VirtualServiceKey(address=VIP, port="443")
    idle = FieldChange(field="idle_time", old=660, new=7200)
    update = UpdateVirtualService(array="hq", service="https", key=key, fields=(idle,))

    assert changes_pending([update], []) == [
        (
            "ChangesPending",
            "`lmctl plan` would make 1 change: update virtual service 10.20.0.10:443/tcp",
        )
    ]
    # Already explained by a per-field reason: not repeated.
    assert changes_pending([update], [("SettingsDiffer", "https: Idletime 660 (spec 7200)")]) == []


def test_a_renamed_array_serves_on_its_old_marked_vss_and_is_not_in_sync_as_plan_says(
    run_lmctl: RunLmctl, tmp_path: Path
) -> None:
    # Renamed in its spec (same VIP, ports and members); its VSs still carry "three"'s marker.
    spec = tmp_path / "arrays" / "three.yaml"
    spec.write_text(spec.read_text().replace("name: three", "name: drei"))

    plan = run_lmctl("plan", "--detailed-exitcode")
    outcome = run_lmctl("status", "--array", "drei", "--format", "json")

    assert plan.exit_code == 2, plan.stdout + plan.stderr
    # One re-mark (a modvs of its NickName) per VS, nothing created or deleted.
    for service in ("https", "http-redirect"):
        assert f"NickName: lmctl.three.{service} → lmctl.drei.{service}" in plan.stdout
    assert "0 to create, 2 to update, 0 to delete (virtual services)" in plan.stdout
    # Serving, but not in sync: exit 2, as issue 9 asks for a renamed array.
    assert outcome.exit_code == 2, outcome.stdout + outcome.stderr
    (drei,) = json.loads(outcome.stdout)["arrays"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in drei["conditions"]}
    assert conditions == {
        SERVING: ("True", "ServicesUp"),
        FAILOVER_READY: ("True", "RedundantMembers"),
        HEALTHY: ("True", "AllMembersUp"),
        IN_SYNC: ("False", "SettingsDiffer"),
    }
    (in_sync,) = [c["message"] for c in drei["conditions"] if c["type"] == IN_SYNC]
    assert in_sync == (
        "https: NickName lmctl.three.https (spec lmctl.drei.https); "
        "http-redirect: NickName lmctl.three.http-redirect (spec lmctl.drei.http-redirect)"
    )
    assert [(s["service"], s["exists"], s["serving"]) for s in drei["services"]] == [
        ("https", True, True),
        ("http-redirect", True, True),
    ]
