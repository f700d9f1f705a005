"""The per-protocol layout reconciled over HTTPS against the mock: a 2019 array applied from
empty, then kept, narrowed and widened, as the appliance's own state shows it."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lmctl.exchange.directories import path_pattern
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    PER_PROTOCOL_DIRECTORIES,
    PER_PROTOCOL_MEMBERS,
    Outcome,
    admin_call,
    array_spec,
    certificate_pem,
    install_certificate,
    invoke,
    per_protocol_spec,
    write_mock_inventory,
    write_spec_files,
)

MEMBERS = PER_PROTOCOL_MEMBERS
DIRECTORIES = PER_PROTOCOL_DIRECTORIES


def spec(members: dict[str, str] = MEMBERS, directories: tuple[str, ...] = DIRECTORIES) -> str:
    return per_protocol_spec(members, directories)


class Specs:
    """A spec directory on the mock at ``lm-hq``, and lmctl run over it."""

    def __init__(self, directory: Path, server: MockServerHandle) -> None:
        self.directory = directory
        self.server = server

    def write(self, text: str) -> None:
        write_spec_files(self.directory, {"mail.yaml": text})
        write_mock_inventory(self.directory, self.server, "lm-hq", "v2")

    def run(self, *args: str) -> Outcome:
        state = str(self.directory / "state")
        return invoke(*args, str(self.directory), "--state-dir", state)


@pytest.fixture
def specs(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Specs:
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    install_certificate(mock_server, "mail-2019", certificate_pem(tmp_path))
    site = Specs(tmp_path / "specs", mock_server)
    site.write(spec())
    return site


def services(control: MockControl) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = list(control.state()["services"])
    return found


def parent_and_subs(control: MockControl) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The parent on 10.30.1.50:443 and its SubVSs by NickName, from the mock's own state."""
    listed = services(control)
    (parent,) = [vs for vs in listed if vs.get("address") == "10.30.1.50" and vs["port"] == "443"]
    subs = {
        vs["settings"].get("NickName"): vs
        for vs in listed
        if vs.get("master_index") == parent["index"]
    }
    return parent, subs


def apply(specs: Specs) -> Outcome:
    outcome = specs.run("apply", "--auto-approve", "--no-backup")
    assert outcome.exit_code == 0, outcome.output
    return outcome


def test_a_2019_array_applies_from_empty_and_then_plans_nothing(
    specs: Specs, mock_control: MockControl
) -> None:
    apply(specs)
    parent, subs = parent_and_subs(mock_control)
    settings = parent["settings"]
    assert (settings["ForceL7"], settings["SSLAcceleration"], settings["CertFile"]) == (
        True,
        True,
        "mail-2019",
    )
    assert settings["SSLReencrypt"] is True and parent["real_servers"] == []
    assert set(subs) == {f"lmctl.mail-2019.https.{d}" for d in DIRECTORIES}
    rules = {rule["name"]: rule for rule in mock_control.state()["rules"]}
    for directory in DIRECTORIES:
        sub = subs[f"lmctl.mail-2019.https.{directory}"]
        assert sub["settings"]["CheckUrl"] == f"/{directory}/healthcheck.htm"
        assert sub["settings"]["CheckHost"] == "mail.example.com"
        assert {(rs["address"], rs["port"]) for rs in sub["real_servers"]} == {
            (address, 443) for address in MEMBERS.values()
        }
        assert sub["row_rules"] == [f"lmctl.mail-2019.https.{directory}"]
        assert rules[f"lmctl.mail-2019.https.{directory}"]["pattern"] == path_pattern(directory)
    mock_control.clear_log()
    again = specs.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output
    calls = mock_control.calls()
    assert [call.command for call in calls if call.write] == []
    # One listcert (the spec names a certificate), one listvs and, because a SubVS carries
    # lmctl's marker, one showrule.
    assert sorted(call.command for call in calls) == ["listcert", "listvs", "showrule"]


def test_an_appliance_without_lmctl_subvs_costs_no_showrule(
    specs: Specs, mock_control: MockControl
) -> None:
    base = array_spec(
        "hq", "HQ", "2019 CU14", "10.30.2.50", "lm-hq", MEMBERS, fqdn="hq.example.com"
    )
    specs.write(base)
    apply(specs)
    mock_control.clear_log()
    assert specs.run("plan").exit_code == 0
    assert [call.command for call in mock_control.calls()] == ["listvs"]


