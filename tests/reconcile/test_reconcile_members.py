"""``member_field_changes``: the one member comparison that plan and status both use."""

from __future__ import annotations

import pytest

from lmctl.exchange import DesiredRealServer
from lmctl.loadmaster.models import RealServer
from lmctl.reconcile.changes import FieldChange
from lmctl.reconcile.members import member_field_changes
from lmctl.reconcile.state import RealServerState

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
def test_a_read_real_server_and_its_planning_state_differ_from_the_spec_alike(
    observed: tuple[RealServer, RealServerState],
    desired: DesiredRealServer,
    expected: tuple[FieldChange, ...],
) -> None:
    read, state = observed

    assert member_field_changes(read, desired) == expected
    assert member_field_changes(state, desired) == expected
