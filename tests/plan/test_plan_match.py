"""The matcher and the diff over it: desired virtual services of one appliance vs what it
reports, the member comparison plan and status share, and make-before-break order."""

from __future__ import annotations

import pytest
from plan_builders import desired, key, members, observed_from, unmarked

from lmctl.appliance.changes import (
    AddRealServer,
    CreateVirtualService,
    DeleteVirtualService,
    FieldChange,
    RemoveRealServer,
    UpdateRealServer,
    UpdateVirtualService,
)
from lmctl.appliance.loadmaster import appliance_state
from lmctl.appliance.state import ApplianceState, RealServerState
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import RealServer, VirtualService, VirtualServiceSettings
from lmctl.plan.diff import ApplianceDiff, diff, in_write_order
from lmctl.plan.match import ArrayScope, match_appliance, member_field_changes
from lmctl.status.conditions import real_server_differences


def diff_of(
    wanted: list[DesiredVirtualService], state: ApplianceState, scope: ArrayScope = None
) -> ApplianceDiff:
    return diff(match_appliance(wanted, state, scope))


def run(wanted: list[DesiredVirtualService], observed: list[VirtualService]) -> ApplianceDiff:
    return diff_of(wanted, appliance_state(observed))


def test_empty_appliance_gets_one_addvs_then_one_addrs_per_member() -> None:
    want = desired(real_servers=members("10.0.1.21", "10.0.1.22"))
    result = run([want], [])
    assert [c.action for c in result.changes] == ["create_vs", "add_rs", "add_rs"]
    create = result.changes[0]
    assert isinstance(create, CreateVirtualService)
    assert create.settings == want.settings
    assert create.key == key()
    adds = [c for c in result.changes if isinstance(c, AddRealServer)]
    assert [(a.member, a.address, a.port, a.weight, a.enable) for a in adds] == [
        ("cas01", "10.0.1.21", 443, 1000, True),
        ("cas02", "10.0.1.22", 443, 1000, True),
    ]


def test_applied_state_needs_nothing_whatever_the_unmanaged_fields_say() -> None:
    want = desired(real_servers=members("10.0.1.21", "10.0.1.22"))
    seen = observed_from(want, Layer=7, ForceL7="Y", Status="Down", CheckCodes="200")
    result = run([want], [seen])
    assert result.changes == ()
    assert result.conflicts == ()


def test_changed_settings_are_one_update_with_each_field_old_to_new() -> None:
    want = desired(real_servers=members("10.0.1.21"), schedule="lc", idle_time=3600)
    seen = observed_from(want, Schedule="rr", Idletime=1800)
    (change,) = run([want], [seen]).changes
    assert isinstance(change, UpdateVirtualService)
    assert change.new_key is None
    assert change.fields == (
        FieldChange(field="schedule", old="rr", new="lc"),
        FieldChange(field="idle_time", old=1800, new=3600),
    )
    assert [f.label for f in change.fields] == ["Schedule", "Idletime"]


def test_members_added_removed_and_reweighted() -> None:
    first, third = members("10.0.1.21", "10.0.1.23")
    want = desired(real_servers=(first.model_copy(update={"weight": 500}), third))
    seen = observed_from(desired(real_servers=members("10.0.1.21", "10.0.1.22")))
    changes = run([want], [seen]).changes
    assert [(c.action, getattr(c, "address", None)) for c in changes] == [
        ("add_rs", "10.0.1.23"),
        ("update_rs", "10.0.1.21"),
        ("remove_rs", "10.0.1.22"),
    ]
    update = changes[1]
    assert isinstance(update, UpdateRealServer)
    assert update.fields == (FieldChange(field="weight", old=1000, new=500),)


def test_drained_member_is_reported_and_left_disabled() -> None:
    want = desired(real_servers=members("10.0.1.21", "10.0.1.22"))
    seen = observed_from(want, rs_enable={"10.0.1.22": False})
    result = run([want], [seen])
    assert result.changes == ()
    assert [(d.member, d.address, d.port) for d in result.drained] == [("cas02", "10.0.1.22", 443)]


