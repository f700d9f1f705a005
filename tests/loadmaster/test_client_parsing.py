"""Every real appliance capture, read through the client into the models, with concrete values.

Each capture is served by an ``httpx.MockTransport`` as the appliance sent it (bytes, HTTP
status), so the whole path is exercised: request, envelope, fields, normalisation, models.
"""

from __future__ import annotations

import pytest
from loadmaster_fakes import (
    FIXTURES,
    SETTINGS_JSON,
    ScriptedAppliance,
    capture,
    client,
    dialect_of,
    reply_for,
    xml_reply,
)

from lmctl.loadmaster import wire
from lmctl.loadmaster.errors import UnknownObjectError
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.loadmaster.wire import ReplyFormatError, parse_json_reply, parse_xml_reply

KEY = VirtualServiceKey(address="192.168.1.123", port="80", protocol="tcp")


def test_every_capture_is_covered_by_a_test_here() -> None:
    covered = {
        "fw7.1-listvs-subvs.xml",
        "fw7.1-showrs.xml",
        "fw7.1-showvs-sslcerts.xml",
        "fw7.1-showvs-subvs.xml",
        "fw7.1-stats.xml",
    } | {
        f"fw7.2.5x-{name}.{ext}"
        for name in (
            "addrs",
            "addvs",
            "delrs",
            "delvs",
            "error-unknown-vs",
            "listvs",
            "modrs",
            "modvs",
            "showrs",
            "showvs",
        )
        for ext in ("xml", "json")
    }
    on_disk = {path.name for path in FIXTURES.iterdir() if path.suffix in {".xml", ".json"}}
    assert on_disk == covered


async def test_fw71_listvs_reads_parents_subvs_rows_and_subvs_entries_in_one_call() -> None:
    appliance = ScriptedAppliance().on("listvs", xml_reply(capture("fw7.1-listvs-subvs.xml")))
    async with client(appliance) as lm:
        services = await lm.list_virtual_services()
        assert lm.calls == 1
    assert appliance.commands() == ["listvs"]
    by_index = {vs.index: vs for vs in services}
    assert sorted(by_index) == [2, 3, 6, 7, 8]

    parent = by_index[2]
    assert parent.key == VirtualServiceKey(address="10.154.0.11", port="80", protocol="tcp")
    assert not parent.is_sub_service
    assert [row.vs_index for row in parent.sub_services] == [6, 7]
    assert [row.rs_index for row in parent.sub_services] == [5, 6]
    assert all(row.enable and row.forward == "nat" for row in parent.sub_services)
    assert parent.real_servers == ()
    # 7.1 defaults differ from 7.2.5x: transparent, not subnet-originating, idle time 0.
    assert (parent.transparent, parent.subnet_originating, parent.idle_time) == (True, False, 0)
    assert parent.nickname is None and parent.persist is None and parent.layer == 7
    # 7.1 reports ForceL7 but neither ForceL4 nor the Layer itself.
    assert (parent.force_l4, parent.force_l7) == (False, True)
    assert [row.vs_index for row in by_index[3].sub_services] == [8]

    sub = by_index[6]
    assert sub.is_sub_service and sub.master_vs_id == 2
    assert sub.address is None and sub.key is None and sub.port == "0"
    assert [(rs.address, rs.port, rs.rs_index) for rs in sub.real_servers] == [
        ("10.154.0.100", 80, 7),
        ("10.154.0.102", 80, 8),
    ]
    assert all(rs.enable and not rs.critical and rs.weight == 1000 for rs in sub.real_servers)
    assert not any(rs.is_up for rs in sub.real_servers)
    assert by_index[7].master_vs_id == 2 and by_index[8].master_vs_id == 3
    assert by_index[7].real_servers == () and by_index[8].sub_services == ()


@pytest.mark.parametrize(
    ("name", "address", "nickname"),
    [
        ("fw7.2.5x-listvs.xml", "192.168.1.222", "foo"),
        ("fw7.2.5x-listvs.json", "192.168.1.239", "foo"),
    ],
)
async def test_fw725_listvs_with_one_vs_not_wrapped_in_a_list(
    name: str, address: str, nickname: str
) -> None:
    dialect = dialect_of(name)
    appliance = ScriptedAppliance().on("listvs", reply_for(dialect, capture(name)))
    async with client(appliance, dialect) as lm:
        [vs] = await lm.list_virtual_services()
    assert vs.key == VirtualServiceKey(address=address, port="80", protocol="tcp")
    assert (vs.index, vs.layer, vs.nickname, vs.enable) == (1, 7, nickname, True)
    assert (vs.vs_type, vs.schedule, vs.check_type, vs.check_port) == ("http", "rr", "http", 0)
    assert (vs.transparent, vs.subnet_originating, vs.idle_time) == (False, True, 660)
    assert vs.persist is None and vs.check_url is None and vs.error_code == 0
    assert vs.real_servers == () and vs.sub_services == () and vs.status == "Down"


