"""Conditions of an array from hand-built desired services, live virtual services and stats."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from lmctl.appliance.state import RealServerState
from lmctl.errors import ExitCode
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import VirtualService
from lmctl.status.conditions import real_server_differences, unreadable_array_status
from lmctl.status.model import FAILOVER_READY, HEALTHY, IN_SYNC, SERVING, overall_exit
from status_testkit import (
    desired_service,
    observed_service,
    statistics,
    status_of,
    two_member_array,
)


def all_up(desired: Sequence[DesiredVirtualService]) -> list[VirtualService]:
    return [observed_service(service, index) for index, service in enumerate(desired, start=1)]


def test_every_member_up_makes_every_condition_true_and_exit_0() -> None:
    desired = two_member_array()

    status = status_of(desired, all_up(desired))

    assert [(c.type, c.status, c.reason) for c in status.conditions] == [
        (SERVING, "True", "ServicesUp"),
        (FAILOVER_READY, "True", "RedundantMembers"),
        (HEALTHY, "True", "AllMembersUp"),
        (IN_SYNC, "True", "MatchesSpec"),
    ]
    assert status.exit_code == ExitCode.OK
    rpc = status.service("rpc")
    assert [(m.member, m.state) for m in rpc.members] == [("cas01", "up"), ("cas02", "up")]


def test_one_member_down_names_it_and_breaks_failover_of_two_member_services() -> None:
    desired = two_member_array()
    live = [
        observed_service(desired[0], 1, members={"cas01": ("Up", True), "cas02": ("Down", True)}),
        observed_service(desired[1], 2, members={"cas01": ("Up", True), "cas02": ("Down", True)}),
        observed_service(desired[2], 3, status="Up"),
    ]

    status = status_of(desired, live)

    healthy = status.condition(HEALTHY)
    assert (healthy.status, healthy.reason) == ("False", "MembersDown")
    assert healthy.message == "cas02 is Down in rpc, https"
    failover = status.condition(FAILOVER_READY)
    assert (failover.status, failover.reason) == ("False", "SingleMemberUp")
    assert failover.message == (
        "rpc: only cas01 is enabled and Up (no failover if cas01 fails); "
        "https: only cas01 is enabled and Up (no failover if cas01 fails)"
    )
    assert "http-redirect" not in failover.message
    assert status.condition(SERVING).is_true
    assert status.condition(IN_SYNC).is_true
    assert status.exit_code == ExitCode.DEGRADED


def test_one_member_down_of_three_keeps_failover_ready_but_not_healthy() -> None:
    desired = [desired_service("https", 443, ["cas01", "cas02", "cas03"])]
    live = [
        observed_service(
            desired[0],
            7,
            members={"cas01": ("Up", True), "cas02": ("Up", True), "cas03": ("Down", True)},
        )
    ]

    status = status_of(desired, live)

    assert status.condition(FAILOVER_READY).is_true
    assert status.condition(HEALTHY).message == "cas03 is Down in https"
    assert status.exit_code == ExitCode.DEGRADED


def test_every_member_of_a_service_down_means_not_serving_exit_3() -> None:
    desired = two_member_array()
    live = all_up(desired)
    live[1] = observed_service(
        desired[1], 2, members={"cas01": ("Down", True), "cas02": ("Down", True)}
    )

    status = status_of(desired, live)

    serving = status.condition(SERVING)
    assert (serving.status, serving.reason) == ("False", "NoMemberUp")
    assert serving.message == "https: no member is enabled and Up (cas01 down, cas02 down)"
    assert status.condition(FAILOVER_READY).reason == "NotServing"
    assert status.exit_code == ExitCode.NOT_SERVING


def test_missing_virtual_service_is_not_serving_and_not_in_sync() -> None:
    desired = two_member_array()
    live = all_up(desired)[1:]

    status = status_of(desired, live)

    assert status.condition(SERVING).reason == "VirtualServiceMissing"
    assert status.condition(SERVING).message == (
        "rpc: virtual service 10.20.0.10:135/tcp is missing"
    )
    assert status.condition(IN_SYNC).reason == "VirtualServiceMissing"
    assert status.service("rpc").exists is False
    assert status.exit_code == ExitCode.NOT_SERVING


def test_disabled_virtual_service_is_not_serving() -> None:
    desired = two_member_array()
    live = all_up(desired)
    live[0] = observed_service(desired[0], 1, Enable="N")

    status = status_of(desired, live)

    assert status.condition(SERVING).reason == "VirtualServiceDisabled"
    assert status.condition(IN_SYNC).reason == "SettingsDiffer"
    assert "rpc: Enable N (spec Y)" in status.condition(IN_SYNC).message


def test_drained_member_is_in_sync_but_not_healthy() -> None:
    desired = two_member_array()
    drained = {"cas01": ("Up", True), "cas02": ("Up", False)}
    live = [
        observed_service(desired[0], 1, members=drained),
        observed_service(desired[1], 2, members=drained),
        observed_service(desired[2], 3, status="Up"),
    ]

    status = status_of(desired, live)

    healthy = status.condition(HEALTHY)
    assert (healthy.reason, healthy.message) == ("MembersDrained", "cas02 is drained in rpc, https")
    assert status.condition(IN_SYNC).is_true
    assert status.service("https").members[1].drained is True
    assert status.condition(FAILOVER_READY).reason == "SingleMemberUp"
    assert status.exit_code == ExitCode.DEGRADED


def test_member_disabled_by_the_spec_is_neither_drained_nor_unhealthy() -> None:
    desired = [
        desired_service("https", 443, ["cas01", "cas02", "cas03"], enable={"cas03": False}),
    ]
    live = [
        observed_service(
            desired[0],
            2,
            members={"cas01": ("Up", True), "cas02": ("Up", True), "cas03": ("Down", False)},
        )
    ]

    status = status_of(desired, live)

    cas03 = status.service("https").members[2]
    assert (cas03.state, cas03.drained, cas03.spec_disabled) == ("disabled", False, True)
    assert status.condition(HEALTHY).is_true
    assert status.condition(IN_SYNC).is_true
    assert status.exit_code == ExitCode.OK


def test_member_enabled_against_the_spec_is_a_difference() -> None:
    desired = [desired_service("https", 443, ["cas01", "cas02"], enable={"cas02": False})]
    live = [observed_service(desired[0], 2)]

    status = status_of(desired, live)

    in_sync = status.condition(IN_SYNC)
    assert (in_sync.reason, in_sync.message) == (
        "MembersDiffer",
        "https: cas02 enabled (spec disabled)",
    )
    assert status.exit_code == ExitCode.DEGRADED  # serving, but not what the specs say


def test_setting_drift_missing_and_unexpected_real_servers_are_named() -> None:
    desired = [desired_service("https", 443, ["cas01", "cas02"], Idletime=1800)]
    live_vs = observed_service(desired[0], 2, members={"cas01": ("Up", True)}, Idletime=660)
    stray = live_vs.real_servers[0].model_copy(update={"address": "10.20.0.99"})
    live_vs = live_vs.model_copy(update={"real_servers": (*live_vs.real_servers, stray)})

    status = status_of(desired, [live_vs])

    in_sync = status.condition(IN_SYNC)
    assert in_sync.reason == "SettingsDiffer"
    assert in_sync.message == (
        "https: Idletime 660 (spec 1800); https: cas02 missing; "
        "https: real servers not in the spec: 10.20.0.99:443"
    )
    assert status.condition(HEALTHY).reason == "MembersMissing"
    assert status.condition(HEALTHY).message == "cas02 is missing from https"


def test_member_differences_are_worded_with_the_spec_value() -> None:
    live = RealServerState("10.20.0.21", 443, weight=500, forward="route", enable=False)
    desired = DesiredRealServer(member="cas01", address="10.20.0.21", port=443, enable=True)

    assert real_server_differences(desired, live) == (
        "weight 500 (spec 1000)",
        "forward route (spec nat)",
        "disabled (spec enabled)",
    )


def test_a_member_whose_port_alone_changed_differs_in_its_port_as_plan_changes_it() -> None:
    desired = [desired_service("https", 443, ["cas01", "cas02"], index_port=444)]
    applied = desired_service("https", 443, ["cas01", "cas02"])

    status = status_of(desired, [observed_service(applied, 1)])

    in_sync = status.condition(IN_SYNC)
    assert (in_sync.reason, in_sync.message) == (
        "MembersDiffer",
        "https: cas01 port 443 (spec 444); https: cas02 port 443 (spec 444)",
    )
    assert [(m.member, m.state) for m in status.service("https").members] == [
        ("cas01", "up"),
        ("cas02", "up"),
    ]
    assert status.exit_code == ExitCode.DEGRADED  # the port differs: not in sync


def test_redirect_service_without_members_serves_while_its_vs_answers() -> None:
    desired = two_member_array()
    for vs_status, serving in (("Up", True), ("Redirect", True), ("Down", False)):
        live = all_up(desired)
        live[2] = observed_service(desired[2], 3, status=vs_status)

        status = status_of(desired, live)

        redirect = status.service("http-redirect")
        assert (redirect.serving, redirect.failover_ready) == (serving, serving), vs_status
    assert status.condition(SERVING).reason == "NotAnswering"
    assert status.condition(SERVING).message == (
        "http-redirect: virtual service 10.20.0.10:80/tcp is Down "
        "(it has no real servers by design)"
    )


def test_active_connections_come_from_stats_per_virtual_service() -> None:
    desired = two_member_array()
    stats = statistics({(1, "cas01", 135): 40, (2, "cas01", 443): 7, (2, "cas02", 443): 3})

    status = status_of(desired, all_up(desired), stats)

    assert [m.active_connections for m in status.service("rpc").members] == [40, 0]
    assert [m.active_connections for m in status.service("https").members] == [7, 3]


def test_unreadable_appliance_makes_every_condition_unknown_and_exit_1() -> None:
    status = unreadable_array_status("hq", "lm-hq", "connection refused")

    assert {c.status for c in status.conditions} == {"Unknown"}
    assert status.condition(SERVING).reason == "ApplianceUnreadable"
    assert "lm-hq could not be read: connection refused" in status.condition(HEALTHY).message
    assert status.exit_code == ExitCode.ERROR


def test_overall_exit_takes_the_worst_array() -> None:
    desired = two_member_array()
    ok = status_of(desired, all_up(desired))
    degraded_live = all_up(desired)
    degraded_live[0] = observed_service(
        desired[0], 1, members={"cas01": ("Up", True), "cas02": ("Down", True)}
    )
    degraded = status_of(desired, degraded_live)
    not_serving = status_of(desired, all_up(desired)[1:])
    unreadable = unreadable_array_status("dr", "lm-dr", "timed out")

    assert overall_exit([ok]) == ExitCode.OK
    assert overall_exit([ok, degraded]) == ExitCode.DEGRADED
    assert overall_exit([degraded, unreadable]) == ExitCode.ERROR
    assert overall_exit([unreadable, not_serving, degraded]) == ExitCode.NOT_SERVING


def test_array_with_no_virtual_service_at_all_says_so_once() -> None:
    status = status_of(two_member_array(), [])

    assert [(c.type, c.status, c.reason, c.message) for c in status.conditions] == [
        (SERVING, "False", "VirtualServiceMissing", NOTHING_APPLIED),
        (FAILOVER_READY, "False", "NotServing", "not serving: rpc, https, http-redirect"),
        (HEALTHY, "False", "VirtualServiceMissing", NOTHING_APPLIED),
        (IN_SYNC, "False", "VirtualServiceMissing", NOTHING_APPLIED),
    ]
    assert status.exit_code == ExitCode.NOT_SERVING


NOTHING_APPLIED = (
    "none of its virtual services exists (rpc, https, http-redirect); run `lmctl apply`"
)


# Member states for the FailoverReady table; "off" is a member the spec disables.
LIVE = {"up": ("Up", True), "down": ("Down", True), "drained": ("Up", False), "off": ("Up", False)}


@pytest.mark.parametrize(
    ("states", "failover_ready", "exit_code"),
    [
        (["up", "up"], True, ExitCode.OK),
        (["up", "down"], False, ExitCode.DEGRADED),  # the Up one is a single point of failure
        (["up", "drained"], False, ExitCode.DEGRADED),  # a drained member protects nothing
        (["up", "up", "down"], True, ExitCode.DEGRADED),  # failover-ready, but not healthy
        (["up", "up", "drained"], True, ExitCode.DEGRADED),
        (["up", "down", "drained"], False, ExitCode.DEGRADED),
        (["up", "up", "off"], True, ExitCode.OK),  # out by design: healthy
        (["up", "off"], False, ExitCode.DEGRADED),  # ... but it does not protect either
        (["down", "drained"], False, ExitCode.NOT_SERVING),
    ],
)
def test_failover_ready_counts_only_members_enabled_and_up(
    states: list[str], failover_ready: bool, exit_code: ExitCode
) -> None:
    members = dict(zip(["cas01", "cas02", "cas03"], states, strict=False))
    spec_off = {name: False for name, state in members.items() if state == "off"}
    desired = [desired_service("https", 443, list(members), enable=spec_off)]
    live = {name: LIVE[state] for name, state in members.items()}

    status = status_of(desired, [observed_service(desired[0], 1, members=live)])

    assert status.service("https").failover_ready is failover_ready
    assert status.condition(FAILOVER_READY).is_true is failover_ready
    assert status.exit_code == exit_code