def test_drained_members_are_listed_in_the_specs_order_whatever_the_appliances() -> None:
    smtp = desired(service="smtp", at=key(port="25"), real_servers=members("10.0.1.21", port=25))
    https = desired(real_servers=members("10.0.1.22"))
    seen = [
        observed_from(https, index=1, rs_enable={"10.0.1.22": False}),
        observed_from(smtp, index=2, rs_enable={"10.0.1.21": False}),
    ]
    # The desired services come in the specs' order (expand_all's): smtp first here.
    result = run([smtp, https], seen)
    assert [(d.service, d.address) for d in result.drained] == [
        ("smtp", "10.0.1.21"),
        ("https", "10.0.1.22"),
    ]


def test_member_enabled_explicitly_by_the_spec_is_re_enabled() -> None:
    want = desired(real_servers=members("10.0.1.21", "10.0.1.22", enable=True))
    seen = observed_from(want, rs_enable={"10.0.1.22": False})
    result = run([want], [seen])
    (change,) = result.changes
    assert isinstance(change, UpdateRealServer)
    assert change.fields == (FieldChange(field="enable", old=False, new=True),)
    assert result.drained == ()


def test_member_port_change_is_one_modrs_keeping_the_drain() -> None:
    want = desired(real_servers=members("10.0.1.21", port=444))
    seen = observed_from(desired(real_servers=members("10.0.1.21")), rs_enable={"10.0.1.21": False})
    result = run([want], [seen])
    (change,) = result.changes
    assert isinstance(change, UpdateRealServer)
    assert (change.address, change.port) == ("10.0.1.21", 443)
    assert change.fields == (FieldChange(field="port", old=443, new=444),)
    assert [d.port for d in result.drained] == [444]


def test_unmarked_vs_at_the_desired_key_is_a_conflict_and_never_touched() -> None:
    want = desired(real_servers=members("10.0.1.21"))
    legacy = unmarked("10.0.1.10", "443")
    other_port = unmarked("10.0.1.10", "8443", index=91)
    result = run([want], [legacy, other_port])
    assert result.changes == ()
    (conflict,) = result.conflicts
    assert (conflict.array, conflict.service, conflict.key) == ("hq", "https", key())
    assert "'OWA-legacy' (Index 90)" in conflict.message
    assert "adopt it (adopt: true in the spec, or --adopt hq)" in conflict.message


def test_a_staying_arrays_vs_at_the_desired_key_is_a_conflict_naming_that_array() -> None:
    theirs = desired(array="branch", real_servers=members("10.0.2.21"))
    ours = desired(at=key(port="444"), real_servers=members("10.0.1.21"))
    result = run([desired(real_servers=members("10.0.1.21")), theirs], [observed_from(theirs)])
    (conflict,) = result.conflicts
    assert (conflict.holder_nickname, conflict.holder_array) == ("lmctl.branch.https", "branch")
    assert conflict.message == (
        "hq/https wants 10.0.1.10:443/tcp, which is held by array branch "
        "(NickName 'lmctl.branch.https'), still in the specs; give one of the two arrays "
        "another VIP or port"
    )
    assert "does not own" not in conflict.message
    assert result.changes == ()
    assert ours.array == "hq"


def test_renamed_array_takes_over_its_old_vs_in_place_keeping_members() -> None:
    old = desired(array="hq-old", real_servers=members("10.0.1.21", "10.0.1.22"))
    renamed = desired(array="hq", real_servers=members("10.0.1.21", "10.0.1.22"))
    result = run([renamed], [observed_from(old, index=5)])
    assert result.conflicts == ()
    (remark,) = result.changes
    assert isinstance(remark, UpdateVirtualService)
    assert (remark.array, remark.key, remark.new_key) == ("hq", key(), None)
    assert remark.fields == (
        FieldChange(field="nickname", old="lmctl.hq-old.https", new="lmctl.hq.https"),
    )


