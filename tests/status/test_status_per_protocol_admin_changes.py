"""``lmctl status`` of a per-protocol array after an admin changed its parent, its SubVSs or its
content rules in the appliance's own API (over HTTPS against the served mock): each directory
is judged by the SubVS that receives its requests, and each change is named once, where it is."""

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
    run_in,
)

PARENT = PER_PROTOCOL_PARENT
OWA = "lmctl.mail-2019.https.owa"


@pytest.fixture
def specs(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 2019 per-protocol array applied to the mock at ``lm-hq``."""
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    return applied_per_protocol(tmp_path, mock_server)


def sub_services(control: MockControl) -> dict[str, dict[str, Any]]:
    """NickName → the mock's record of each SubVS (the last one listed for a repeated name)."""
    return {
        vs["settings"].get("NickName") or "": vs
        for vs in control.state()["services"]
        if vs.get("master_index")
    }


def status(directory: Path) -> tuple[int, dict[str, Any], str]:
    """The exit code, the array's JSON document and the text output (on one line)."""
    document = run_in(directory, "status", "--format", "json")
    (array,) = json.loads(document.stdout)["arrays"]
    text = run_in(directory, "status")
    assert text.exit_code == document.exit_code
    return document.exit_code, array, " ".join(text.stdout.split())


def conditions(array: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in array["conditions"]}


def service(array: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in array["services"] if s["service"] == name)
    return found


def test_a_copy_of_a_subvs_marker_is_reported_and_the_subvs_with_the_rule_is_judged(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    index = admins_sub_service(mock_server, mock_control, OWA)

    code, array, text = status(specs)

    assert code == 2, text  # serving, not in sync
    found = conditions(array)
    assert found["Serving"][:2] == ("True", "ServicesUp")
    assert found["Healthy"][:2] == ("True", "AllMembersUp")
    assert found["InSync"][:2] == ("False", "NotOwnedExactly")
    assert f"2 SubVSs carry the marker '{OWA}'" in found["InSync"][2]
    assert str(index) in found["InSync"][2]
    # The OWA SubVS that has the rule and the members is judged, not the admin's empty copy.
    owa = service(array, "https/owa")
    assert (owa["serving"], owa["setting_differences"]) == (True, [])
    assert {m["member"]: m["state"] for m in owa["members"]} == dict.fromkeys(
        PER_PROTOCOL_MEMBERS, "up"
    )
    assert "missing" not in text and "no member is enabled" not in text


def test_with_the_rule_moved_to_the_copy_the_copy_is_judged(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # The admin also moves OWA's rule to the copy's row: /owa/ now reaches the empty copy.
    lmctls = sub_services(mock_control)[OWA]
    index = admins_sub_service(mock_server, mock_control, OWA)
    rows = {vs["index"]: vs["row_rs_index"] for vs in mock_control.state()["services"]}
    admin(mock_server, "delrsrule", **PARENT, rs=f"!{rows[lmctls['index']]}", rule=OWA)
    admin(mock_server, "addrsrule", **PARENT, rs=f"!{rows[index]}", rule=OWA)

    code, array, text = status(specs)

    assert code == 3, text
    found = conditions(array)
    assert found["Serving"] == (
        "False",
        "NoMemberUp",
        "https/owa: no member is enabled and Up (EX19-01 missing, EX19-02 missing)",
    )
    assert found["InSync"][:2] == ("False", "NotOwnedExactly")


def test_a_subvs_disabled_through_its_row_in_the_parent_is_named_not_the_parent(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # ``modrs rs=!<RsIndex>`` on the parent addresses the row of a SubVS.
    ews = sub_services(mock_control)["lmctl.mail-2019.https.ews"]
    admin(mock_server, "modrs", **PARENT, rs=f"!{ews['row_rs_index']}", enable="N")

    code, array, text = status(specs)

    assert code == 3, text
    disabled = "https/ews: SubVS lmctl.mail-2019.https.ews of 10.30.1.50:443/tcp is disabled"
    found = conditions(array)
    assert found["Serving"] == ("False", "VirtualServiceDisabled", disabled)
    assert found["Healthy"] == ("False", "VirtualServiceDisabled", disabled)
    assert "virtual service 10.30.1.50:443/tcp is disabled" not in text
    assert [s["service"] for s in array["services"] if not s["serving"]] == ["https/ews"]


def test_a_second_vs_with_the_parents_marker_is_named_once(
    specs: Path, mock_server: MockServerHandle
) -> None:
    admin(mock_server, "addvs", vs="10.30.1.60", port="443", prot="tcp")
    admin(
        mock_server,
        "modvs",
        vs="10.30.1.60",
        port="443",
        prot="tcp",
        NickName="lmctl.mail-2019.https",
    )

    code, array, text = status(specs)

    assert code == 2, text
    in_sync = conditions(array)["InSync"]
    assert in_sync[:2] == ("False", "DuplicateVirtualService")
    assert in_sync[2] == (
        "https: duplicate virtual service 10.30.1.60:443/tcp (NickName 'lmctl.mail-2019.https', "
        "0 real servers) also carries the service's marker; `lmctl apply` deletes it"
    )
    assert text.count("duplicate virtual service") == 1


def test_a_directory_whose_rule_is_unassigned_or_changed_is_not_in_sync_in_its_own_row(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    ews = sub_services(mock_control)["lmctl.mail-2019.https.ews"]
    admin(
        mock_server,
        "delrsrule",
        **PARENT,
        rs=f"!{ews['row_rs_index']}",
        rule="lmctl.mail-2019.https.ews",
    )
    admin(mock_server, "modrule", name=OWA, pattern="/^\\/owa2/", nocase="1")

    code, array, text = status(specs)

    assert code == 2, text
    in_sync = conditions(array)["InSync"]
    assert in_sync[:2] == ("False", "ContentRuleDiffers")
    assert in_sync[2] == (
        f"https/owa: content rule {OWA}: pattern /^\\/owa2/ (spec /^\\/owa(\\/|$)/); "
        "`lmctl apply` puts it back; https/ews: content rule lmctl.mail-2019.https.ews: not "
        "assigned to the SubVS (requests to /ews/ are not switched to its SubVS); "
        "`lmctl apply` puts it back"
    )
    rows = {s["service"]: (s["in_sync"], s["content_rule_differences"]) for s in array["services"]}
    assert rows["https/owa"] == (False, ["pattern /^\\/owa2/ (spec /^\\/owa(\\/|$)/)"])
    assert rows["https/ews"] == (False, ["not assigned to the SubVS"])
    assert rows["https/Microsoft-Server-ActiveSync"] == (True, [])
    assert "https/ews 10.30.1.50:443/tcp Up no (1 diff)" in text
    assert "https/owa 10.30.1.50:443/tcp Up no (1 diff)" in text


def test_a_directory_whose_rule_is_deleted_names_the_rule_missing(
    specs: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    ews = sub_services(mock_control)["lmctl.mail-2019.https.ews"]
    rule = "lmctl.mail-2019.https.ews"
    admin(mock_server, "delrsrule", **PARENT, rs=f"!{ews['row_rs_index']}", rule=rule)
    admin(mock_server, "delrule", name=rule)

    code, array, text = status(specs)

    assert code == 2, text
    assert conditions(array)["InSync"] == (
        "False",
        "ContentRuleDiffers",
        f"https/ews: content rule {rule}: missing (requests to /ews/ are not switched to its "
        "SubVS); `lmctl apply` puts it back",
    )
    assert service(array, "https/ews")["content_rule_differences"] == ["missing"]
