"""What a per-protocol parent of lmctl's holds or shares that lmctl does not own, as the
LoadMaster backend reduces ``listvs`` and ``showrule``; and ``stats`` rows that list a member
twice. The listings are the wire's own field names (``Index``, ``MasterVSID``, ``SubVS`` rows
with ``MatchRules``)."""

from __future__ import annotations

from typing import Any

from lmctl.appliance.loadmaster import appliance_state, connections_of
from lmctl.loadmaster.models import (
    ContentRule,
    Statistics,
    VirtualService,
    VirtualServiceKey,
)

PARENT = VirtualServiceKey(address="10.30.1.50", port="443")
EWS = "lmctl.mail-2019.https.ews"
OWA = "lmctl.mail-2019.https.owa"


def parent(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Index": 1,
        "VSAddress": "10.30.1.50",
        "VSPort": "443",
        "Protocol": "tcp",
        "NickName": "lmctl.mail-2019.https",
        "SubVS": rows,
    }


def sub(index: int, nickname: str) -> dict[str, Any]:
    return {"Index": index, "MasterVSID": 1, "NickName": nickname, "VSPort": "443"}


def row(vs_index: int, rs_index: int, *rules: str) -> dict[str, Any]:
    return {"VSIndex": vs_index, "RsIndex": rs_index, "MatchRules": "|".join(rules)}


def rule(name: str) -> ContentRule:
    return ContentRule.model_validate({"Name": name, "Pattern": "/ews", "MatchType": "Regex"})


def state_of(listed: list[dict[str, Any]], rules: tuple[str, ...] = (EWS, OWA)) -> Any:
    services = [VirtualService.model_validate(vs) for vs in listed]
    return appliance_state(services, [rule(name) for name in rules])[PARENT]


def test_lmctls_own_subvss_and_rules_clash_with_nothing() -> None:
    vs = state_of([parent([row(2, 10, EWS), row(3, 11, OWA)]), sub(2, EWS), sub(3, OWA)])
    assert vs.clashes() == ()


def test_a_subvs_without_the_arrays_marker_is_foreign_and_named_with_its_rules() -> None:
    vs = state_of(
        [
            parent([row(2, 10, EWS), row(4, 12, EWS)]),
            sub(2, EWS),
            sub(4, "lmctl.mail-2016.https.ews"),
        ]
    )
    details = [clash.detail for clash in vs.clashes()]
    assert details[0] == (
        "SubVS Index 4 (NickName 'lmctl.mail-2016.https.ews') is not lmctl's and holds content "
        f"rules '{EWS}': move it to a virtual service of its own"
    )
    # lmctl's rule on that foreign row is shared too, and says where.
    assert details[1].startswith(
        f"content rule '{EWS}' is also assigned to the row of SubVS Index 4"
    )
    assert [clash.hides_members for clash in vs.clashes()] == [True, False]


def test_one_marker_on_two_subvss_is_a_clash_naming_both_indexes() -> None:
    vs = state_of([parent([row(2, 10, EWS), row(3, 11)]), sub(2, EWS), sub(3, EWS)])
    (clash,) = vs.clashes()
    assert clash.kind == "marker_repeated" and clash.hides_members
    assert clash.detail == f"2 SubVSs carry the marker '{EWS}' (Index 2, 3): delete all but one"


def test_a_rule_assigned_to_a_real_server_of_another_vs_is_shared() -> None:
    other = {
        "Index": 7,
        "VSAddress": "10.30.1.60",
        "VSPort": "443",
        "Protocol": "tcp",
        "NickName": "ews-test",
        "Rs": [{"VSIndex": 7, "RsIndex": 1, "Addr": "10.30.1.12", "Port": 443, "MatchRules": EWS}],
    }
    vs = state_of([parent([row(2, 10, EWS)]), sub(2, EWS), other])
    (clash,) = vs.clashes()
    assert clash.kind == "rule_shared" and not clash.hides_members
    assert clash.detail == (
        f"content rule '{EWS}' is also assigned to real server 10.30.1.12:443 of "
        "10.30.1.60:443/tcp (NickName 'ews-test'): assign a rule of your own there"
    )


def test_a_rule_on_the_row_of_another_directorys_subvs_is_lmctls_own_drift_not_a_clash() -> None:
    # EWS's rule on OWA's row: plan puts it right (unassign, assign), nothing foreign is touched.
    vs = state_of([parent([row(2, 10), row(3, 11, EWS, OWA)]), sub(2, EWS), sub(3, OWA)])
    assert vs.clashes() == ()


def test_a_member_listed_twice_under_one_vs_counts_as_its_busiest_row() -> None:
    stats = Statistics.model_validate(
        {
            "Vs": [{"Index": 1, "VSAddress": "10.30.1.50", "VSPort": "443", "Protocol": "tcp"}],
            "Rs": [
                {"VSIndex": 2, "Addr": "10.30.1.11", "Port": 443, "ActivConns": 40},
                {"VSIndex": 2, "Addr": "10.30.1.11", "Port": 443, "ActivConns": 0},
                {"VSIndex": 1, "Addr": "10.30.1.12", "Port": 443, "ActivConns": 0},
                {"VSIndex": 1, "Addr": "10.30.1.12", "Port": 443, "ActivConns": 7},
            ],
        }
    )
    counts = connections_of(stats)
    assert counts[(2, ("10.30.1.11", 443))] == 40
    assert counts[(PARENT, ("10.30.1.12", 443))] == 7