def test_renamed_array_outside_a_narrowed_scope_is_a_conflict_and_never_deleted() -> None:
    old = desired(array="hq-old", real_servers=members("10.0.1.21"))
    result = diff_of([desired()], appliance_state([observed_from(old)]), ("hq",))
    (conflict,) = result.conflicts
    assert conflict.holder_in_scope is False
    assert "held by array hq-old (NickName 'lmctl.hq-old.https'), outside this plan's scope" in (
        conflict.message
    )
    assert result.changes == ()


def test_narrowed_scope_leaves_other_arrays_marked_vss_alone() -> None:
    other = desired(array="branch", at=key("10.0.2.10"), real_servers=members("10.0.2.21"))
    gone = desired(array="old", at=key("10.0.3.10"), real_servers=members("10.0.3.21"))
    observed = appliance_state([observed_from(other), observed_from(gone)])
    narrowed = diff_of([desired(real_servers=members("10.0.1.21"))], observed, ("hq",))
    assert [(c.action, c.array) for c in narrowed.changes] == [
        ("create_vs", "hq"),
        ("add_rs", "hq"),
    ]
    everything = diff_of([desired(real_servers=members("10.0.1.21"))], observed, None)
    assert sorted((c.action, c.array) for c in everything.changes if c.action == "delete_vs") == [
        ("delete_vs", "branch"),
        ("delete_vs", "old"),
    ]


def test_vs_of_an_array_that_left_the_specs_is_deleted_unmarked_left_alone() -> None:
    gone = observed_from(desired(array="old", real_servers=members("10.0.3.21", "10.0.3.22")))
    result = run([], [gone, unmarked("10.0.1.10", "80")])
    (change,) = result.changes
    assert isinstance(change, DeleteVirtualService)
    assert (change.array, change.service, change.real_servers) == ("old", "https", 2)
    assert change.nickname == "lmctl.old.https"


def test_moved_vip_is_one_modvs_and_member_changes_follow_the_new_key() -> None:
    old_key, new_key = key("10.0.1.10"), key("10.0.1.11")
    before = desired(at=old_key, real_servers=members("10.0.1.21"))
    want = desired(at=new_key, real_servers=members("10.0.1.21", "10.0.1.22"), schedule="lc")
    changes = run([want], [observed_from(before)]).changes
    move, add = changes
    assert isinstance(move, UpdateVirtualService)
    assert (move.key, move.new_key) == (old_key, new_key)
    assert move.fields == (FieldChange(field="schedule", old="rr", new="lc"),)
    assert isinstance(add, AddRealServer)
    assert add.key == new_key


def test_protocol_change_is_create_then_delete() -> None:
    before = desired(at=key(protocol="tcp"), real_servers=members("10.0.1.21"))
    want = desired(at=key(protocol="udp"), real_servers=members("10.0.1.21"))
    changes = run([want], [observed_from(before)]).changes
    assert [(c.action, c.key.protocol) for c in changes] == [
        ("create_vs", "udp"),
        ("add_rs", "udp"),
        ("delete_vs", "tcp"),
    ]


def test_duplicate_marked_vs_is_deleted() -> None:
    want = desired(real_servers=members("10.0.1.21"))
    copy = observed_from(want, index=2, at=key(port="4443"))
    changes = run([want], [observed_from(want), copy]).changes
    assert [(c.action, c.key.port) for c in changes] == [("delete_vs", "4443")]


def test_sub_services_are_skipped() -> None:
    sub = VirtualService.model_validate(
        {"Index": 7, "MasterVSID": 3, "NickName": "lmctl.hq.owa", "Rs": []}
    )
    assert run([], [sub]).changes == ()


