"""Two ``listvs`` rows at one key are reported, never resolved by their order (issue 11, finding 5).

Before, the last row won: whether lmctl wrote to the key or reported a conflict depended on the
order the appliance listed the rows in. Now the key is a conflict naming every Index, in both
orders, and nothing is written to it.
"""

from __future__ import annotations

import pytest
from plan_builders import desired, key, members, observed_from, unmarked

from lmctl.appliance.changes import Change
from lmctl.appliance.loadmaster import appliance_state
from lmctl.loadmaster.models import VirtualService
from lmctl.plan.diff import ApplianceDiff, diff
from lmctl.plan.match import match_appliance
from lmctl.status.conditions import held_by

WANT = desired(real_servers=members("10.0.1.21", "10.0.1.22"))
# The service's own VS, in sync, and a foreign VS listed at the same key.
OWN = observed_from(WANT, index=3)
FOREIGN = unmarked("10.0.1.10", "443", index=7, nickname="owa")


def plan(rows: list[VirtualService]) -> ApplianceDiff:
    return diff(match_appliance([WANT], appliance_state(rows)))


def writes_to(changes: tuple[Change, ...], at: object) -> list[Change]:
    return [change for change in changes if change.key == at]


@pytest.mark.parametrize(
    "rows",
    [[OWN, FOREIGN], [FOREIGN, OWN], [OWN, observed_from(WANT, index=7, Schedule="lc")]],
    ids=["own first", "foreign first", "two marked rows"],
)
def test_a_wanted_key_listed_twice_is_a_conflict_naming_both_indexes(
    rows: list[VirtualService],
) -> None:
    for order in (rows, rows[::-1]):
        result = plan(order)
        (conflict,) = result.conflicts
        assert conflict.duplicate_indexes == (3, 7)
        assert conflict.message.startswith(
            "hq/https: 10.0.1.10:443/tcp is listed 2 times by the appliance (Index 3, 7); "
            "lmctl cannot tell these virtual services apart and writes nothing to them"
        )
        assert result.changes == ()


def test_a_marked_key_listed_twice_that_no_service_wants_is_reported_not_deleted() -> None:
    moved = desired(at=key("10.0.1.50"), real_servers=members("10.0.1.21"))
    stale = [observed_from(moved, index=4, at=key()), unmarked("10.0.1.10", "443", index=9)]
    for rows in (stale, stale[::-1]):
        result = diff(match_appliance([moved], appliance_state(rows)))
        (conflict,) = result.conflicts
        assert (conflict.key, conflict.duplicate_indexes) == (key(), (4, 9))
        # The new VIP is created; the ambiguous old key is neither moved nor deleted.
        assert writes_to(result.changes, key()) == []


def test_status_names_the_key_instead_of_picking_a_row() -> None:
    match = match_appliance([WANT], appliance_state([FOREIGN, OWN]))
    (service,) = match.services
    assert service.current is None
    assert held_by(service.conflict) == (
        "10.0.1.10:443/tcp is listed 2 times by the appliance (Index 3, 7)"
    )


def test_one_row_per_key_is_no_conflict() -> None:
    assert plan([OWN]).conflicts == ()
    assert appliance_state([OWN])[key()].duplicate_indexes == ()


def test_one_marker_on_two_vss_neither_at_the_key_is_a_conflict_in_either_order() -> None:
    # The VIP changed and two VSs carry the service's marker: which one to move cannot be told.
    moved = desired(at=key("10.0.1.50"), real_servers=members("10.0.1.21"))
    rows = [
        observed_from(moved, index=4, at=key("10.0.1.30")),
        observed_from(moved, index=2, at=key("10.0.1.20")),
    ]
    for order in (rows, rows[::-1]):
        match = match_appliance([moved], appliance_state(order))
        result = diff(match)
        (conflict,) = result.conflicts
        assert conflict.message.startswith(
            "hq/https: its marker is carried by 2 virtual services, 10.0.1.20:443/tcp (Index 2), "
            "10.0.1.30:443/tcp (Index 4), none at 10.0.1.50:443/tcp; lmctl cannot tell"
        )
        assert result.changes == ()
        assert match.services[0].current is None


def test_a_marked_copy_beside_the_vs_at_the_key_is_still_the_deleted_duplicate() -> None:
    copy = observed_from(WANT, index=9, at=key(port="4443"))
    for rows in ([OWN, copy], [copy, OWN]):
        result = plan(rows)
        assert result.conflicts == ()
        assert [(c.action, c.key.port) for c in result.changes] == [("delete_vs", "4443")]
