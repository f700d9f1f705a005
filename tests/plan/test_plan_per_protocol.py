"""The simulator's make-before-break check over the SubVSs of a per-protocol parent."""

from __future__ import annotations

from lmctl.appliance.changes import AddRealServer, Change, RemoveRealServer
from lmctl.appliance.state import RealServerState, SubServiceState, VirtualServiceState
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings
from lmctl.plan.simulate import break_before_make

KEY = VirtualServiceKey(address="10.30.1.50", port="443")
EWS = "lmctl.mail-2019.https.ews"


def parent(*members: str) -> dict[VirtualServiceKey, VirtualServiceState]:
    sub = SubServiceState(
        settings=VirtualServiceSettings(NickName=EWS),
        real_servers=tuple(RealServerState(address, 443) for address in members),
    )
    settings = VirtualServiceSettings(NickName="lmctl.mail-2019.https")
    return {KEY: VirtualServiceState(KEY, settings, sub_vs=(sub,))}


def member_change(kind: type[AddRealServer | RemoveRealServer], address: str) -> Change:
    return kind(
        array="mail-2019", service="https", key=KEY, address=address, port=443, sub_service=EWS
    )


def test_a_subvs_emptied_before_its_new_member_joins_is_break_before_make() -> None:
    remove = member_change(RemoveRealServer, "10.30.1.11")
    add = member_change(AddRealServer, "10.30.1.12")
    assert break_before_make(parent("10.30.1.11"), [remove, add]) == [
        f"after write 1 (remove_rs {KEY}), SubVS {EWS} of {KEY} has no enabled member"
    ]
    assert break_before_make(parent("10.30.1.11"), [add, remove]) == []
