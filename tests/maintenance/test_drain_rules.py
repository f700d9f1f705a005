"""Pure drain/undrain decisions: locating the member, the writes, the safety check; the writes
go only to the array's own VSs where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmctl.appliance.changes import FieldChange, UpdateRealServer
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import Statistics, VirtualServiceKey
from lmctl.maintenance.drain import (
    UnknownMemberError,
    active_connections,
    drain_blockers,
    locate_member,
    services_not_up,
    switch_line,
    switches,
    unreachable_services,
)
from lmctl.status.model import ArrayStatus
from lmctl_testkit import array_spec, invoke, write_spec_files
from status_testkit import (
    desired_service,
    ipv6_service,
    observed_service,
    statistics,
    status_of,
    two_member_array,
)

UP = ("Up", True)


def hq_status(
    rpc: dict[str, tuple[str, bool]], https: dict[str, tuple[str, bool]], stats: Statistics
) -> ArrayStatus:
    desired = two_member_array()
    live = [
        observed_service(desired[0], 1, members=rpc),
        observed_service(desired[1], 2, members=https),
        observed_service(desired[2], 3),
    ]
    return status_of(desired, live, stats)


def test_member_is_found_by_name_case_insensitively_or_by_address() -> None:
    desired = [*two_member_array(), desired_service("https", 443, ["cas03"], array="dr")]

    by_name = locate_member(desired, "CAS02")
    by_address = locate_member(desired, "10.20.0.23")

    assert (by_name.array, by_name.member, by_name.address) == ("hq", "cas02", "10.20.0.22")
    assert (by_address.array, by_address.member, by_address.appliance) == ("dr", "cas03", "lm-hq")


def test_unknown_member_lists_the_known_ones() -> None:
    with pytest.raises(UnknownMemberError) as raised:
        locate_member(two_member_array(), "cas9")

    assert str(raised.value) == (
        "no array in the specs has a member named 'cas9' (or with that address); "
        "members: cas01 (hq), cas02 (hq)"
    )


def test_drain_disables_the_member_in_every_service_of_its_array_that_still_enables_it() -> None:
    status = hq_status(
        {"cas01": UP, "cas02": UP}, {"cas01": UP, "cas02": ("Up", False)}, Statistics()
    )

    assert switches(status, "cas02", enable=False) == (
        UpdateRealServer(
            array="hq",
            service="rpc",
            key=VirtualServiceKey(address="10.20.0.10", port="135"),
            member="cas02",
            address="10.20.0.22",
            port=135,
            fields=(FieldChange(field="enable", old=True, new=False),),
        ),
    )
    assert switch_line(switches(status, "cas02", enable=True)[0]) == (
        "enable 10.20.0.22:443 in https (10.20.0.10:443/tcp)"
    )
    assert drain_blockers(status, "cas02") == ()


def test_drain_is_refused_when_no_other_member_is_enabled_and_up() -> None:
    status = hq_status(
        {"cas01": UP, "cas02": UP}, {"cas01": ("Down", True), "cas02": UP}, Statistics()
    )

    assert drain_blockers(status, "cas02") == (
        "https: no other member is enabled and Up (cas01 down)",
    )
    assert drain_blockers(status, "cas01") == ()


def test_drain_of_the_last_enabled_member_is_refused() -> None:
    status = hq_status(
        {"cas01": ("Up", False), "cas02": UP}, {"cas01": ("Up", False), "cas02": UP}, Statistics()
    )

    assert drain_blockers(status, "cas02") == (
        "rpc: no other member is enabled and Up (cas01 drained)",
        "https: no other member is enabled and Up (cas01 drained)",
    )


def test_rerun_of_a_finished_drain_writes_nothing_and_is_not_refused() -> None:
    drained = {"cas01": ("Down", True), "cas02": ("Up", False)}
    status = hq_status(drained, drained, Statistics())

    assert switches(status, "cas02", enable=False) == ()
    assert drain_blockers(status, "cas02") == ()


def test_connections_are_summed_over_the_services_of_the_member() -> None:
    stats = statistics({(1, "cas02", 135): 12, (2, "cas02", 443): 5, (2, "cas01", 443): 99})
    status = hq_status({"cas01": UP, "cas02": UP}, {"cas01": UP, "cas02": UP}, stats)

    assert active_connections(status, "cas02") == 17


def test_undrain_waits_for_services_where_the_member_is_not_up_yet() -> None:
    status = hq_status(
        {"cas01": UP, "cas02": UP}, {"cas01": UP, "cas02": ("Down", True)}, Statistics()
    )

    assert services_not_up(status, "cas02") == ("https",)
    assert services_not_up(status, "cas01") == ()


def test_missing_real_server_cannot_be_switched_and_is_reported() -> None:
    status = hq_status({"cas01": UP}, {"cas01": UP, "cas02": UP}, Statistics())

    assert unreachable_services(status, "cas02") == ("rpc",)
    assert [s.service for s in switches(status, "cas02", enable=False)] == ["https"]
    assert services_not_up(status, "cas02") == ()


OLD_VIP, NEW_VIP = "10.20.0.10", "10.20.0.11"


def https() -> DesiredVirtualService:
    return desired_service("https", 443, ["cas01", "cas02"])


def test_drain_switches_only_the_marked_vs_at_its_live_key() -> None:
    applied = https()
    edited = applied.model_copy(update={"key": VirtualServiceKey(address=NEW_VIP, port="443")})
    hand_made = observed_service(edited, 9, NickName="owa")

    status = status_of([edited], [observed_service(applied, 4), hand_made])

    assert [(s.key, s.address, s.enables) for s in switches(status, "cas02", enable=False)] == [
        (applied.key, "10.20.0.22", False)
    ]


def test_drain_has_nothing_to_switch_when_only_an_unmarked_vs_holds_the_key() -> None:
    desired = https()

    status = status_of([desired], [observed_service(desired, 7, NickName="owa")])

    assert switches(status, "cas02", enable=False) == ()


IPV6_MEMBERS = {"cas01": "2001:db8::11", "cas02": "2001:db8::12"}


def test_member_named_by_an_ipv6_address_in_any_spelling_is_found() -> None:
    found = locate_member([ipv6_service(IPV6_MEMBERS)], "2001:DB8:0::11")

    assert (found.member, found.address) == ("cas01", "2001:db8::11")


@pytest.mark.parametrize("typed", ["10.20.0.22", " [::ffff:10.20.0.22] ", "::FFFF:10.20.0.22"])
def test_member_typed_as_an_ipv4_mapped_or_bracketed_address_is_found(typed: str) -> None:
    # The shared rule of lmctl.loadmaster.models: ::ffff:10.20.0.22 is the IPv4 host 10.20.0.22.
    found = locate_member([https()], typed)

    assert (found.member, found.address) == ("cas02", "10.20.0.22")


def test_a_server_in_two_namespaces_is_refused_rather_than_half_drained() -> None:
    # A 2013+ server may serve several namespaces; drain acts on one spec's services only.
    desired = [*two_member_array(), desired_service("https", 443, ["cas02"], array="eas")]

    with pytest.raises(UnknownMemberError) as raised:
        locate_member(desired, "CAS02")

    assert str(raised.value).startswith(
        "'CAS02' is a member of 2 specs: hq (appliance lm-hq), eas (appliance lm-hq); drain and "
        "undrain act on one spec's services"
    )


def test_lmctl_drain_of_a_server_in_two_namespaces_exits_1_touching_nothing(
    tmp_path: Path,
) -> None:
    members = {"HQ-EX16-01": "10.10.2.11", "HQ-EX16-02": "10.10.2.12"}
    files = {
        "appliances.yaml": "appliances:\n  lm-hq: {url: 'mock://lm-hq'}\n",
        **{
            f"{name}.yaml": array_spec(
                name, "HQ", "2016 CU23", vip, "lm-hq", members, fqdn=f"{name}.corp.example.com"
            )
            for name, vip in (("mail", "10.10.2.50"), ("eas", "10.10.2.51"))
        },
    }
    write_spec_files(tmp_path / "arrays", files)
    state = tmp_path / ".lmctl"

    outcome = invoke(
        "drain", "HQ-EX16-01", "-s", str(tmp_path / "arrays"), "--state-dir", str(state)
    )

    assert outcome.exit_code == 1, outcome.output
    assert "'HQ-EX16-01' is a member of 2 specs: eas (appliance lm-hq), mail (appliance lm-hq)" in (
        outcome.output
    )
    assert not state.exists()  # not even the built-in mock was started