def test_removing_a_directory_unassigns_and_deletes_its_rule_before_its_subvs(
    specs: Specs, mock_control: MockControl
) -> None:
    apply(specs)
    specs.write(spec(directories=("owa", "Microsoft-Server-ActiveSync")))
    plan = specs.run("plan")
    assert "SubVS lmctl.mail-2019.https.ews" in plan.output
    assert "delete content rule lmctl.mail-2019.https.ews" in plan.output
    mock_control.clear_log()
    apply(specs)
    writes = [(call.command, call.params) for call in mock_control.calls() if call.write]
    assert [command for command, _ in writes] == ["delrsrule", "delrule", "delvs"]
    assert writes[1][1]["name"] == "lmctl.mail-2019.https.ews"
    _, subs = parent_and_subs(mock_control)
    assert set(subs) == {
        "lmctl.mail-2019.https.owa",
        "lmctl.mail-2019.https.Microsoft-Server-ActiveSync",
    }
    names = {rule["name"] for rule in mock_control.state()["rules"]}
    assert names == set(subs)
    assert specs.run("plan", "--detailed-exitcode").exit_code == 0


def test_a_new_member_joins_every_subvs(specs: Specs, mock_control: MockControl) -> None:
    apply(specs)
    specs.write(spec(members={**MEMBERS, "EX19-03": "10.30.1.13"}))
    plan = specs.run("plan")
    # Each addition is shown under the SubVS it goes into.
    lines = plan.output.splitlines()
    ews = lines.index(
        next(line for line in lines if line.strip() == "SubVS lmctl.mail-2019.https.ews")
    )
    assert "add real server EX19-03 10.30.1.13:443" in lines[ews + 1]
    apply(specs)
    _, subs = parent_and_subs(mock_control)
    for sub in subs.values():
        assert "10.30.1.13" in {rs["address"] for rs in sub["real_servers"]}
    assert specs.run("plan", "--detailed-exitcode").exit_code == 0


def from_empty(specs: Specs, control: MockControl, pem: bytes) -> None:
    """An empty appliance with the spec's certificate installed, and an empty call log."""
    control.reset()
    install_certificate(specs.server, "mail-2019", pem)
    control.clear_log()


def test_a_fault_at_every_write_position_converges_on_one_rerun(
    specs: Specs, mock_control: MockControl, tmp_path: Path
) -> None:
    """Each write applied by the appliance and its reply lost (the hardest fault: the client
    must tell from a read-back whether it was made); tests/apply/test_apply_faults.py runs
    every kind of fault over the single-service layout."""
    pem = certificate_pem(tmp_path, stem="again")
    from_empty(specs, mock_control, pem)
    apply(specs)
    seen: dict[str, int] = {}
    positions = []
    for call in mock_control.calls():
        if call.write:
            seen[call.command] = seen.get(call.command, 0) + 1
            positions.append((call.command, seen[call.command]))
    # two addvs, three createsubvs with their settings, six addrs, three addrule, three addrsrule.
    assert len(positions) == 20
    for command, nth in positions:
        from_empty(specs, mock_control, pem)
        mock_control.add_fault("reset_after_write", command=command, nth=nth)
        faulted = specs.run("apply", "--auto-approve", "--no-backup")
        assert faulted.exit_code in (0, 4), (command, nth, faulted.output)
        mock_control.clear_faults()
        if faulted.exit_code == 4:
            apply(specs)
        settled = specs.run("plan", "--detailed-exitcode")
        assert settled.exit_code == 0, (command, nth, settled.output)
        parent, subs = parent_and_subs(mock_control)
        # Nothing left behind: no SubVS without lmctl's marker in the parent.
        children = [
            vs for vs in services(mock_control) if vs.get("master_index") == parent["index"]
        ]
        assert len(children) == len(DIRECTORIES), (command, nth)
        for directory in DIRECTORIES:
            sub = subs[f"lmctl.mail-2019.https.{directory}"]
            assert sub["row_rules"] == [f"lmctl.mail-2019.https.{directory}"]
            assert len(sub["real_servers"]) == len(MEMBERS)


