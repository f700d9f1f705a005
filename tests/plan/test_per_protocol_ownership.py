"""What a per-protocol parent of lmctl's holds, or shares, that lmctl does not own, over HTTPS
against the served mock: an admin's SubVS inside it, a SubVS marker carried twice, and one of
its content rules assigned to a VS of someone else's. Each is a conflict: plan and apply write
nothing, status says the array is not in sync, and drain and undrain switch nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    PER_PROTOCOL_MEMBERS,
    PER_PROTOCOL_PARENT,
    admin,
    admins_sub_service,
    applied_per_protocol,
    per_protocol_spec,
    run_in,
    write_spec_files,
)

PARENT_MARKER = "lmctl.mail-2019.https"
EWS = f"{PARENT_MARKER}.ews"
ACTIVESYNC = f"{PARENT_MARKER}.Microsoft-Server-ActiveSync"


@pytest.fixture
def specs(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    return applied_per_protocol(tmp_path, mock_server)


def indexes(control: MockControl) -> dict[str, int]:
    """NickName → Index of every VS and SubVS the mock holds."""
    return {vs["settings"].get("NickName") or "": vs["index"] for vs in control.state()["services"]}


def serving_sub_service(server: MockServerHandle, control: MockControl, nickname: str) -> int:
    """A SubVS an admin adds to lmctl's parent, named ``nickname``, serving EX19-01: its Index."""
    index = admins_sub_service(server, control, nickname)
    admin(server, "addrs", vs=str(index), rs=PER_PROTOCOL_MEMBERS["EX19-01"], rsport="443")
    return index


