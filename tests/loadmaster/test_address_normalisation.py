"""Addresses are normalised once, where models are built: plan and apply compare them as
addresses, so an appliance's own spelling of an IPv6 address is never a change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from loadmaster_fakes import ScriptedAppliance, client, xml_reply

from lmctl.appliance.loadmaster import appliance_state
from lmctl.appliance.state import Owner
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import (
    RealServer,
    RealServerStats,
    Statistics,
    VirtualService,
    VirtualServiceKey,
    VirtualServiceSettings,
    VirtualServiceStats,
    normalised_address,
)
from lmctl.plan.document import make_plan

MARKER = Owner("hq", "https").marker()

# A listvs reply as an appliance may spell it: upper case, zero groups, leading zeros.
LISTVS_IN_THE_APPLIANCES_SPELLING = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<Response stat="200" code="ok"><Success><Data><VS>
<Status>Up</Status><Index>7</Index>
<VSAddress>2001:DB8:0:0::50</VSAddress><VSPort>443</VSPort><Protocol>tcp</Protocol>
<NickName>{MARKER}</NickName><Enable>Y</Enable><VStype>gen</VStype><Schedule>rr</Schedule>
<Persist>src</Persist><PersistTimeout>2700</PersistTimeout><Idletime>1800</Idletime>
<CheckType>https</CheckType><CheckUrl>/owa/auth/logon.aspx</CheckUrl><CheckPort>0</CheckPort>
<Transparent>N</Transparent><SubnetOriginating>Y</SubnetOriginating><ErrorCode>0</ErrorCode>
<Layer>7</Layer><ForceL4>N</ForceL4><ForceL7>Y</ForceL7>
<Rs><Status>Up</Status><VSIndex>7</VSIndex><RsIndex>1</RsIndex><Addr>2001:0db8::11</Addr>
<Port>443</Port><Forward>nat</Forward><Weight>1000</Weight><Enable>N</Enable></Rs>
<Rs><Status>Up</Status><VSIndex>7</VSIndex><RsIndex>2</RsIndex><Addr>2001:db8:0::12</Addr>
<Port>443</Port><Forward>nat</Forward><Weight>1000</Weight><Enable>Y</Enable></Rs>
</VS></Data></Success></Response>""".encode("iso-8859-1")


def _desired() -> DesiredVirtualService:
    """The service as expansion writes it: canonical addresses, enable left to the operator."""
    return DesiredVirtualService(
        appliance="lm-test",
        array="hq",
        service="https",
        key=VirtualServiceKey(address="2001:db8::50", port="443"),
        settings=VirtualServiceSettings.model_validate(
            {
                "nickname": MARKER,
                "persist": "src",
                "persist_timeout": 2700,
                "idle_time": 1800,
                "check_type": "https",
                "check_url": "/owa/auth/logon.aspx",
            }
        ),
        real_servers=(
            DesiredRealServer(member="cas01", address="2001:db8::11", port=443),
            DesiredRealServer(member="cas02", address="2001:db8::12", port=443),
        ),
    )


async def test_plan_is_empty_when_the_appliance_spells_ipv6_addresses_its_own_way() -> None:
    appliance = ScriptedAppliance().on("listvs", xml_reply(LISTVS_IN_THE_APPLIANCES_SPELLING))
    async with client(appliance) as lm:
        observed = await lm.list_virtual_services()
    plan = make_plan(
        {"lm-test": (_desired(),)},
        {"lm-test": appliance_state(observed)},
        specs_digest="0" * 64,
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    result = plan.appliance("lm-test")
    # No move to the same address, no re-enable of the drained member, no delrs.
    assert result.changes == ()
    assert not plan.has_changes
    assert result.conflicts == ()
    assert [(d.member, d.address, d.port) for d in result.drained] == [
        ("cas01", "2001:db8::11", 443)
    ]


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("2001:DB8:0:0::50", "2001:db8::50"),
        ("2001:0db8::11", "2001:db8::11"),
        ("::ffff:10.1.1.1", "10.1.1.1"),
        ("::FFFF:0a01:0101", "10.1.1.1"),
        (" 10.0.0.21 ", "10.0.0.21"),
        ("10.0.0.21", "10.0.0.21"),
        ("cas01.corp.example", "cas01.corp.example"),
        ("*", "*"),
    ],
)
def test_normalised_address_rewrites_ip_literals_only(written: str, normalised: str) -> None:
    assert normalised_address(written) == normalised


def test_every_model_address_field_is_normalised() -> None:
    assert VirtualServiceKey(address="2001:DB8::0:50", port="443").address == "2001:db8::50"
    vs = VirtualService.model_validate({"Index": 1, "VSAddress": "2001:DB8:0::50"})
    assert vs.address == "2001:db8::50"
    assert vs.key == VirtualServiceKey(address="2001:db8::50", port="0")
    assert VirtualService.model_validate({"Index": 2}).address is None
    assert RealServer.model_validate({"Addr": "::ffff:10.0.0.21", "Port": 443}).address == (
        "10.0.0.21"
    )
    stats = Statistics.model_validate(
        {
            "Vs": {"VSAddress": "2001:0DB8::50", "Index": 1},
            "Rs": {"VSIndex": 1, "Addr": "2001:DB8:0::11", "Port": 443, "ActivConns": 12},
        }
    )
    assert isinstance(stats.virtual_services[0], VirtualServiceStats)
    assert stats.virtual_services[0].address == "2001:db8::50"
    assert isinstance(stats.real_servers[0], RealServerStats)
    assert stats.real_servers[0].address == "2001:db8::11"
    # A caller may ask in any spelling too.
    assert stats.active_connections(1, "2001:0db8:0:0::11", 443) == 12
    member = DesiredRealServer(member="cas01", address="2001:0DB8::11", port=443)
    assert member.address == "2001:db8::11"


def test_statistics_rebuilt_from_the_rows_of_another() -> None:
    read = Statistics.model_validate(
        {
            "Vs": [{"VSAddress": "10.0.0.50", "Index": 1}],
            "Rs": [{"VSIndex": 1, "Addr": "10.0.0.11", "Port": 443, "ActivConns": 3}],
        }
    )
    rebuilt = Statistics(virtual_services=read.virtual_services, real_servers=read.real_servers[:1])
    assert rebuilt == read
    assert rebuilt.active_connections(1, "10.0.0.11", 443) == 3