def test_a_saved_plan_applies_and_refuses_once_a_subvs_changed(
    specs: Specs, mock_control: MockControl, tmp_path: Path
) -> None:
    apply(specs)
    specs.write(spec(members={**MEMBERS, "EX19-03": "10.30.1.13"}, directories=("owa", "ews")))
    saved = tmp_path / "plan.json"
    assert specs.run("plan", "--out", str(saved)).exit_code == 0
    state = str(specs.directory / "state")
    applied = invoke("apply", str(saved), "--auto-approve", "--no-backup", "--state-dir", state)
    assert applied.exit_code == 0, applied.output
    _, subs = parent_and_subs(mock_control)
    assert set(subs) == {"lmctl.mail-2019.https.owa", "lmctl.mail-2019.https.ews"}
    # Planned again, then a SubVS loses its rule on the appliance: the saved plan is stale.
    specs.write(spec(directories=("owa", "ews")))
    assert specs.run("plan", "--out", str(saved)).exit_code == 0
    _, subs = parent_and_subs(mock_control)
    row = subs["lmctl.mail-2019.https.ews"]["row_rs_index"]
    # An admin takes the rule off in the appliance's own API.
    reply = admin_call(
        specs.server,
        "delrsrule",
        {
            "vs": "10.30.1.50",
            "port": "443",
            "prot": "tcp",
            "rs": f"!{row}",
            "rule": "lmctl.mail-2019.https.ews",
        },
    )
    assert reply.status_code == 200, reply.text
    mock_control.clear_log()
    refused = invoke("apply", str(saved), "--auto-approve", "--no-backup", "--state-dir", state)
    assert refused.exit_code != 0
    assert (
        "SubVS lmctl.mail-2019.https.ews rules: expected 'lmctl.mail-2019.https.ews', found 'none'"
        in refused.output
    )
    assert mock_control.write_count() == 0


def test_a_stale_saved_plan_names_the_member_drained_in_a_subvs(
    specs: Specs, mock_control: MockControl, tmp_path: Path
) -> None:
    apply(specs)
    specs.write(spec(members={**MEMBERS, "EX19-03": "10.30.1.13"}))
    saved = tmp_path / "plan.json"
    assert specs.run("plan", "--out", str(saved)).exit_code == 0
    # The plan is saved; then EX19-01 is disabled in the EWS SubVS (a drain, by hand).
    _, subs = parent_and_subs(mock_control)
    index = str(subs["lmctl.mail-2019.https.ews"]["index"])
    reply = admin_call(
        specs.server,
        "modrs",
        {"vs": index, "rs": MEMBERS["EX19-01"], "rsport": "443", "enable": "N"},
    )
    assert reply.status_code == 200, reply.text
    state = str(specs.directory / "state")
    refused = invoke("apply", str(saved), "--auto-approve", "--no-backup", "--state-dir", state)
    assert refused.exit_code != 0
    assert (
        f"SubVS lmctl.mail-2019.https.ews real server {MEMBERS['EX19-01']}:443 enable: "
        "expected True, found False"
    ) in refused.output


def test_thinning_every_subvs_to_one_member_loses_failover(specs: Specs) -> None:
    apply(specs)
    specs.write(spec(members={"EX19-01": MEMBERS["EX19-01"]}))
    refused = specs.run("apply", "--auto-approve", "--no-backup")
    assert refused.exit_code != 0
    assert "failover-lost" in refused.output
    assert "SubVS lmctl.mail-2019.https.ews (10.30.1.50:443/tcp) 2 → 1" in refused.output


def test_an_array_leaving_the_specs_takes_its_rules_with_it(
    specs: Specs, mock_control: MockControl
) -> None:
    apply(specs)
    other = array_spec(
        "hq", "HQ", "2019 CU14", "10.30.2.50", "lm-hq", MEMBERS, fqdn="hq.example.com"
    )
    specs.write(other)
    plan = specs.run("plan")
    # What lmctl built (SubVSs, TLS) is not counted as what it would destroy.
    assert "unmanaged-deleted" not in plan.output, plan.output
    assert "delete content rule lmctl.mail-2019.https.ews" in plan.output
    applied = specs.run("apply", "--auto-approve", "--no-backup", "--allow", "array-deleted")
    assert applied.exit_code == 0, applied.output
    assert mock_control.state()["rules"] == []
    assert not [vs for vs in services(mock_control) if vs.get("address") == "10.30.1.50"]
    assert specs.run("plan", "--detailed-exitcode").exit_code == 0