@pytest.mark.parametrize(
    ("name", "address"),
    [("fw7.2.5x-showvs.xml", "192.168.1.123"), ("fw7.2.5x-showvs.json", "192.168.1.239")],
)
async def test_fw725_showvs(name: str, address: str) -> None:
    dialect = dialect_of(name)
    appliance = ScriptedAppliance().on("showvs", reply_for(dialect, capture(name)))
    async with client(appliance, dialect) as lm:
        vs = await lm.show_virtual_service(KEY)
    assert appliance.sent[0].params["vs"] == "192.168.1.123"
    assert appliance.sent[0].params["port"] == "80" and appliance.sent[0].params["prot"] == "tcp"
    assert (vs.address, vs.port, vs.protocol, vs.index) == (address, "80", "tcp", 1)
    assert vs.nickname == "foo" and vs.vs_type == "http" and vs.persist_timeout == 0


def test_fw71_showvs_of_a_subvs_has_no_key() -> None:
    vs = wire.virtual_service(parse_xml_reply(capture("fw7.1-showvs-subvs.xml")).fields)
    assert vs.index == 2 and vs.master_vs_id == 1 and vs.is_sub_service
    assert vs.address is None and vs.key is None
    assert vs.cert_files == () and vs.real_servers == ()


async def test_fw71_showvs_ssl_lists_every_certificate() -> None:
    appliance = ScriptedAppliance().on("showvs", xml_reply(capture("fw7.1-showvs-sslcerts.xml")))
    async with client(appliance) as lm:
        vs = await lm.show_virtual_service(1)
    assert appliance.sent[0].params == {"vs": "1", "apikey": appliance.sent[0].params["apikey"]}
    assert vs.cert_files == ("cert1", "cert2", "cert3", "cert4")
    assert vs.key == VirtualServiceKey(address="10.154.75.123", port="80", protocol="tcp")


# The layer follows the force flags, not the service type: the addvs capture is an http2 VS
# created with ForceL4 (layer 4), the modvs capture a gen VS after ForceL7 (layer 7).
@pytest.mark.parametrize(
    ("name", "index", "address", "port", "vs_type", "layer", "forced"),
    [
        ("fw7.2.5x-addvs.xml", 1, "192.168.1.235", "6443", "http2", 4, (True, False)),
        ("fw7.2.5x-addvs.json", 2, "192.168.1.235", "6443", "http2", 4, (True, False)),
        ("fw7.2.5x-modvs.xml", 1, "192.168.1.215", "6453", "gen", 7, (False, True)),
        ("fw7.2.5x-modvs.json", 1, "192.168.1.215", "6453", "gen", 7, (False, True)),
    ],
)
async def test_fw725_addvs_and_modvs_reply_with_the_virtual_service(
    name: str,
    index: int,
    address: str,
    port: str,
    vs_type: str,
    layer: int,
    forced: tuple[bool, bool],
) -> None:
    dialect = dialect_of(name)
    command = name.split("-")[1].split(".")[0]
    appliance = ScriptedAppliance().on(command, reply_for(dialect, capture(name)))
    key = VirtualServiceKey(address=address, port=port, protocol="tcp")
    async with client(appliance, dialect) as lm:
        if command == "addvs":
            vs = await lm.add_virtual_service(key, {"CheckType": "https"})
        else:
            vs = await lm.modify_virtual_service(key, {"CheckType": "https"})
        assert lm.calls == 1
    assert (vs.index, vs.address, vs.port, vs.vs_type, vs.layer) == (
        index,
        address,
        port,
        vs_type,
        layer,
    )
    assert (vs.force_l4, vs.force_l7) == forced
    assert (vs.check_type, vs.check_port, vs.check_url) == ("https", 8080, "/healthz")
    assert vs.nickname is None and vs.enable
    assert appliance.sent[0].params["CheckType"] == "https"


