"""The canonical sequence over real HTTPS in both dialects; how a client may trust the mock."""

from __future__ import annotations

import hashlib
import ssl
from typing import Any

import httpx
import pytest
from mock_wire_helpers import RawApi, json_reply, leaf_texts, xml_data, xml_root

from lmctl.mock.server import MockServerHandle

VS = {"vs": "10.0.10.20", "port": "443", "prot": "tcp"}
RS1 = {"rs": "10.0.20.11", "rsport": "443"}
RS2 = {"rs": "10.0.20.12", "rsport": "443"}


def _fields(dialect: str, reply: httpx.Response) -> dict[str, Any]:
    """A VS reply's fields (v1 as text, v2 typed)."""
    assert reply.status_code == 200, reply.text
    if dialect == "v1":
        return dict(leaf_texts(xml_data(reply.content)))
    return json_reply(reply)


def _rs(dialect: str, reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    if dialect == "v1":
        return dict(leaf_texts(xml_data(reply.content)[0]))
    rows: list[dict[str, Any]] = json_reply(reply)["Rs"]
    return rows[0]


def _completed(dialect: str, reply: httpx.Response) -> None:
    assert reply.status_code == 200, reply.text
    if dialect == "v1":
        assert xml_root(reply.content).findtext("Success") == "Command completed ok"
    else:
        assert json_reply(reply) == {"code": 200, "message": "Command completed ok", "status": "ok"}


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_canonical_sequence(mock_server: MockServerHandle, dialect: str) -> None:
    typed = dialect == "v2"
    with RawApi(mock_server) as api:
        added = _fields(dialect, api.call(dialect, "addvs", {**VS, "NickName": "lmctl.hq.owa"}))
        assert added["NickName"] == "lmctl.hq.owa"
        assert added["Index"] == (1 if typed else "1")

        modified = _fields(
            dialect,
            api.call(
                dialect,
                "modvs",
                {**VS, "Persist": "src", "PersistTimeout": "3600", "Idletime": "1800"},
            ),
        )
        assert modified["Persist"] == "src"
        assert modified["PersistTimeout"] == "3600"  # a string in both dialects
        assert modified["Idletime"] == (1800 if typed else "1800")

        rs = _rs(dialect, api.call(dialect, "addrs", {**VS, **RS1, "weight": "2000"}))
        assert (rs["Addr"], rs["Weight"]) == ("10.0.20.11", 2000 if typed else "2000")
        _rs(dialect, api.call(dialect, "addrs", {**VS, **RS2}))

        _completed(dialect, api.call(dialect, "modrs", {**VS, **RS1, "enable": "N"}))
        shown = _rs(dialect, api.call(dialect, "showrs", {**VS, **RS1}))
        assert shown["Enable"] == (False if typed else "N")

        shown_vs = api.call(dialect, "showvs", VS)
        assert _fields(dialect, shown_vs)["NumberOfRSs"] == (2 if typed else "2")

        listed = api.call(dialect, "listvs")
        if typed:
            services = json_reply(listed)["VS"]
            assert [row["Addr"] for row in services[0]["Rs"]] == ["10.0.20.11", "10.0.20.12"]
            assert services[0]["Rs"][0]["Port"] == 443
        else:
            entry = xml_data(listed.content)[0]
            assert [row.findtext("Addr") for row in entry.findall("Rs")] == [
                "10.0.20.11",
                "10.0.20.12",
            ]

        _completed(dialect, api.call(dialect, "delrs", {**VS, **RS1}))
        _completed(dialect, api.call(dialect, "delvs", VS))
        assert api.call(dialect, "showvs", VS).status_code == 422
    commands = [call.command for call in mock_server.calls.records()]
    assert commands[:9] == [
        "addvs",
        "modvs",
        "addrs",
        "addrs",
        "modrs",
        "showrs",
        "showvs",
        "listvs",
        "delrs",
    ]


def test_server_certificate_matches_printed_fingerprint(mock_server: MockServerHandle) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with httpx.Client(verify=context) as client:
        reply = client.get(
            f"{mock_server.url}/access/get",
            params={"param": "version", "apikey": mock_server.api_key},
        )
        stream = reply.extensions["network_stream"]
        der = stream.get_extra_info("ssl_object").getpeercert(True)
    assert hashlib.sha256(der).hexdigest() == mock_server.fingerprint_sha256
    assert leaf_texts(xml_data(reply.content)) == {"version": "7.2.59.0.22007"}


def test_default_trust_store_rejects_the_mock(mock_server: MockServerHandle) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{mock_server.url}/access/listvs")


def test_apikey_v1_and_v2_and_basic_on_v2(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        by_key = api.client.get("/access/listvs", params={"apikey": mock_server.api_key})
        v2_key = api.client.post("/accessv2", json={"cmd": "listvs", "apikey": mock_server.api_key})
        v2_basic = api.client.post(
            "/accessv2",
            json={"cmd": "listvs"},
            auth=(mock_server.username, mock_server.password),
        )
        form = api.client.post(
            "/access/addvs",
            data={**VS, "apikey": mock_server.api_key},
        )
    assert by_key.status_code == v2_key.status_code == v2_basic.status_code == 200
    assert json_reply(v2_key) == {"code": 200, "VS": [], "status": "ok"}
    assert form.status_code == 200
    assert leaf_texts(xml_data(form.content))["VSAddress"] == "10.0.10.20"
