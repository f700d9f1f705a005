"""Pure drain/undrain decisions: locating the member, the writes, the safety check; the writes
go only to the array's own VSs where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmctl.appliance.changes import FieldChange, UpdateRealServer
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import Statistics, VirtualServiceKey
from lmctl.maintenance.drain import (
    ServerStatus,
    active_connections,
    drain_blockers,
    services_not_up,
    switch_line,
    switches,
    unreachable_services,
)
from lmctl.maintenance.drain import _undrain_refusal as undrain_refusal
from lmctl.maintenance.server import MemberRef, UnknownMemberError, locate_server, unfinished
from lmctl.statedir import DEFAULT_STATE_DIR
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

    (by_name,) = locate_server(desired, "CAS02").members
    (by_address,) = locate_server(desired, "10.20.0.23").members

    assert (by_name.array, by_name.member, by_name.address) == ("hq", "cas02", "10.20.0.22")
    assert (by_address.array, by_address.member, by_address.appliance) == ("dr", "cas03", "lm-hq")


def test_unknown_member_lists_the_known_ones() -> None:
    with pytest.raises(UnknownMemberError) as raised:
        locate_server(two_member_array(), "cas9")

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
    (found,) = locate_server([ipv6_service(IPV6_MEMBERS)], "2001:DB8:0::11").members

    assert (found.member, found.address) == ("cas01", "2001:db8::11")


@pytest.mark.parametrize("typed", ["10.20.0.22", " [::ffff:10.20.0.22] ", "::FFFF:10.20.0.22"])
def test_member_typed_as_an_ipv4_mapped_or_bracketed_address_is_found(typed: str) -> None:
    # The shared rule of lmctl.loadmaster.models: ::ffff:10.20.0.22 is the IPv4 host 10.20.0.22.
    (found,) = locate_server([https()], typed).members

    assert (found.member, found.address) == ("cas02", "10.20.0.22")


def two_namespaces() -> list[DesiredVirtualService]:
    """Array ``hq`` (rpc, https, redirect over cas01/cas02) and namespace ``eas`` (https over
    cas01/cas02, on its own VIP) on the same appliance."""
    eas = desired_service("https", 443, ["cas01", "cas02"], array="eas")
    return [
        *two_member_array(),
        eas.model_copy(update={"key": VirtualServiceKey(address="10.20.0.11", port="443")}),
    ]


def test_a_server_in_two_namespaces_is_located_in_both_in_spec_order() -> None:
    # A 2013+ server may serve several namespaces: drain acts on it in every one of them.
    server = locate_server(two_namespaces(), "CAS02")

    assert server.members == (
        MemberRef(appliance="lm-hq", array="hq", member="cas02", address="10.20.0.22"),
        MemberRef(appliance="lm-hq", array="eas", member="cas02", address="10.20.0.22"),
    )
    assert server.where() == "hq and eas on lm-hq"
    assert server.command("drain") == "lmctl drain cas02"


def test_array_option_restricts_the_server_to_the_named_arrays() -> None:
    server = locate_server(two_namespaces(), "cas02", ["eas"])

    assert [ref.array for ref in server.members] == ["eas"]
    assert server.where() == "array eas"
    assert server.command("undrain") == "lmctl undrain cas02 --array eas"


def test_the_commands_a_server_suggests_repeat_its_spec_paths_and_state_dir_quoted() -> None:
    # `lmctl undrain FRA-EX02 specs --timeout 6` timed out and said to run `lmctl undrain
    # FRA-EX02` again: that reads arrays/ (or nothing) instead of the specs given.
    server = locate_server(
        two_namespaces(),
        "cas02",
        ["eas"],
        paths=[Path("specs"), Path("my specs/eas.yaml")],
        state_dir=Path("/srv/lmctl state"),
    )
    again = "--array eas --state-dir '/srv/lmctl state' specs 'my specs/eas.yaml'"

    assert server.command("undrain") == f"lmctl undrain cas02 {again}"
    assert unfinished(server, "drain") == (
        f"the drain of cas02 (array eas) may be unfinished; run `lmctl drain cas02 {again}` "
        f"again to finish it (safe to repeat), or `lmctl undrain cas02 {again}` to go back"
    )


def test_no_default_state_dir_and_a_dash_dash_before_a_path_read_as_an_option() -> None:
    plain = locate_server(two_namespaces(), "cas02", state_dir=DEFAULT_STATE_DIR)
    dashed = locate_server(two_namespaces(), "cas02", paths=[Path("-specs"), Path("a;b")])

    assert plain.command("drain") == "lmctl drain cas02"
    assert dashed.command("drain") == "lmctl drain cas02 -- -specs 'a;b'"


def test_undrain_in_the_other_arrays_only_repeats_the_spec_paths() -> None:
    desired = [
        *two_member_array(),
        desired_service("https", 443, ["cas01", "cas02"], array="eas", enable={"cas02": False}),
    ]
    server = locate_server(desired, "cas02", paths=[Path("specs")])

    refusal = undrain_refusal(server, {"lm-hq": desired})

    assert refusal is not None
    assert refusal.endswith("or undrain it in hq only: `lmctl undrain cas02 --array hq specs`.")


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (["mail"], "--array: no array named 'mail' in the specs; arrays: eas, hq"),
        (["hq", "dr"], "--array: no array named 'dr' in the specs; arrays: eas, hq"),
        (
            ["ea"],
            "--array: no array named 'ea' in the specs (did you mean 'eas'?); arrays: eas, hq",
        ),
    ],
)
def test_array_option_naming_an_unknown_array_is_an_error(arrays: list[str], message: str) -> None:
    with pytest.raises(UnknownMemberError) as raised:
        locate_server(two_namespaces(), "cas02", arrays)

    assert str(raised.value) == message


def test_array_option_naming_an_array_without_the_server_is_an_error() -> None:
    desired = [*two_member_array(), desired_service("https", 443, ["cas03"], array="dr")]

    with pytest.raises(UnknownMemberError) as raised:
        locate_server(desired, "cas02", ["dr"])

    assert str(raised.value) == "--array: 'cas02' is not a member of dr; it is a member of hq"


def test_a_refusal_in_one_namespace_refuses_the_server_and_names_the_array() -> None:
    desired = two_namespaces()
    live = [
        observed_service(desired[0], 1),
        observed_service(desired[1], 2),
        observed_service(desired[2], 3),
        observed_service(desired[3], 4, members={"cas01": ("Down", True), "cas02": UP}),
    ]
    server = locate_server(desired, "cas02")
    status = ServerStatus(
        server,
        (status_of(desired, live, array="hq"), status_of(desired, live, array="eas")),
    )

    assert status.blockers() == ("eas/https: no other member is enabled and Up (cas01 down)",)
    assert [(ref.array, switch.service) for ref, switch in status.switches(enable=False)] == [
        ("hq", "rpc"),
        ("hq", "https"),
        ("eas", "https"),
    ]
    assert status.failover_losses() == (
        "after this drain, hq/rpc has one serving member (cas01): array hq is no longer "
        "FailoverReady",
        "after this drain, hq/https has one serving member (cas01): array hq is no longer "
        "FailoverReady",
    )


def test_lmctl_drain_of_a_server_in_two_namespaces_disables_it_in_both(tmp_path: Path) -> None:
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
    arrays = tmp_path / "arrays"
    write_spec_files(arrays, files)
    state = ("--state-dir", str(tmp_path / ".lmctl"))
    assert invoke("apply", str(arrays), "--auto-approve", *state).exit_code == 0

    drained = invoke("drain", "HQ-EX16-01", str(arrays), "--poll-interval", "0.05", *state)
    status = invoke("status", str(arrays), *state)

    assert drained.exit_code == 0, drained.output
    assert "disable 10.10.2.11:443 in eas/https (10.10.2.51:443/tcp on lm-hq)" in drained.output
    assert "disable 10.10.2.11:443 in mail/https (10.10.2.50:443/tcp on lm-hq)" in drained.output
    assert "HQ-EX16-01 is drained: disabled in eas and mail on lm-hq, 0 connections" in (
        drained.output
    )
    assert status.exit_code == 2, status.output
    assert status.output.count("HQ-EX16-01 is drained in") == 2