@pytest.mark.parametrize(
    ("name", "rs_index", "status"),
    [
        ("fw7.2.5x-showrs.xml", 1, "Down"),
        ("fw7.2.5x-showrs.json", 1, "Up"),
        ("fw7.2.5x-addrs.xml", 3, "Down"),
        ("fw7.2.5x-addrs.json", 2, "Down"),
    ],
)
async def test_fw725_showrs_and_addrs_reply_with_the_real_server(
    name: str, rs_index: int, status: str
) -> None:
    dialect = dialect_of(name)
    command = name.split("-")[1].split(".")[0]
    appliance = ScriptedAppliance().on(command, reply_for(dialect, capture(name)))
    async with client(appliance, dialect) as lm:
        if command == "showrs":
            rs = await lm.show_real_server(1, "10.10.10.10", 8080)
        else:
            rs = await lm.add_real_server(1, "10.10.10.10", 8080, weight=1000)
    assert (rs.address, rs.port, rs.vs_index, rs.rs_index) == ("10.10.10.10", 8080, 1, rs_index)
    assert (rs.status, rs.is_up) == (status, status == "Up")
    assert (rs.forward, rs.weight, rs.limit, rs.enable, rs.critical) == (
        "nat",
        1000,
        0,
        True,
        False,
    )
    assert rs.dns_name is None
    params = appliance.sent[0].params
    assert (params["vs"], params["rs"], params["rsport"]) == ("1", "10.10.10.10", "8080")


def test_fw71_showrs_without_xml_declaration() -> None:
    reply = parse_xml_reply(capture("fw7.1-showrs.xml"))
    assert reply.ok and reply.status == 200
    [row] = [reply.fields["Rs"]]
    assert row["Addr"] == "10.154.123.13" and row["RsIndex"] == "1" and row["VSIndex"] == "0"


async def test_fw71_stats_counters_and_casing_quirks() -> None:
    appliance = ScriptedAppliance().on("stats", xml_reply(capture("fw7.1-stats.xml")))
    async with client(appliance) as lm:
        stats = await lm.statistics()
    [vs] = stats.virtual_services
    assert (vs.address, vs.port, vs.protocol, vs.index, vs.enable) == (
        "10.35.14.200",
        "80",
        "tcp",
        1,
        True,
    )
    assert (vs.active_conns, vs.total_conns, vs.conns_per_sec) == (0, 0, 0)
    [rs] = stats.real_servers
    assert (rs.vs_index, rs.rs_index, rs.address, rs.port) == (1, 1, "10.35.14.7", 80)
    assert (rs.enable, rs.weight, rs.active_conns, rs.persist, rs.conns) == (True, 1000, 0, 0, 0)


def test_stats_counters_are_read_from_the_quirky_names() -> None:
    body = capture("fw7.1-stats.xml").replace(
        b"<ActivConns>0</ActivConns>", b"<ActivConns>17</ActivConns>"
    )
    body = body.replace(b"<ActiveConns>0</ActiveConns>", b"<ActiveConns>23</ActiveConns>")
    stats = wire.statistics(parse_xml_reply(body).fields)
    assert stats.virtual_services[0].active_conns == 23
    assert stats.active_connections(1, "10.35.14.7", 80) == 17
    assert stats.active_connections(1, "10.35.14.7", 81) == 0


def test_stats_in_v2_spelling_variants() -> None:
    body = (
        b'{"code":200,"VS":[{"VSAddress":"10.0.0.5","VSPort":"443","Protocol":"tcp","Index":4,'
        b'"Enable":1,"ActivConns":3}],"RS":[{"VSIndex":4,"RsIndex":9,"Addr":"10.0.1.21",'
        b'"Port":443,"Enable":0,"Weight":1000,"ActiveConns":5}],"status":"ok"}'
    )
    stats = wire.statistics(parse_json_reply(body).fields)
    assert stats.virtual_services[0].active_conns == 3
    assert stats.virtual_services[0].index == 4
    [rs] = stats.real_servers
    assert (rs.rs_index, rs.enable, rs.active_conns) == (9, False, 5)