def test_switching_a_vs_between_layouts_in_place_is_refused(
    specs: Specs, mock_control: MockControl
) -> None:
    single = spec().replace("layout: per-protocol\ncertificate: mail-2019\n", "")
    specs.write(single.replace(f"directories: [{', '.join(DIRECTORIES)}]\n", ""))
    apply(specs)
    specs.write(spec())
    mock_control.clear_log()
    refused = specs.run("apply", "--auto-approve", "--no-backup")
    assert refused.exit_code == 1
    assert "mail-2019/https: 10.30.1.50:443/tcp holds real servers and the spec wants" in (
        refused.output
    )
    assert "nothing was written" in refused.output
    assert mock_control.write_count() == 0


def test_a_subvs_that_does_not_take_its_settings_is_deleted_again(
    specs: Specs, mock_control: MockControl
) -> None:
    # The SubVS's settings call fails, and so does the client's one resend: the SubVS just
    # created carries no marker, so lmctl deletes it rather than leave a stranger behind.
    mock_control.add_fault("http500", command="modvs", nth=2)
    mock_control.add_fault("http500", command="modvs", nth=2)

    failed = specs.run("apply", "--auto-approve", "--no-backup")

    assert failed.exit_code != 0, failed.output
    parent, subs = parent_and_subs(mock_control)
    assert set(subs) == set(), subs
    assert parent["sub_services"] == []
    writes = [call.command for call in mock_control.calls() if call.write]
    assert writes[-1] == "delvs", writes
    apply(specs)
    _, subs = parent_and_subs(mock_control)
    assert set(subs) == {f"lmctl.mail-2019.https.{d}" for d in DIRECTORIES}
    assert specs.run("plan", "--detailed-exitcode").exit_code == 0


def test_a_subvs_that_can_be_neither_set_nor_deleted_is_named_for_the_admin(
    specs: Specs, mock_control: MockControl
) -> None:
    for command in ("modvs", "modvs", "delvs", "delvs"):
        mock_control.add_fault("http500", command=command, nth=2 if command == "modvs" else 1)

    failed = specs.run("apply", "--auto-approve", "--no-backup")

    assert failed.exit_code != 0, failed.output
    _, subs = parent_and_subs(mock_control)
    (left,) = [vs["index"] for vs in services(mock_control) if vs.get("master_index")]
    text = " ".join(failed.output.split())
    assert f"the SubVS lmctl created (VS index {left}) did not take its settings" in text
    assert f"delete VS index {left} on the appliance before applying again" in text
    assert set(subs) == {None}


def test_a_rule_changed_on_the_appliance_is_planned_and_put_back_with_one_modrule(
    specs: Specs, mock_control: MockControl
) -> None:
    apply(specs)
    # An admin widens EWS's rule in the appliance's own API: /ews... now catches /ewsx too.
    reply = admin_call(
        specs.server,
        "modrule",
        {
            "name": "lmctl.mail-2019.https.ews",
            "type": "0",
            "pattern": "/^\\/ews/",
            "matchtype": "regex",
            "nocase": "0",
        },
    )
    assert reply.status_code == 200, reply.text

    plan = specs.run("plan", "--detailed-exitcode")

    assert plan.exit_code == 2, plan.output
    assert "~ update content rule lmctl.mail-2019.https.ews" in plan.output
    assert f"pattern: /^\\/ews/ → {path_pattern('ews')}" in plan.output
    assert "nocase: N → Y" in plan.output
    assert "1 to update, 0 to assign" in plan.output
    mock_control.clear_log()
    apply(specs)
    writes = [
        (call.command, call.params.get("name")) for call in mock_control.calls() if call.write
    ]
    assert writes == [("modrule", "lmctl.mail-2019.https.ews")]
    rules = {rule["name"]: rule for rule in mock_control.state()["rules"]}
    assert rules["lmctl.mail-2019.https.ews"]["pattern"] == path_pattern("ews")
    assert specs.run("plan", "--detailed-exitcode").exit_code == 0


def test_writes_to_existing_subvss_share_one_lookup_of_their_indexes(
    specs: Specs, mock_control: MockControl
) -> None:
    apply(specs)
    specs.write(spec(members={**MEMBERS, "EX19-03": "10.30.1.13"}))
    mock_control.clear_log()

    apply(specs)

    commands = [call.command for call in mock_control.calls()]
    # One addrs per SubVS, and the SubVSs' Indexes looked up in one listvs for all of them:
    # besides it, apply reads the appliance to plan, again right before its first write, and
    # after its last.
    assert commands.count("addrs") == len(DIRECTORIES)
    assert commands.count("listvs") == 4, commands
    first_write = next(n for n, command in enumerate(commands) if command == "addrs")
    assert commands[first_write - 1] == "listvs"


