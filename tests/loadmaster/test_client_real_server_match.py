"""A real server is the one at the address and port asked for, never merely the first row: the
read-back after a doubtful ``addrs``/``modrs``/``delrs`` must not judge another member."""

from __future__ import annotations

import httpx
import pytest
from loadmaster_fakes import ScriptedAppliance, capture, client, xml_reply

from lmctl.loadmaster import wire
from lmctl.loadmaster.errors import UnknownObjectError, WriteOutcomeUnknownError
from lmctl.loadmaster.wire import parse_xml_reply

DROPPED = httpx.RemoteProtocolError("Server disconnected without sending a response.")
# The capture shows 10.10.10.10:8080, enabled, weight 1000; lmctl asks about 10.10.10.11.
OTHER_MEMBER = capture("fw7.2.5x-showrs.xml")
IPV6_MEMBER = OTHER_MEMBER.replace(b"<Addr>10.10.10.10</Addr>", b"<Addr>2001:0DB8:0::11</Addr>")


def test_reader_finds_only_the_row_at_the_address_and_port() -> None:
    fields = parse_xml_reply(OTHER_MEMBER).fields
    found = wire.real_server(fields, "10.10.10.10", 8080)
    assert found is not None and (found.address, found.port) == ("10.10.10.10", 8080)
    assert wire.real_server(fields, "10.10.10.11", 8080) is None
    assert wire.real_server(fields, "10.10.10.10", 8443) is None


def test_reader_compares_addresses_as_addresses() -> None:
    fields = parse_xml_reply(IPV6_MEMBER).fields
    found = wire.real_server(fields, "2001:db8::11", 8080)
    assert found is not None and found.address == "2001:db8::11"


async def test_show_real_server_of_a_member_not_in_the_reply_is_unknown() -> None:
    appliance = ScriptedAppliance().on("showrs", xml_reply(OTHER_MEMBER))
    async with client(appliance) as lm:
        with pytest.raises(UnknownObjectError) as caught:
            await lm.show_real_server(1, "10.10.10.11", 8080)
    assert str(caught.value) == (
        "lm-test has no real server 10.10.10.11:8080 in VS index 1 "
        "(showrs answered with 10.10.10.10:8080)"
    )


async def test_modrs_unanswered_is_not_judged_applied_from_another_member() -> None:
    appliance = ScriptedAppliance().on("modrs", DROPPED)
    appliance.on("showrs", xml_reply(OTHER_MEMBER))  # enabled, like the enable=Y sent
    async with client(appliance) as lm:
        with pytest.raises(WriteOutcomeUnknownError, match=r"modrs of 10\.10\.10\.11:8080 in VS"):
            await lm.set_real_server_enabled(1, "10.10.10.11", 8080, True)
    assert appliance.commands() == ["modrs", "showrs"]


async def test_addrs_unanswered_with_only_another_member_there_is_sent_once_more() -> None:
    added = capture("fw7.2.5x-addrs.xml").replace(b"10.10.10.10", b"10.10.10.11")
    appliance = ScriptedAppliance().on("addrs", DROPPED, xml_reply(added))
    appliance.on("showrs", xml_reply(OTHER_MEMBER))
    async with client(appliance) as lm:
        rs = await lm.add_real_server(1, "10.10.10.11", 8080, weight=1000)
    assert appliance.commands() == ["addrs", "showrs", "addrs"]
    assert (rs.address, rs.port) == ("10.10.10.11", 8080)


async def test_addrs_reply_without_the_new_member_reads_it_back() -> None:
    appliance = ScriptedAppliance().on("addrs", xml_reply(capture("fw7.2.5x-addrs.xml")))
    appliance.on("showrs", xml_reply(IPV6_MEMBER))
    async with client(appliance) as lm:
        rs = await lm.add_real_server(1, "2001:db8::11", 8080, weight=1000)
    assert appliance.commands() == ["addrs", "showrs"]
    assert (rs.address, rs.port) == ("2001:db8::11", 8080)
