"""A saved plan writes only to what its changes' arrays own on the appliance when it is applied.

The plan's own record of what it read (``observed``) is no proof of ownership: a hand-edited
plan can record a foreign VS (or another array's content rule) as the object of a change and
pass the staleness check. Each tamper below is made the way an attacker would (``plan --out``,
then edit the JSON, the observed entries included), and applied over HTTPS to the served mock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    admin_call,
    applied_per_protocol,
    per_protocol_spec,
    run_in,
    run_process,
    write_spec_files,
)


def the_change(appliance: dict[str, Any], action: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in appliance["changes"] if c["action"] == action]
    (change,) = found
    return change


# Per-protocol: mail-2019 on 10.30.1.50 (``applied_per_protocol``) and mail-b on 10.30.1.60,
# each parent with a SubVS and a content rule per directory.
ACTIVESYNC = "Microsoft-Server-ActiveSync"


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
