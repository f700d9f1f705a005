"""Safety rules, the make-before-break checker and the plan's summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from plan_builders import desired, key, members, observed_from

from lmctl.appliance.changes import AddRealServer, RemoveRealServer
from lmctl.appliance.loadmaster import appliance_state
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualService
from lmctl.plan.document import Plan, make_plan
from lmctl.plan.simulate import SimulationError, break_before_make, simulate
from lmctl.specs.inventory import BulkRemovalLimits

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
THREE = ("10.0.1.21", "10.0.1.22", "10.0.1.23")


# Real service names: only they make a marker lmctl recognises.
SERVICES = ("https", "smtp", "imap4", "pop3", "imap4s", "pop3s")


def array_services(array: str, base: str, count: int = 4) -> list[DesiredVirtualService]:
    return [
        desired(array, SERVICES[n], at=key(base, str(1000 + n)), real_servers=members(*THREE))
        for n in range(count)
    ]


def plan_of(wanted: list[DesiredVirtualService], observed: list[VirtualService]) -> Plan:
    state = {"lm-hq": appliance_state(observed)}
    return make_plan({"lm-hq": wanted}, state, specs_digest="sha256:x", now=NOW)


def observe(wanted: list[DesiredVirtualService]) -> list[VirtualService]:
    return [observed_from(vs, index=n) for n, vs in enumerate(wanted, start=1)]


def test_deleting_a_whole_array_is_blocked() -> None:
    hq, branch = array_services("hq", "10.0.1.10"), array_services("branch", "10.0.2.10", 1)
    plan = plan_of(hq, observe(hq + branch))
    rules = [(v.rule, v.message) for v in plan.violations]
    assert (
        "array-deleted",
        "lm-hq: the plan deletes every virtual service of array 'branch' (1); "
        "the array would stop serving",
    ) in rules


def test_removing_more_than_30_percent_of_services_is_blocked_and_30_percent_is_not() -> None:
    hq = array_services("hq", "10.0.1.10", 5) + array_services("hq2", "10.0.1.20", 5)
    assert [v.rule for v in plan_of(hq[:7], observe(hq)).violations] == []
    blocked = plan_of(hq[:6], observe(hq))
    messages = [v.message for v in blocked.violations if v.rule == "bulk-removal"]
    # Services, not real-server rows: the 12 rows of the 4 deleted VSs are no "real servers".
    assert messages == [
        "lm-hq: the plan removes 4 of the 10 services lmctl manages here (40%, more than 30%)",
    ]


def test_bulk_removal_counts_only_from_its_minimum_and_takes_the_inventorys_limits() -> None:
    hq = array_services("hq", "10.0.1.10", 5) + array_services("hq2", "10.0.1.20", 4)
    state = {"lm-hq": appliance_state(observe(hq))}
    nine = make_plan({"lm-hq": hq[:5]}, state, specs_digest="sha256:x", now=NOW)
    assert [v.rule for v in nine.violations] == ["array-deleted"]  # 4 of 9 services: below 10
    strict = BulkRemovalLimits(percent=10, minimum=5)
    limited = make_plan({"lm-hq": hq[:8]}, state, specs_digest="sha256:x", now=NOW, limits=strict)
    assert [v.message for v in limited.violations] == [
        "lm-hq: the plan removes 1 of the 9 services lmctl manages here (11%, more than 10%)"
    ]


def test_bulk_removal_counts_members_of_arrays_not_rows() -> None:
    addresses = [f"10.0.1.{n}" for n in range(21, 33)]  # 12 members, in 4 services each
    hq = [
        desired(
            "hq", SERVICES[n], at=key("10.0.1.10", str(1000 + n)), real_servers=members(*addresses)
        )
        for n in range(4)
    ]
    fewer = [vs.model_copy(update={"real_servers": vs.real_servers[:9]}) for vs in hq]
    assert plan_of(fewer, observe(hq)).violations == ()  # 3 of 12 members (12 rows of 48): 25%
    fewest = [vs.model_copy(update={"real_servers": vs.real_servers[:8]}) for vs in hq]
    assert [v.message for v in plan_of(fewest, observe(hq)).violations] == [
        "lm-hq: the plan removes 4 of the 12 array members lmctl manages here (33%, more than 30%)"
    ]


def test_leaving_an_arrays_services_with_one_member_is_one_violation_per_array() -> None:
    hq = array_services("hq", "10.0.1.10", 4)
    thin = [hq[0].model_copy(update={"real_servers": hq[0].real_servers[:1]}), *hq[1:]]
    plan = plan_of(thin, observe(hq))
    assert [v.message for v in plan.violations if v.rule == "failover-lost"] == [
        "lm-hq: array 'hq' is left with fewer than two members, no failover: "
        "https (10.0.1.10:1000/tcp) 3 → 1"
    ]
    thinner = [vs.model_copy(update={"real_servers": vs.real_servers[:1]}) for vs in hq]
    (violation,) = [v for v in plan_of(thinner, observe(hq)).violations]
    assert violation.rule == "failover-lost"
    assert violation.message.count("3 → 1") == 4


def test_plan_summary_counts_and_line() -> None:
    wanted = array_services("hq", "10.0.1.10", 2)
    plan = plan_of(wanted, [])
    assert plan.summary.create_vs == 2
    assert plan.summary.add_rs == 6
    assert plan.summary.writes == 8
    assert plan.summary.line() == (
        "Plan: 2 to create, 0 to update, 0 to delete (virtual services); "
        "6 to add, 0 to change, 0 to remove (real servers)."
    )
    assert plan.violations == ()
    assert [t.state for t in plan.appliances[0].observed] == [None, None]


def test_break_before_make_names_the_write_that_empties_a_service() -> None:
    (want,) = array_services("hq", "10.0.1.10", 1)
    state = appliance_state(observe([want]))
    scope = {"array": "hq", "service": "https", "key": want.key}
    removes = [RemoveRealServer(**scope, address=a, port=443) for a in THREE]
    add = AddRealServer(**scope, address="10.0.1.24", port=443)
    assert break_before_make(state, [add, *removes]) == []
    assert break_before_make(state, [*removes, add]) == [
        "after write 3 (remove_rs 10.0.1.10:1000/tcp), 10.0.1.10:1000/tcp has no enabled member"
    ]


def test_simulation_refuses_impossible_changes() -> None:
    (want,) = array_services("hq", "10.0.1.10", 1)
    state = appliance_state(observe([want]))
    scope = {"array": "hq", "service": "https", "key": want.key}
    with pytest.raises(SimulationError, match=r"add 10\.0\.1\.21:443 to .*: already there"):
        simulate(state, [AddRealServer(**scope, address="10.0.1.21", port=443)])


def test_moving_an_arrays_vip_is_one_violation_per_array_and_a_port_move_is_none() -> None:
    before = [
        desired("hq", service, at=key("10.0.1.10", port), real_servers=members(*THREE))
        for service, port in (("https", "443"), ("smtp", "25"))
    ]
    after = [
        desired("hq", service, at=key("10.0.1.60", port), real_servers=members(*THREE))
        for service, port in (("https", "443"), ("smtp", "25"))
    ]
    observed = [observed_from(vs, index=n) for n, vs in enumerate(before, start=1)]
    plan = plan_of(after, observed)
    assert [(v.rule, v.message) for v in plan.violations] == [
        (
            "virtual-service-moved",
            "lm-hq: moving hq's VIP from 10.0.1.10 to 10.0.1.60 breaks every client until DNS "
            "(the array's namespace names) points at 10.0.1.60; re-run with --allow "
            "virtual-service-moved once DNS is ready",
        )
    ]
    new_port = [desired("hq", "https", at=key("10.0.1.10", "444"), real_servers=members(*THREE))]
    unmoved = plan_of(new_port, observed[:1])
    assert unmoved.violations == ()


def two_appliances(
    wanted: dict[str, list[DesiredVirtualService]], held: dict[str, list[DesiredVirtualService]]
) -> Plan:
    state = {name: appliance_state(observe(held.get(name, []))) for name in ("lm-a", "lm-b")}
    return make_plan(wanted, state, specs_digest="sha256:x", now=NOW)


def test_an_array_half_moved_by_an_earlier_apply_is_still_a_move_and_is_deleted_last() -> None:
    branch = array_services("branch", "10.0.2.10", 2)
    other = array_services("other", "10.0.3.10", 1)
    # An earlier apply made branch on lm-b and stopped before its deletes on lm-a.
    plan = two_appliances({"lm-a": other, "lm-b": branch}, {"lm-a": branch + other, "lm-b": branch})

    assert [(m.array, m.source, m.destinations) for m in plan.moves] == [
        ("branch", "lm-a", ("lm-b",))
    ]
    assert [v.rule for v in plan.violations] == ["appliance-move"]


def test_an_array_gone_from_the_specs_on_two_appliances_is_deleted_not_moved() -> None:
    gone = array_services("gone", "10.0.2.10", 1)
    kept = array_services("kept", "10.0.3.10", 1)
    plan = two_appliances({"lm-a": kept}, {"lm-a": gone + kept, "lm-b": gone})

    assert plan.moves == ()
    assert [(v.appliance, v.rule) for v in plan.violations] == [
        ("lm-a", "array-deleted"),
        ("lm-b", "array-deleted"),
    ]


def test_a_moves_deletes_come_last_on_the_appliance_it_leaves() -> None:
    moved = array_services("a-moved", "10.0.2.10", 1)
    gone = array_services("z-gone", "10.0.3.10", 1)
    plan = two_appliances({"lm-b": moved}, {"lm-a": moved + gone})

    (leaving,) = [a for a in plan.appliances if a.name == "lm-a"]
    # Deletes go by array name (a-moved first); a move's wait for lm-b, after every other write.
    assert [change.array for change in leaving.changes] == ["z-gone", "a-moved"]
