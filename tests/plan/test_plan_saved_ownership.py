"""A saved plan writes only to what its changes' arrays own on the appliance when it is applied.

The plan's own record of what it read (``observed``) is no proof of ownership: a hand-edited
plan can record a foreign VS (or another array's content rule) as the object of a change and
pass the staleness check. Each tamper below is made the way an attacker would (``plan --out``,
then edit the JSON, the observed entries included), and applied over HTTPS to the served mock.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from lmctl.appliance.loadmaster import LoadMasterAppliance
from lmctl.appliance.state import ApplianceState
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.document import TouchedObject
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    admin,
    admin_call,
    applied_per_protocol,
    per_protocol_spec,
    run_in,
    run_process,
    write_spec_files,
)
from mock_site import APPLIANCE, Array, Site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])
A2 = Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12"])
COPY = VirtualServiceKey(address="10.1.1.99", port="443")
FOREIGN = VirtualServiceKey(address="10.1.9.9", port="443")


def observed_entry(connection: ApplianceConnection, key: VirtualServiceKey) -> dict[str, Any]:
    """The VS at ``key`` as a plan records it in ``observed``: what an attacker copies in."""

    async def read() -> ApplianceState:
        async with LoadMasterAppliance(connection.name, LoadMaster(connection)) as appliance:
            return await appliance.observe()

    state = asyncio.run(read())
    return TouchedObject(key=key, state=state[key]).model_dump(mode="json")


def recorded_as_now(
    appliance: dict[str, Any], connection: ApplianceConnection, key: VirtualServiceKey
) -> None:
    """The plan's ``observed`` entry of ``key`` replaced by the VS as the appliance holds it now:
    how an attacker makes an edited plan pass the staleness check."""
    appliance["observed"] = [
        observed_entry(connection, key) if entry["key"] == key_json(key) else entry
        for entry in appliance["observed"]
    ]


def the_change(appliance: dict[str, Any], action: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in appliance["changes"] if c["action"] == action]
    (change,) = found
    return change


def key_json(key: VirtualServiceKey) -> dict[str, Any]:
    return key.model_dump(mode="json")


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    site = Site.open(tmp_path, mock_server, monkeypatch, A1, A2)
    assert site.apply().exit_code == 0
    # A marked copy of a1's https VS that nothing claims (plan deletes it), and an admin's own
    # VS beside it, which lmctl must never touch.
    site.raw(
        [
            ("add_virtual_service", (COPY, {"NickName": "lmctl.a1.https"}), {}),
            ("add_virtual_service", (FOREIGN, {"NickName": "adminapp"}), {}),
            ("add_real_server", (FOREIGN, "10.1.9.21", 443), {}),
        ]
    )
    return site


def test_a_saved_delete_edited_onto_a_foreign_vs_is_refused_and_the_vs_kept(
    site: Site, mock_control: MockControl
) -> None:
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 2
    document = json.loads(saved.read_text())
    (appliance,) = document["appliances"]
    delete = the_change(appliance, "delete_vs")
    assert delete["key"] == key_json(COPY)
    delete.update(key=key_json(FOREIGN), nickname="adminapp", real_servers=1)
    appliance["observed"] = [
        observed_entry(site.connection(), FOREIGN) if entry["key"] == key_json(COPY) else entry
        for entry in appliance["observed"]
    ]
    saved.write_text(json.dumps(document))
    mock_control.clear_log()

    refused = site.lmctl("apply", str(saved), "--auto-approve")

    assert refused.exit_code == 1, refused.output
    assert (
        f"not owned: {APPLIANCE}: delvs {FOREIGN} (a1/https): found {FOREIGN} (NickName "
        "'adminapp'), not the marker 'lmctl.a1.https'\n" in refused.stderr
    )
    assert "error: " in refused.stderr
    assert "1 change above" in refused.stderr
    assert "nothing was written; make a new plan" in refused.stderr
    assert "drifted" not in refused.stderr  # the edit passed the staleness check
    assert mock_control.write_count() == 0
    (foreign,) = [vs for vs in site.read() if vs.key == FOREIGN]
    assert foreign.nickname == "adminapp"
    assert [rs.address for rs in foreign.real_servers] == ["10.1.9.21"]


def test_the_saved_plan_as_made_still_deletes_the_marked_copy(site: Site) -> None:
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 2
    applied = site.lmctl("apply", str(saved), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    keys = {vs.key for vs in site.read()}
    assert COPY not in keys
    assert FOREIGN in keys


# Per-protocol: mail-2019 on 10.30.1.50 (``applied_per_protocol``) and mail-b on 10.30.1.60,
# each parent with a SubVS and a content rule per directory.
ACTIVESYNC = "Microsoft-Server-ActiveSync"
OTHER_PARENT = VirtualServiceKey(address="10.30.1.60", port="443")
OTHER_RULE = f"lmctl.mail-b.https.{ACTIVESYNC}"


def other_array_spec() -> str:
    return (
        per_protocol_spec()
        .replace("name: mail-2019", "name: mail-b")
        .replace("10.30.1.50", "10.30.1.60")
        .replace("fqdn: mail.example.com", "fqdn: b.example.com")
    )


def rule_names(control: MockControl) -> set[str]:
    return {rule["name"] for rule in control.state()["rules"]}


@pytest.fixture
def per_protocol(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Both arrays applied, then mail-2019 planned without ActiveSync: ``plan.json`` unassigns,
    deletes its rule and its SubVS."""
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    specs = applied_per_protocol(tmp_path, mock_server)
    write_spec_files(specs, {"other.yaml": other_array_spec()})
    assert run_in(specs, "apply", "--auto-approve", "--no-backup").exit_code == 0
    write_spec_files(specs, {"mail.yaml": per_protocol_spec(directories=("owa", "ews"))})
    saved = tmp_path / "plan.json"
    planned = run_in(specs, "plan", "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    return saved


def test_a_saved_rule_delete_edited_onto_another_arrays_rule_is_refused(
    per_protocol: Path, connection_v2: ApplianceConnection, mock_control: MockControl
) -> None:
    saved = per_protocol
    document = json.loads(saved.read_text())
    (appliance,) = document["appliances"]
    delete = the_change(appliance, "delete_rule")
    assert delete["rule"] == f"lmctl.mail-2019.https.{ACTIVESYNC}"
    # mail-b's rule, at mail-b's parent, with that parent recorded as observed: not stale.
    delete.update(key=key_json(OTHER_PARENT), rule=OTHER_RULE, sub_service=OTHER_RULE)
    appliance["observed"].append(observed_entry(connection_v2, OTHER_PARENT))
    saved.write_text(json.dumps(document))
    specs = saved.parent / "specs"
    mock_control.clear_log()

    refused = run_in(specs, "apply", str(saved), "--auto-approve", "--no-backup")

    assert refused.exit_code == 1, refused.output
    assert (
        f"not owned: lm-hq: delrule {OTHER_RULE} of {OTHER_PARENT} (mail-2019/https): found "
        f"{OTHER_PARENT} (NickName 'lmctl.mail-b.https'), not the marker "
        "'lmctl.mail-2019.https'\n"
    ) in refused.stderr
    assert "drifted" not in refused.stderr
    assert "nothing was written" in refused.stderr
    assert mock_control.write_count() == 0
    assert OTHER_RULE in rule_names(mock_control)


def test_a_saved_rule_delete_edited_to_a_rule_it_never_read_is_a_clean_error(
    per_protocol: Path, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    saved = per_protocol
    reply = admin_call(mock_server, "addrule", {"name": "adminrule", "pattern": "/admin"})
    assert reply.status_code == 200, reply.text
    document = json.loads(saved.read_text())
    (appliance,) = document["appliances"]
    the_change(appliance, "delete_rule").update(rule="adminrule", sub_service="adminrule")
    saved.write_text(json.dumps(document))
    specs = saved.parent / "specs"
    mock_control.clear_log()

    refused = run_process(
        saved.parent,
        {PASSWORD_VARIABLE: mock_server.password},
        "apply", str(saved), "--auto-approve", "--state-dir", str(specs / "state"),
    )  # fmt: skip

    assert refused.exit_code == 1, refused.output
    assert refused.stderr == (
        f"error: {saved}: its changes for lm-hq do not run on the state it recorded (delete "
        "rule adminrule: no such rule): it was edited or damaged; nothing was read or written; "
        "make a new plan\n"
    )
    assert "Traceback" not in refused.output
    assert mock_control.calls() == []
    assert "adminrule" in rule_names(mock_control)


def test_the_per_protocol_saved_plan_as_made_applies(
    per_protocol: Path, mock_control: MockControl
) -> None:
    specs = per_protocol.parent / "specs"
    applied = run_in(specs, "apply", str(per_protocol), "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.output
    assert f"lmctl.mail-2019.https.{ACTIVESYNC}" not in rule_names(mock_control)
    assert OTHER_RULE in rule_names(mock_control)


def test_a_saved_rename_of_a_per_protocol_array_applies(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its parent carries mail-2019's marker until the re-mark, which comes after the new
    # SubVSs, members and rules; the old SubVSs and rules go after it: all the array's own.
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    specs = applied_per_protocol(tmp_path, mock_server)
    renamed = per_protocol_spec().replace("name: mail-2019", "name: mail-new")
    write_spec_files(specs, {"mail.yaml": renamed})
    saved = tmp_path / "plan.json"
    planned = run_in(specs, "plan", "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    assert "re-mark virtual service 10.30.1.50:443/tcp as mail-new/https" in planned.output
    applied = run_in(specs, "apply", str(saved), "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.output
    assert run_in(specs, "plan", "--detailed-exitcode").exit_code == 0


# -- adoptions: a waiver the plan file does not carry ------------------------------------------

ADMINS = VirtualServiceKey(address=A1.vip, port="443")


@pytest.fixture
def adoptable(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> Site:
    """a1's https key held by an admin's unmarked VS with its own member (plan --adopt a1 takes
    it over); nothing of lmctl's yet."""
    site = Site.open(tmp_path, mock_server, monkeypatch, A1)
    site.raw(
        [
            ("add_virtual_service", (ADMINS, {"NickName": "admin-app"}), {}),
            ("add_real_server", (ADMINS, "10.1.1.99", 443), {}),
        ]
    )
    return site


def saved_adoption(site: Site) -> Path:
    """``plan --adopt a1 --out plan.json``: the plan adopts the admin's VS."""
    saved = site.root / "plan.json"
    assert site.plan("--adopt", "a1", "--out", str(saved)).exit_code == 2
    return saved


def admins_vs(site: Site) -> list[str]:
    """The NickName of the VS at the admin's key, if any is left."""
    return [str(vs.nickname) for vs in site.read() if vs.key == ADMINS]


def test_a_saved_adoption_is_applied_only_with_adopt_given_again(
    adoptable: Site, mock_control: MockControl
) -> None:
    site = adoptable
    saved = saved_adoption(site)
    mock_control.clear_log()

    refused = site.lmctl("apply", str(saved), "--auto-approve")

    assert refused.exit_code == 1, refused.output
    assert (
        f"not consented: {APPLIANCE}: adopt {ADMINS} (NickName 'admin-app' → lmctl marker) as "
        "a1/https\n"
    ) in refused.stderr
    assert "1 adoption above" in refused.stderr
    assert "apply it with --adopt a1; nothing was read or written" in refused.stderr
    assert mock_control.calls() == []
    applied = site.lmctl("apply", str(saved), "--auto-approve", "--adopt", "a1")
    assert applied.exit_code == 0, applied.output
    assert admins_vs(site) == ["lmctl.a1.https"]


def test_a_saved_plan_adopting_then_deleting_an_admins_vs_is_refused(
    adoptable: Site, mock_control: MockControl
) -> None:
    site = adoptable
    saved = saved_adoption(site)
    document = json.loads(saved.read_text())
    (appliance,) = document["appliances"]
    adoption = the_change(appliance, "adopt_vs")
    appliance["changes"] = [
        adoption,
        {"action": "delete_vs", "array": "a1", "service": "https", "key": adoption["key"]},
    ]
    saved.write_text(json.dumps(document))
    mock_control.clear_log()

    refused = site.lmctl("apply", str(saved), "--auto-approve", "--adopt", "a1", "--force")

    assert refused.exit_code == 1, refused.output
    assert (
        f"not owned: {APPLIANCE}: delvs {ADMINS} (a1/https): the plan adopts {ADMINS} and then "
        "deletes it: an adopted VS stays where the specs want it\n"
    ) in refused.stderr
    assert mock_control.write_count() == 0
    assert admins_vs(site) == ["admin-app"]


def test_a_saved_adoption_from_recorded_spec_paths_of_an_attackers_is_not_consented(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch,
    mock_control: MockControl,
) -> None:  # fmt: skip
    # The attacker's own specs (a2 wants the admin's key and adopts), recorded in the plan as
    # the spec paths: apply FILE alone reads them.
    (tmp_path / "evil").mkdir()
    evil = Site.open(
        tmp_path / "evil", mock_server, monkeypatch, Array("a2", A1.vip, ["10.1.1.99"])
    )
    evil.raw([("add_virtual_service", (ADMINS, {"NickName": "admin-app"}), {})])
    saved = tmp_path / "plan.json"
    assert evil.plan("--adopt", "a2", "--out", str(saved)).exit_code == 2
    document = json.loads(saved.read_text())
    assert document["spec_paths"] == [str(evil.arrays_dir)]
    mock_control.clear_log()

    refused = evil.lmctl("apply", str(saved), "--auto-approve")

    assert refused.exit_code == 1, refused.output
    assert f"not consented: {APPLIANCE}: adopt {ADMINS} (NickName 'admin-app'" in refused.stderr
    assert mock_control.calls() == []


# -- clashes: what lmctl does not own exactly takes no write --------------------------------

ADMINS_RULE_VS = {"vs": "10.30.1.70", "port": "443", "prot": "tcp"}
PARENT = VirtualServiceKey(address="10.30.1.50", port="443")
LEAVING_RULE = f"lmctl.mail-2019.https.{ACTIVESYNC}"


def test_a_saved_rule_delete_is_refused_once_an_admin_assigned_the_rule_elsewhere(
    per_protocol: Path,
    connection_v2: ApplianceConnection,
    mock_server: MockServerHandle,
    mock_control: MockControl,
) -> None:
    saved = per_protocol
    # An admin's own VS switches content with the rule the plan deletes.
    admin(mock_server, "addvs", **ADMINS_RULE_VS, NickName="admin-as")
    admin(mock_server, "addrs", **ADMINS_RULE_VS, rs="10.30.1.99", rsport="443")
    admin(
        mock_server, "addrsrule", **ADMINS_RULE_VS, rs="10.30.1.99", rsport="443", rule=LEAVING_RULE
    )
    # The attacker records the parent as it is now: the plan is not stale.
    document = json.loads(saved.read_text())
    (appliance,) = document["appliances"]
    assert the_change(appliance, "delete_rule")["rule"] == LEAVING_RULE
    recorded_as_now(appliance, connection_v2, PARENT)
    saved.write_text(json.dumps(document))
    specs = saved.parent / "specs"
    mock_control.clear_log()

    refused = run_in(specs, "apply", str(saved), "--auto-approve", "--no-backup")

    assert refused.exit_code == 1, refused.output
    assert "drifted" not in refused.stderr
    shared = (
        f"content rule '{LEAVING_RULE}' is also assigned to real server 10.30.1.99:443 of "
        "10.30.1.70:443/tcp (NickName 'admin-as'): assign a rule of your own there"
    )
    assert (
        f"not owned: lm-hq: delrule {LEAVING_RULE} of {PARENT} (mail-2019/https): {PARENT} "
        f"(NickName 'lmctl.mail-2019.https') holds or shares what lmctl does not own exactly: "
        f"{shared}\n"
    ) in refused.stderr
    assert mock_control.write_count() == 0
    assert LEAVING_RULE in rule_names(mock_control)


def test_a_saved_parent_delete_is_refused_once_an_admin_put_a_subvs_in_it(
    per_protocol: Path,
    connection_v2: ApplianceConnection,
    mock_server: MockServerHandle,
    mock_control: MockControl,
) -> None:
    # mail-b leaves the specs: the plan deletes its parent, SubVSs and rules.
    specs = per_protocol.parent / "specs"
    (specs / "other.yaml").unlink()
    saved = per_protocol.parent / "delete.json"
    assert run_in(specs, "plan", "--out", str(saved)).exit_code == 3
    before = {vs["index"] for vs in mock_control.state()["services"]}
    admin(mock_server, "modvs", vs="10.30.1.60", port="443", prot="tcp", createsubvs="")
    (index,) = {int(vs["index"]) for vs in mock_control.state()["services"]} - before
    admin(mock_server, "modvs", vs=str(index), NickName="admin-sub")
    document = json.loads(saved.read_text())
    (appliance,) = document["appliances"]
    deleted = [c["key"] for c in appliance["changes"] if c["action"] == "delete_vs"]
    assert key_json(OTHER_PARENT) in deleted
    recorded_as_now(appliance, connection_v2, OTHER_PARENT)
    saved.write_text(json.dumps(document))
    mock_control.clear_log()

    refused = run_in(specs, "apply", str(saved), "--auto-approve", "--no-backup", "--force")

    assert refused.exit_code == 1, refused.output
    assert "drifted" not in refused.stderr
    assert (
        f"not owned: lm-hq: delvs {OTHER_PARENT} (mail-b/https): {OTHER_PARENT} (NickName "
        f"'lmctl.mail-b.https') holds or shares what lmctl does not own exactly: SubVS Index "
        f"{index} (NickName 'admin-sub') is not lmctl's: move it to a virtual service of its own\n"
    ) in refused.stderr
    assert mock_control.write_count() == 0
    assert OTHER_RULE in rule_names(mock_control)