def test_rules_left_behind_by_a_parent_deleted_by_hand_are_taken_back_in_one_apply(
    specs: Specs, mock_control: MockControl
) -> None:
    apply(specs)
    # An admin deletes the parent: its SubVSs go with it, the appliance's global rules stay.
    reply = admin_call(specs.server, "delvs", {"vs": "10.30.1.50", "port": "443", "prot": "tcp"})
    assert reply.status_code == 200, reply.text
    assert len(mock_control.state()["rules"]) == len(DIRECTORIES)
    apply(specs)
    _, subs = parent_and_subs(mock_control)
    for directory in DIRECTORIES:
        assert subs[f"lmctl.mail-2019.https.{directory}"]["row_rules"] == [
            f"lmctl.mail-2019.https.{directory}"
        ]
    assert len(mock_control.state()["rules"]) == len(DIRECTORIES)
    settled = specs.run("plan", "--detailed-exitcode")
    assert settled.exit_code == 0, settled.output


def test_a_left_behind_rule_in_use_elsewhere_is_not_taken_over(
    specs: Specs, mock_control: MockControl
) -> None:
    apply(specs)
    assert admin_call(
        specs.server, "delvs", {"vs": "10.30.1.50", "port": "443", "prot": "tcp"}
    ).is_success
    # The EWS rule, left behind, is then redefined and used by an admin's own VS.
    admin = {"vs": "10.30.1.60", "port": "443", "prot": "tcp"}
    address = MEMBERS["EX19-02"]
    redefined = {"type": "0", "pattern": "/^\\/ews-test/", "matchtype": "regex", "nocase": "0"}
    for command, params in (
        ("modrule", {"name": "lmctl.mail-2019.https.ews", **redefined}),
        ("addvs", {**admin, "NickName": "ews-test"}),
        ("addrs", {**admin, "rs": address, "rsport": "443"}),
        (
            "addrsrule",
            {**admin, "rs": address, "rsport": "443", "rule": "lmctl.mail-2019.https.ews"},
        ),
    ):
        assert admin_call(specs.server, command, params).is_success, command
    failed = specs.run("apply", "--auto-approve", "--no-backup")
    assert failed.exit_code != 0
    assert "addrule" in failed.output and "lmctl.mail-2019.https.ews" in failed.output
    rules = {rule["name"]: rule for rule in mock_control.state()["rules"]}
    assert rules["lmctl.mail-2019.https.ews"]["pattern"] == "/^\\/ews-test/"
    (admins,) = [vs for vs in services(mock_control) if vs.get("address") == "10.30.1.60"]
    assert admins["real_servers"][0]["rules"] == ["lmctl.mail-2019.https.ews"]


def test_a_subvs_made_by_someone_else_at_the_same_moment_is_named_not_guessed(
    specs: Specs, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # lmctl's createsubvs stalls on the appliance while an admin makes a SubVS in the same
    # parent: two new rows, and nothing tells which one is lmctl's.
    mock_control.add_fault("stall", command="modvs", nth=1, stall_seconds=1.5)
    outcome: list[Outcome] = []
    running = threading.Thread(target=lambda: outcome.append(apply_failing(specs)))
    running.start()
    while mock_control.pending_faults():
        time.sleep(0.02)
    parent = {"vs": "10.30.1.50", "port": "443", "prot": "tcp"}
    assert admin_call(mock_server, "modvs", {**parent, "createsubvs": ""}).status_code == 200
    running.join(timeout=30)
    (failed,) = outcome
    made = sorted(vs["index"] for vs in services(mock_control) if vs.get("master_index"))
    assert len(made) == 2
    text = " ".join(failed.output.split())
    assert f"createsubvs added 2 SubVS rows (VS index {made[0]}, {made[1]})" in text
    assert "delete the one that is not yours on the appliance before applying again" in text
    # Neither is marked: the next plan stops at both instead of taking either.
    plan = specs.run("plan")
    assert plan.exit_code == 1, plan.output
    assert all(f"SubVS Index {index}" in plan.output for index in made)


def apply_failing(specs: Specs) -> Outcome:
    outcome = specs.run("apply", "--auto-approve", "--no-backup")
    assert outcome.exit_code != 0, outcome.output
    return outcome
