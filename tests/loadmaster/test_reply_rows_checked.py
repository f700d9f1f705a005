"""``listvs`` rows are checked, not defaulted: a VS row without its address, port or protocol, or
with a number no appliance reports, makes the read fail naming the appliance and the row's Index
(issue 11, finding 5). SubVS rows, which really lack an address, pass as real appliances send them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from loadmaster_fakes import ScriptedAppliance, capture, client, json_reply, xml_reply

from lmctl.loadmaster.errors import MalformedReplyError
from lmctl.loadmaster.models import (
    MANAGED_VS_FIELDS,
    REPLY_LIMITS,
    REQUIRED_SETTING_ELEMENTS,
    UNSET_WHEN_ABSENT,
    wire_name,
)


def listvs_json(**changes: Any) -> bytes:
    """The real v2 ``listvs`` capture (one VS, Index 1) with one real server added, its VS row
    changed: a value replaces an element, None removes it; ``Rs`` fields go in ``rs``, alike."""
    document = json.loads(capture("fw7.2.5x-listvs.json"))
    (row,) = document["VS"]
    row["Rs"] = [
        {"VSIndex": 1, "RsIndex": 1, "Addr": "10.0.0.21", "Port": 443, "Weight": 1000}
        | {"Forward": "nat", "Enable": True}
    ]
    for name, value in changes.pop("rs", {}).items():
        if value is None:
            row["Rs"][0].pop(name)
        else:
            row["Rs"][0][name] = value
    for name, value in changes.items():
        if value is None:
            row.pop(name, None)
        else:
            row[name] = value
    return json.dumps(document).encode()


def listvs_xml(old: bytes, new: bytes) -> bytes:
    """The real v1 ``listvs`` capture (one VS, Index 1) with one element replaced."""
    body = capture("fw7.2.5x-listvs.xml")
    assert old in body
    return body.replace(old, new)


async def read_fails(dialect: str, body: bytes) -> str:
    reply = xml_reply(body) if dialect == "v1" else json_reply(body)
    appliance = ScriptedAppliance().on("listvs", reply)
    async with client(appliance, "v1" if dialect == "v1" else "v2") as lm:
        with pytest.raises(MalformedReplyError) as caught:
            await lm.list_virtual_services()
    assert [sent.command for sent in appliance.sent] == ["listvs"]
    return str(caught.value)


PREFIX = "lm-test answered listvs with a malformed reply: "


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"VSAddress": None}, "VS row Index 1 has no VSAddress"),
        ({"VSPort": None}, "VS row Index 1 has no VSPort"),
        ({"Protocol": None}, "VS row Index 1 has no Protocol"),
        ({"VSAddress": ""}, "VS row Index 1 has no VSAddress"),
        ({"VSPort": "99999"}, "VS row Index 1 has VSPort 99999 (the appliance allows 1-65535)"),
        ({"VSPort": "0"}, "VS row Index 1 has VSPort '0', not a port number"),
        ({"VSPort": "0443"}, "VS row Index 1 has VSPort '0443', not a port number"),
        ({"VSAddress": "lm-vip.example.net"}, "has VSAddress 'lm-vip.example.net', not an IP"),
        ({"Index": -1}, "VS row 1 has Index -1 (the appliance allows 1 or more)"),
        ({"Index": None}, "VS row 1 has no Index"),
        ({"Idletime": 86401}, "VS row Index 1 has Idletime 86401 (the appliance allows 0-86400)"),
        ({"PersistTimeout": "-1"}, "has PersistTimeout -1 (the appliance allows 0-2419200)"),
        ({"CheckPort": "70000"}, "VS row Index 1 has CheckPort 70000"),
        (
            {"rs": {"Weight": -5}},
            "VS row Index 1 has a real server 10.0.0.21:443 with Weight -5 "
            "(the appliance allows 1-65530)",
        ),
        ({"rs": {"Port": 70000}}, "real server 10.0.0.21:70000 with Port 70000 (the appliance"),
    ],
)
async def test_a_malformed_v2_row_fails_the_read_naming_appliance_and_index(
    changes: dict[str, Any], problem: str
) -> None:
    message = await read_fails("v2", listvs_json(**changes))
    assert message.startswith(PREFIX)
    assert problem in message


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (b"<VSAddress>192.168.1.222</VSAddress>", b"", "VS row Index 1 has no VSAddress"),
        (b"<VSPort>80</VSPort>", b"", "VS row Index 1 has no VSPort"),
        (b"<VSPort>80</VSPort>", b"<VSPort></VSPort>", "VS row Index 1 has no VSPort"),
        (b"<Protocol>tcp</Protocol>", b"", "VS row Index 1 has no Protocol"),
        (b"<VSPort>80</VSPort>", b"<VSPort>99999</VSPort>", "has VSPort 99999"),
        (b"<Index>1</Index>", b"<Index>-1</Index>", "VS row 1 has Index -1"),
    ],
)
async def test_a_malformed_v1_row_fails_the_read_naming_appliance_and_index(
    old: bytes, new: bytes, problem: str
) -> None:
    message = await read_fails("v1", listvs_xml(old, new))
    assert message.startswith(PREFIX)
    assert problem in message


async def test_the_row_is_named_by_its_index_among_many() -> None:
    body = capture("fw7.1-listvs-subvs.xml").replace(
        b"<Index>3</Index> <VSAddress>10.154.0.12</VSAddress> <VSPort>80</VSPort>",
        b"<Index>3</Index> <VSAddress>10.154.0.12</VSAddress>",
    )
    message = await read_fails("v1", body)
    assert message == PREFIX + "VS row Index 3 has no VSPort"


async def test_sub_services_without_an_address_read_as_real_appliances_send_them() -> None:
    # fw7.1: three SubVS rows (MasterVSID set) with no VSAddress and VSPort 0.
    appliance = ScriptedAppliance().on("listvs", xml_reply(capture("fw7.1-listvs-subvs.xml")))
    async with client(appliance) as lm:
        services = await lm.list_virtual_services()
    subs = [vs for vs in services if vs.is_sub_service]
    assert [(vs.index, vs.address, vs.port) for vs in subs] == [
        (8, None, "0"),
        (7, None, "0"),
        (6, None, "0"),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "fw7.1-listvs-subvs.xml",
        "fw7.2.5x-listvs.xml",
        "fw7.2.5x-listvs.json",
    ],
)
async def test_every_real_listvs_capture_passes_the_checks(name: str) -> None:
    reply = xml_reply(capture(name)) if name.endswith(".xml") else json_reply(capture(name))
    appliance = ScriptedAppliance().on("listvs", reply)
    async with client(appliance, "v1" if name.endswith(".xml") else "v2") as lm:
        assert await lm.list_virtual_services()


def test_the_limits_are_one_table_cited_in_the_client_docs() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "client.md").read_text()
    section = docs.split("## What lmctl checks in a reply", 1)[1].split("\n## ", 1)[0]
    for name, (low, high) in REPLY_LIMITS.items():
        shown = f"{low}-{high}" if high is not None else f"{low} or more"
        assert re.search(rf"`{name}`.*{re.escape(shown)}", section), name


VS_REPLIES = [
    "fw7.1-showvs-subvs.xml",
    "fw7.1-showvs-sslcerts.xml",
    *(
        f"fw7.2.5x-{command}.{kind}"
        for command in ("showvs", "addvs", "modvs")
        for kind in ("xml", "json")
    ),
]


@pytest.mark.parametrize("name", VS_REPLIES)
async def test_every_real_showvs_capture_passes_the_checks(name: str) -> None:
    reply = xml_reply(capture(name)) if name.endswith(".xml") else json_reply(capture(name))
    appliance = ScriptedAppliance().on("showvs", reply)
    async with client(appliance, "v1" if name.endswith(".xml") else "v2") as lm:
        assert (await lm.show_virtual_service(1)).index >= 1


# -- managed settings are read, never defaulted (issue 11, "Replies are validated, not defaulted")


@pytest.mark.parametrize(
    "name", [*REQUIRED_SETTING_ELEMENTS, "Rs.Weight", "Rs.Forward", "Rs.Enable"]
)
@pytest.mark.parametrize("dialect", ["v1", "v2"])
async def test_a_managed_setting_missing_from_a_real_row_fails_the_read(
    dialect: str, name: str
) -> None:
    inner = name.removeprefix("Rs.")
    if dialect == "v2":
        body = (
            listvs_json(rs={inner: None}) if name.startswith("Rs.") else listvs_json(**{name: None})
        )
    else:
        element = re.compile(rb"<" + inner.encode() + rb">[^<]*</" + inner.encode() + rb">")
        head, start, real_servers = listvs_v1_with_real_server().partition(b"<Rs>")
        if name.startswith("Rs."):
            real_servers = element.sub(b"", real_servers)
        else:
            head, count = element.subn(b"", head)
            assert count == 1
        body = head + start + real_servers
    message = await read_fails(dialect, body)
    where = "a real server 10.0.0.21:443 with " if name.startswith("Rs.") else ""
    assert message == f"{PREFIX}VS row Index 1 has {where}no {inner}"


def listvs_v1_with_real_server() -> bytes:
    """The real v1 ``listvs`` capture with one real server, as ``listvs_json`` has."""
    rs = (
        b"<Rs><Status>Up</Status><VSIndex>1</VSIndex><RsIndex>1</RsIndex><Addr>10.0.0.21</Addr>"
        b"<Port>443</Port><Forward>nat</Forward><Weight>1000</Weight><Enable>Y</Enable></Rs>"
    )
    return listvs_xml(b"</VS>", rs + b"</VS>")


def test_every_managed_setting_is_required_or_firmware_leaves_it_out_when_unset() -> None:
    aliases = {wire_name(field) for field in MANAGED_VS_FIELDS}
    assert aliases == {*REQUIRED_SETTING_ELEMENTS, *UNSET_WHEN_ABSENT, "Layer"}
    assert not set(REQUIRED_SETTING_ELEMENTS) & UNSET_WHEN_ABSENT


@pytest.mark.parametrize(
    ("flags", "layer"),
    [
        ({"Layer": None, "ForceL4": None, "ForceL7": True}, 7),
        ({"Layer": None, "ForceL4": None, "ForceL7": False}, 4),
        ({"Layer": 4, "ForceL4": None, "ForceL7": None}, 4),
    ],
)
async def test_the_layer_is_read_as_each_firmware_reports_it(
    flags: dict[str, Any], layer: int
) -> None:
    # Firmware 7.1 sends only ForceL7 (fw7.1-* captures); 7.2.5x sends Layer too.
    appliance = ScriptedAppliance().on("listvs", json_reply(listvs_json(**flags)))
    async with client(appliance, "v2") as lm:
        (vs,) = await lm.list_virtual_services()
    assert vs.layer == layer


@pytest.mark.parametrize(
    "flags",
    [
        {"Layer": None},
        {"Layer": None, "ForceL4": None, "ForceL7": None},
        {"Layer": None, "ForceL7": None},
    ],
)
async def test_a_row_that_lost_its_layer_fails_the_read(flags: dict[str, Any]) -> None:
    message = await read_fails("v2", listvs_json(**flags))
    assert message == PREFIX + "VS row Index 1 has no Layer"