@pytest.mark.parametrize(
    "name",
    [
        "fw7.2.5x-delrs.xml",
        "fw7.2.5x-delrs.json",
        "fw7.2.5x-delvs.xml",
        "fw7.2.5x-delvs.json",
        "fw7.2.5x-modrs.xml",
        "fw7.2.5x-modrs.json",
    ],
)
async def test_fw725_writes_without_data(name: str) -> None:
    dialect = dialect_of(name)
    command = name.split("-")[1].split(".")[0]
    parse = parse_xml_reply if dialect == "v1" else parse_json_reply
    reply = parse(capture(name))
    assert (reply.ok, reply.status, reply.message, reply.fields) == (
        True,
        200,
        "Command completed ok",
        {},
    )
    appliance = ScriptedAppliance().on(command, reply_for(dialect, capture(name)))
    async with client(appliance, dialect) as lm:
        if command == "delvs":
            await lm.delete_virtual_service(KEY)
        elif command == "delrs":
            await lm.delete_real_server(KEY, "10.10.10.10", 8080)
        else:
            await lm.modify_real_server(KEY, "10.10.10.10", 8080, {"weight": "500"})
        assert lm.calls == 1
    assert appliance.commands() == [command]


@pytest.mark.parametrize(
    "name", ["fw7.2.5x-error-unknown-vs.xml", "fw7.2.5x-error-unknown-vs.json"]
)
async def test_error_envelope_is_unknown_object_error(name: str) -> None:
    dialect = dialect_of(name)
    appliance = ScriptedAppliance().on("showvs", reply_for(dialect, capture(name), status=422))
    async with client(appliance, dialect) as lm:
        with pytest.raises(UnknownObjectError) as caught:
            await lm.show_virtual_service(KEY)
        assert lm.calls == 1  # a 422 is an answer, never retried
    assert caught.value.reason == "Unknown VS"
    assert str(caught.value) == "lm-test refused showvs: Unknown VS"
    assert caught.value.appliance == "lm-test" and caught.value.command == "showvs"


def test_latin1_declared_encoding_is_honoured() -> None:
    body = capture("fw7.2.5x-showvs.xml").replace(
        b"<NickName>foo</NickName>", "<NickName>Zürich café</NickName>".encode("iso-8859-1")
    )
    assert wire.virtual_service(parse_xml_reply(body).fields).nickname == "Zürich café"


def test_intercept_opts_become_lists() -> None:
    fields = parse_xml_reply(capture("fw7.2.5x-showvs.xml")).fields
    assert fields["InterceptOpts"] == [
        "opnormal",
        "auditrelevant",
        "reqdatadisable",
        "resdatadisable",
    ]
    assert fields["OwaspOpts"] == ["opnormal", "auditnone", "reqdatadisable", "resdatadisable"]


def test_xml_shapes_repeated_tags_single_options_and_split_text() -> None:
    key = b"<VSAddress>10.0.0.1</VSAddress><VSPort>443</VSPort><Protocol>tcp</Protocol>"
    body = (
        b'<Response stat="200" code="ok"><Success><Data>'
        b"<VS><Index>1</Index><NickName>owa &amp; ecp</NickName>"
        b"<InterceptOpts><Opt>opnormal</Opt></InterceptOpts>" + key + b"</VS>\n"
        b"<VS><Index>2</Index><NickName><![CDATA[a<b]]> c</NickName>"
        b"<InterceptOpts><Opt>x</Opt><Opt>y</Opt></InterceptOpts>" + key + b"</VS>\n"
        b"<VS><Index>3</Index><NickName/>" + key + b"</VS>"
        b"</Data></Success></Response>"
    )
    fields = parse_xml_reply(body).fields
    same_key = {"VSAddress": "10.0.0.1", "VSPort": "443", "Protocol": "tcp"}
    assert fields["VS"] == [
        {"Index": "1", "NickName": "owa & ecp", "InterceptOpts": ["opnormal"], **same_key},
        {"Index": "2", "NickName": "a<b c", "InterceptOpts": ["x", "y"], **same_key},
        {"Index": "3", "NickName": "", **same_key},
    ]
    services = wire.virtual_services({"VS": [row | SETTINGS_JSON for row in fields["VS"]]})
    assert [vs.nickname for vs in services] == ["owa & ecp", "a<b c", None]


@pytest.mark.parametrize("element", [b"ActivConns", b"ActiveConns"])
def test_a_negative_connection_count_is_no_count(element: bytes) -> None:
    # A count below 0 would cancel another SubVS's live connections in drain's sum.
    body = capture("fw7.1-stats.xml").replace(
        b"<" + element + b">0</" + element + b">", b"<" + element + b">-50</" + element + b">"
    )
    with pytest.raises(ReplyFormatError, match="greater than or equal to 0"):
        wire.statistics(parse_xml_reply(body).fields)