def test_changes_run_in_make_before_break_order_per_array() -> None:
    keep = desired(service="https", real_servers=members("10.0.1.21", "10.0.1.22"))
    new = desired(service="smtp", at=key(port="25"), real_servers=members("10.0.1.21", port=25))
    seen = [
        observed_from(desired(service="https", real_servers=members("10.0.1.22", "10.0.1.23"))),
        observed_from(desired(service="pop3", at=key(port="110")), index=2),
        observed_from(desired(array="zz", service="https", at=key("10.0.5.1")), index=3),
    ]
    changes = run([keep, new], seen).changes
    assert [(c.array, c.action, c.service) for c in changes] == [
        ("hq", "create_vs", "smtp"),
        ("hq", "add_rs", "https"),
        ("hq", "add_rs", "smtp"),
        ("hq", "remove_rs", "https"),
        ("hq", "delete_vs", "pop3"),
        ("zz", "delete_vs", "https"),
    ]
    assert isinstance(changes[3], RemoveRealServer)


ADDRESS = "10.0.1.21"


def live(
    *, port: int = 443, weight: int = 1000, forward: str = "nat", enable: bool = True
) -> tuple[RealServer, RealServerState]:
    """The same real server as the client reads it and as planning reduces it."""
    read = RealServer.model_validate(
        {
            "Addr": ADDRESS,
            "Port": port,
            "Weight": weight,
            "Forward": forward,
            "Enable": "Y" if enable else "N",
            "Status": "Up",
        }
    )
    return read, RealServerState(ADDRESS, port, weight, forward, enable)


@pytest.mark.parametrize(
    ("observed", "desired", "expected"),
    [
        (live(), DesiredRealServer(member="CAS01", address=ADDRESS, port=443), ()),
        # enable=None in the spec: an operator's drain is no difference.
        (live(enable=False), DesiredRealServer(member="CAS01", address=ADDRESS, port=443), ()),
        (
            live(weight=500, enable=False),
            DesiredRealServer(member="CAS01", address=ADDRESS, port=443, weight=2000),
            (FieldChange(field="weight", old=500, new=2000),),
        ),
        (
            live(port=80, weight=500, forward="route", enable=False),
            DesiredRealServer(
                member="CAS01", address=ADDRESS, port=443, forward="nat", enable=True
            ),
            (
                FieldChange(field="weight", old=500, new=1000),
                FieldChange(field="forward", old="route", new="nat"),
                FieldChange(field="enable", old=False, new=True),
                FieldChange(field="port", old=80, new=443),
            ),
        ),
        (
            live(),
            DesiredRealServer(member="CAS01", address=ADDRESS, port=443, enable=False),
            (FieldChange(field="enable", old=True, new=False),),
        ),
    ],
)
def test_a_real_server_differs_from_the_spec_field_by_field(
    observed: tuple[RealServer, RealServerState],
    desired: DesiredRealServer,
    expected: tuple[FieldChange, ...],
) -> None:
    _read, state = observed

    assert member_field_changes(state, desired) == expected


def test_status_words_each_difference_with_the_spec_value() -> None:
    _read, state = live(weight=500, forward="route", enable=False)
    desired = DesiredRealServer(member="CAS01", address=ADDRESS, port=443, enable=True)

    assert real_server_differences(desired, state) == (
        "weight 500 (spec 1000)",
        "forward route (spec nat)",
        "disabled (spec enabled)",
    )


def test_an_array_renamed_and_moved_is_created_before_its_old_name_is_deleted() -> None:
    # "hq" sorts before "hq2": without the rule, hq's VS would go before hq2's exists.
    old = DeleteVirtualService(array="hq", service="https", key=key("10.0.1.10"))
    new = CreateVirtualService(
        array="hq2", service="https", key=key("10.0.1.20"), settings=VirtualServiceSettings()
    )
    member = AddRealServer(
        array="hq2", service="https", key=key("10.0.1.20"), address="10.0.1.11", port=443
    )

    assert in_write_order([old, member, new]) == (new, member, old)
