"""Status finds a service's virtual service as plan's matcher does: by lmctl's marker, never by
its key alone; a renamed array's VSs (still carrying the old marker) are the new array's."""

from __future__ import annotations

from lmctl.errors import ExitCode
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import Statistics, VirtualService, VirtualServiceKey
from lmctl.status.model import FAILOVER_READY, HEALTHY, IN_SYNC, SERVING
from status_testkit import (
    VIP,
    desired_service,
    ipv6_service,
    observed_service,
    statistics,
    status_of,
)

OLD_VIP, NEW_VIP = "10.20.0.10", "10.20.0.11"


def https() -> DesiredVirtualService:
    return desired_service("https", 443, ["cas01", "cas02"])


def test_unmarked_vs_on_the_services_key_is_not_vouched_for() -> None:
    desired = https()
    hand_made = observed_service(desired, 7, NickName="owa")  # every member Up in it

    status = status_of([desired], [hand_made])

    service = status.service("https")
    assert (service.exists, service.serving, service.in_sync) == (False, False, False)
    assert status.exit_code == ExitCode.NOT_SERVING
    held = f"{VIP}:443/tcp is held by a virtual service lmctl does not own (NickName 'owa')"
    for condition_type in (SERVING, HEALTHY, IN_SYNC):
        condition = status.condition(condition_type)
        assert (condition.status, condition.reason) == ("False", "VirtualServiceMissing")
        assert condition.message == f"https: virtual service is missing: {held}"
    assert [(m.member, m.state) for m in service.members] == [
        ("cas01", "missing"),
        ("cas02", "missing"),
    ]


def test_the_vs_of_another_array_that_stays_in_the_specs_is_named_as_its_holder() -> None:
    desired = https()
    dr = desired_service("https", 443, ["cas03"], array="dr")
    other = observed_service(dr, 7)  # dr's VS, on the key both arrays want

    status = status_of([desired, dr], [other])

    assert status.exit_code == ExitCode.NOT_SERVING
    assert status.condition(SERVING).message == (
        f"https: virtual service is missing: {VIP}:443/tcp is held by the virtual service of "
        "dr/https (NickName 'lmctl.dr.https')"
    )


def test_vip_changed_in_the_spec_reports_the_marked_vs_where_it_still_serves() -> None:
    applied = https()
    edited = applied.model_copy(update={"key": VirtualServiceKey(address=NEW_VIP, port="443")})
    live = observed_service(applied, 4)

    status = status_of([edited], [live], statistics({(4, "cas01", 443): 12}))

    assert status.exit_code == ExitCode.DEGRADED  # serving on the old VIP: not in sync
    assert [(c.type, c.status) for c in status.conditions] == [
        (SERVING, "True"),
        (FAILOVER_READY, "True"),
        (HEALTHY, "True"),
        (IN_SYNC, "False"),
    ]
    in_sync = status.condition(IN_SYNC)
    assert in_sync.reason == "AddressDiffers"
    assert in_sync.message == (
        f"https: VIP/port differs from spec: {OLD_VIP}:443 → {NEW_VIP}:443; run `lmctl apply`"
    )
    service = status.service("https")
    assert service.live_key == live.key and service.key == edited.key
    assert service.members[0].active_connections == 12


def test_marked_vs_elsewhere_and_an_unmarked_vs_on_the_new_key_are_both_reported() -> None:
    applied = https()
    edited = applied.model_copy(update={"key": VirtualServiceKey(address=NEW_VIP, port="443")})
    hand_made = observed_service(edited, 9, NickName="owa")

    status = status_of([edited], [observed_service(applied, 4), hand_made])

    assert status.condition(SERVING).is_true
    in_sync = status.condition(IN_SYNC)
    assert in_sync.reason == "AddressConflict"
    assert (
        f"https: {NEW_VIP}:443/tcp is held by a virtual service lmctl does not own "
        "(NickName 'owa'); `lmctl apply` cannot move the service there"
    ) in in_sync.message
    assert f"VIP/port differs from spec: {OLD_VIP}:443 → {NEW_VIP}:443" in in_sync.message


def test_a_renamed_arrays_vs_still_carrying_the_old_marker_serves_the_service() -> None:
    # The array "old" was renamed "hq" in its spec (same VIP, ports, members); not applied yet.
    desired = https()
    renamed = desired_service("https", 443, ["cas01", "cas02"], array="old")

    status = status_of(
        [desired], [observed_service(renamed, 4)], statistics({(4, "cas01", 443): 5})
    )

    assert [(c.type, c.status) for c in status.conditions] == [
        (SERVING, "True"),
        (FAILOVER_READY, "True"),
        (HEALTHY, "True"),
        (IN_SYNC, "False"),
    ]
    in_sync = status.condition(IN_SYNC)
    assert (in_sync.reason, in_sync.message) == (
        "SettingsDiffer",
        "https: NickName lmctl.old.https (spec lmctl.hq.https)",
    )
    service = status.service("https")
    assert (service.live_key, service.key_holder) == (desired.key, None)
    assert service.members[0].active_connections == 5
    assert status.exit_code == ExitCode.DEGRADED  # serving, but not in sync


def test_a_renamed_arrays_vs_outside_the_scope_of_the_spec_files_given_is_not_taken() -> None:
    # As plan: with spec files named, an array not loaded is out of scope, its VSs never taken.
    desired = https()
    renamed = desired_service("https", 443, ["cas01", "cas02"], array="old")

    status = status_of([desired], [observed_service(renamed, 4)], scope=("hq",))

    assert status.exit_code == ExitCode.NOT_SERVING
    assert status.condition(SERVING).message == (
        f"https: virtual service is missing: {VIP}:443/tcp is held by the virtual service of "
        "old/https (NickName 'lmctl.old.https')"
    )


IPV6_MEMBERS = {"cas01": "2001:db8::11", "cas02": "2001:db8::12"}


def test_ipv6_real_servers_spelled_differently_by_the_appliance_are_the_members() -> None:
    desired = ipv6_service(IPV6_MEMBERS)
    rows = [
        {"Status": "Up", "VSIndex": 3, "RsIndex": n, "Addr": addr, "Port": 443, "Enable": "Y"}
        for n, addr in ((1, "2001:DB8:0:0::11"), (2, "2001:0db8::12"))
    ]
    live = VirtualService.model_validate(
        {
            **desired.settings.model_dump(by_alias=True),
            "Status": "Up",
            "Index": 3,
            "VSAddress": "2001:db8::10",
            "VSPort": "443",
            "Protocol": "tcp",
            "Rs": rows,
        }
    )
    stats = Statistics.model_validate(
        {"real_servers": [{"VSIndex": 3, "Addr": "2001:DB8::11", "Port": 443, "ActivConns": 5}]}
    )

    status = status_of([desired], [live], stats)

    service = status.service("https")
    assert [(m.member, m.state, m.active_connections) for m in service.members] == [
        ("cas01", "up", 5),
        ("cas02", "up", 0),
    ]
    assert service.unexpected_real_servers == ()
    assert status.exit_code == ExitCode.OK
