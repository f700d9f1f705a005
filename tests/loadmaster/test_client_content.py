"""The client's content switching and certificate calls against the served mock over HTTPS, in
both dialects: rules round-trip exactly, a rule is assigned to a SubVS by its row in the parent,
certificates are listed by name, and a write whose reply is lost is judged by reading back."""

from __future__ import annotations

from pathlib import Path

from loadmaster_fakes import served_in_each_dialect  # noqa: F401 (a fixture)

from lmctl.exchange.directories import path_pattern
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import certificate_pem, install_certificate

KEY = VirtualServiceKey(address="10.30.1.50", port="443", protocol="tcp")
RULE = "lmctl.mail-2019.https.Microsoft-Server-ActiveSync"


async def test_a_rule_round_trips_and_is_assigned_to_a_subvs_row(
    served: ApplianceConnection, mock_control: MockControl
) -> None:
    pattern = path_pattern("Microsoft-Server-ActiveSync")
    async with LoadMaster(served) as lm:
        await lm.add_virtual_service(KEY, {"NickName": "lmctl.mail-2019.https"})
        parent = await lm.modify_virtual_service(KEY, {"createsubvs": ""})
        row = parent.sub_services[0].rs_index
        await lm.add_content_rule(RULE, pattern, nocase=True)
        rules = await lm.list_content_rules()
        await lm.assign_sub_service_rule(KEY, row, RULE)
        assigned = (await lm.show_virtual_service(KEY)).sub_services[0].match_rules
        await lm.unassign_sub_service_rule(KEY, row, RULE)
        unassigned = (await lm.show_virtual_service(KEY)).sub_services[0].match_rules
        await lm.delete_content_rule(RULE)
        left = await lm.list_content_rules()
    assert [(r.name, r.pattern, r.match_type, r.nocase) for r in rules] == [
        (RULE, pattern, "regex", True)
    ]
    assert assigned == (RULE,) and unassigned == () and left == []
    commands = [call.command for call in mock_control.calls() if call.write]
    assert commands.count("addrsrule") == commands.count("delrsrule") == 1


async def test_certificates_are_listed_by_name(
    served: ApplianceConnection, mock_server: MockServerHandle, tmp_path: Path
) -> None:
    async with LoadMaster(served) as lm:
        before = await lm.list_certificates()
        install_certificate(mock_server, "mail-2019", certificate_pem(tmp_path))
        after = await lm.list_certificates()
    assert (before, after) == ([], ["mail-2019"])


async def test_an_addrule_whose_reply_is_lost_is_read_back_not_resent(
    served: ApplianceConnection, mock_control: MockControl
) -> None:
    mock_control.add_fault("reset_after_write", command="addrule")
    async with LoadMaster(served) as lm:
        await lm.add_content_rule(RULE, "/^\\/ews(\\/|$)/", nocase=True)
        rules = await lm.list_content_rules()
    assert [rule.name for rule in rules] == [RULE]
    assert [call.command for call in mock_control.calls()].count("addrule") == 1