def refused_everywhere(specs: Path, control: MockControl, expected: str) -> dict[str, Any]:
    """plan and apply exit 1 naming ``expected``; drain and undrain (with --force too) are
    refused naming it; nothing is written. Returns status's JSON document."""
    control.clear_log()
    plan = run_in(specs, "plan")
    assert plan.exit_code == 1, plan.output
    assert "conflict" in plan.output and expected in plan.output
    applied = run_in(specs, "apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 1, applied.output
    assert "nothing was written" in applied.output
    for command in (("drain", "EX19-01"), ("drain", "EX19-01", "--force"), ("undrain", "EX19-01")):
        refused = run_in(specs, *command, "--poll-interval", "0.05")
        assert refused.exit_code == 3, refused.output
        assert f"refusing to {command[0]} EX19-01" in refused.output
        assert expected in refused.output and "nothing was switched" in refused.output
    status = run_in(specs, "status", "--format", "json")
    assert control.write_count() == 0
    document: dict[str, Any] = json.loads(status.stdout)
    return document


def in_sync(document: dict[str, Any]) -> dict[str, Any]:
    (array,) = document["arrays"]
    found: dict[str, Any] = next(c for c in array["conditions"] if c["type"] == "InSync")
    return found


def test_an_admins_subvs_in_the_parent_is_a_conflict_not_left_silently(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # Another array's EWS marker (copied from the 2016 namespace), serving EX19-01 beside
    # lmctl's EWS SubVS: a drain that left it out would not take EX19-01 out of EWS.
    other = "lmctl.mail-2016.https.ews"
    index = serving_sub_service(mock_server, mock_control, other)
    expected = f"SubVS Index {index} (NickName '{other}') is not lmctl's"
    document = refused_everywhere(specs, mock_control, expected)
    condition = in_sync(document)
    assert condition["status"] == "False" and condition["reason"] == "NotOwnedExactly"
    assert expected in condition["message"]
    # Named once for the parent, not once per SubVS.
    assert condition["message"].count(expected) == 1


def test_a_subvs_marker_carried_twice_is_a_conflict_before_any_write(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # An admin copies EWS's marker onto the OWA SubVS: which one is lmctl's EWS?
    held = indexes(mock_control)
    admin(mock_server, "modvs", vs=str(held["lmctl.mail-2019.https.owa"]), NickName=EWS)
    first, second = sorted((held["lmctl.mail-2019.https.owa"], held[EWS]))
    expected = f"2 SubVSs carry the marker '{EWS}' (Index"
    document = refused_everywhere(specs, mock_control, expected)
    assert in_sync(document)["reason"] == "NotOwnedExactly"
    assert str(first) in in_sync(document)["message"]
    assert str(second) in in_sync(document)["message"]


def test_a_rule_of_lmctls_assigned_to_another_vs_is_never_deleted_under_it(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # An admin's own VS reuses lmctl's EWS rule for content switching to EX19-02.
    admin(mock_server, "addvs", vs="10.30.1.60", port="443", prot="tcp", NickName="ews-test")
    address = PER_PROTOCOL_MEMBERS["EX19-02"]
    admin(mock_server, "addrs", vs="10.30.1.60", port="443", prot="tcp", rs=address, rsport="443")
    admin(
        mock_server,
        "addrsrule",
        vs="10.30.1.60",
        port="443",
        prot="tcp",
        rs=address,
        rsport="443",
        rule=EWS,
    )
    # EWS leaves the spec: its rule would be deleted, and with it the admin's assignment.
    write_spec_files(specs, {"mail.yaml": per_protocol_spec(directories=("owa",))})
    mock_control.clear_log()
    plan = run_in(specs, "plan")
    assert plan.exit_code == 1, plan.output
    assert (
        f"content rule '{EWS}' is also assigned to real server {address}:443 of "
        "10.30.1.60:443/tcp (NickName 'ews-test')"
    ) in plan.output
    applied = run_in(specs, "apply", "--auto-approve", "--no-backup", "--force")
    assert applied.exit_code == 1, applied.output
    assert mock_control.write_count() == 0
    state = mock_control.state()
    assert EWS in {rule["name"] for rule in state["rules"]}
    (admins,) = [vs for vs in state["services"] if vs.get("address") == "10.30.1.60"]
    assert admins["real_servers"][0]["rules"] == [EWS]


def rules_of(control: MockControl) -> dict[int, list[str]]:
    """SubVS Index → the content rules assigned to its row in its parent."""
    services = control.state()["services"]
    return {int(vs["index"]): list(vs["row_rules"]) for vs in services if vs["master_index"]}


def test_a_bare_copy_of_the_parent_marker_goes_alone_its_rules_stay_with_the_parent(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # Someone's VS elsewhere carries the parent's marker: lmctl deletes it as a leftover of
    # its own, but the content rules are global and the parent it claims still uses them.
    admin(mock_server, "addvs", vs="10.30.9.50", port="443", prot="tcp")
    admin(mock_server, "modvs", vs="10.30.9.50", port="443", prot="tcp", NickName=PARENT_MARKER)
    before = rules_of(mock_control)
    plan = run_in(specs, "plan", "--format", "json")
    assert plan.exit_code == 0, plan.output
    (appliance,) = json.loads(plan.stdout)["appliances"]
    kinds = [change["action"] for change in appliance["changes"]]
    assert kinds == ["delete_vs"], kinds
    applied = run_in(specs, "apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.output
    assert rules_of(mock_control) == before
    assert {rule["name"] for rule in mock_control.state()["rules"]} >= {EWS}
    assert run_in(specs, "plan", "--detailed-exitcode").exit_code == 0


def test_a_rule_of_lmctls_on_a_foreign_vs_is_a_conflict_even_before_any_subvs_exists(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # The parent's SubVSs are gone (deleted by hand); an admin's VS switches on lmctl's EWS
    # rule. The rule is read all the same: the plan conflicts instead of failing at addrule.
    for index in sorted(
        i for name, i in indexes(mock_control).items() if name.startswith(PARENT_MARKER + ".")
    ):
        admin(mock_server, "delvs", vs=str(index))
    admin(mock_server, "addvs", vs="10.30.1.70", port="80", prot="tcp", NickName="adminweb")
    admin(mock_server, "addrs", vs="10.30.1.70", port="80", prot="tcp", rs="10.1.1.1", rsport="80")
    admin(
        mock_server,
        "addrsrule",
        vs="10.30.1.70",
        port="80",
        prot="tcp",
        rs="10.1.1.1",
        rsport="80",
        rule=EWS,
    )
    mock_control.clear_log()
    plan = run_in(specs, "plan")
    assert plan.exit_code == 1, plan.output
    assert f"content rule '{EWS}' is also assigned to real server 10.1.1.1:80" in plan.output
    applied = run_in(specs, "apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 1, applied.output
    assert mock_control.write_count() == 0


def test_a_rule_assigned_to_the_wrong_subvs_row_is_taken_off_it(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # OWA's rule on EWS's row (evaluated first: /owa would go to EWS), and an admin's
    # catch-all on ActiveSync's row: lmctl's SubVSs take only their own paths.
    held = indexes(mock_control)
    parent = str(held[PARENT_MARKER])
    rows = {
        int(vs["index"]): int(vs["row_rs_index"])
        for vs in mock_control.state()["services"]
        if vs["master_index"]
    }
    ews_row = rows[held[EWS]]
    activesync_row = rows[held[ACTIVESYNC]]
    admin(mock_server, "addrsrule", vs=parent, rs=f"!{ews_row}", rule=PARENT_MARKER + ".owa")
    admin(mock_server, "addrule", name="catchall", pattern="/.*/")
    admin(mock_server, "addrsrule", vs=parent, rs=f"!{activesync_row}", rule="catchall")
    saved = specs.parent / "plan.json"
    plan = run_in(specs, "plan", "--out", str(saved))
    assert plan.exit_code == 0, plan.output
    assert f"- unassign content rule {PARENT_MARKER}.owa from SubVS {EWS}" in plan.output
    assert f"- unassign content rule catchall from SubVS {ACTIVESYNC}" in plan.output
    # Saved and applied: the row is lmctl's, so the saved plan's check lets any rule off it.
    applied = run_in(specs, "apply", "--auto-approve", "--no-backup", str(saved))
    assert applied.exit_code == 0, applied.output
    assigned = rules_of(mock_control)
    assert assigned[held[EWS]] == [EWS]
    assert assigned[held[ACTIVESYNC]] == [ACTIVESYNC]
    # The admin's rule itself is not lmctl's: taken off lmctl's row, never deleted.
    assert "catchall" in {rule["name"] for rule in mock_control.state()["rules"]}
    assert run_in(specs, "plan", "--detailed-exitcode").exit_code == 0


def test_a_directory_dropped_beside_a_copy_of_the_parent_marker_deletes_its_rule_once(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    admin(mock_server, "addvs", vs="10.30.9.50", port="443", prot="tcp", NickName=PARENT_MARKER)
    write_spec_files(specs, {"mail.yaml": per_protocol_spec(directories=("owa", "ews"))})
    plan = run_in(specs, "plan", "--format", "json")
    (appliance,) = json.loads(plan.stdout)["appliances"]
    deleted = [c["rule"] for c in appliance["changes"] if c["action"] == "delete_rule"]
    assert deleted == [ACTIVESYNC]
    applied = run_in(specs, "apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.output
    assert run_in(specs, "plan", "--detailed-exitcode").exit_code == 0


def test_a_real_server_beside_the_parents_subvss_is_a_conflict_not_a_layout_switch(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # A VS publishes through real servers or SubVSs: with both, a drain could miss where the
    # member serves, and neither layout is the VS's alone.
    address = PER_PROTOCOL_MEMBERS["EX19-02"]
    admin(mock_server, "addrs", **PER_PROTOCOL_PARENT, rs=address, rsport="443")
    expected = f"it holds real servers ({address}:443) beside lmctl's SubVSs"
    document = refused_everywhere(specs, mock_control, expected)
    assert in_sync(document)["reason"] == "NotOwnedExactly"
    # Still judged per directory, by its SubVSs: serving.
    (array,) = document["arrays"]
    serving = next(c for c in array["conditions"] if c["type"] == "Serving")
    assert serving["status"] == "True", serving
