"""The mock's replies against real appliance captures: same elements, same order, same omissions,
same values for the same settings, same JSON types; over HTTPS, in both dialects."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from mock_wire_helpers import (
    RawApi,
    child_tags,
    json_capture,
    json_reply,
    leaf_texts,
    type_names,
    xml_data,
    xml_root,
)

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import certificate_pem, install_certificate

# Values that differ between captures for reasons of their own (which appliance, which run).
IDENTITY = {"Index", "VSAddress", "RsIndex", "VSIndex"}
# The captures place DefaultGW differently from one reply to the next; compared by presence.
MOVABLE = "DefaultGW"

VS_80 = {"vs": "192.168.1.123", "port": "80", "prot": "tcp"}
VS_6443 = {"vs": "192.168.1.235", "port": "6443", "prot": "tcp"}
HEALTH_CHECK = {
    "CheckType": "https",
    "CheckPort": "8080",
    "CheckHost": "foo.bar.baz",
    "CheckUrl": "/healthz",
    "CheckCodes": "303 606 909",
    "DefaultGW": "192.168.1.1",
}
RS_8080 = {"rs": "10.10.10.10", "rsport": "8080"}


def _ordered(names: list[str]) -> list[str]:
    return [name for name in names if name != MOVABLE]


def assert_xml_like_capture(mine: Element, capture: Element, ignore: set[str]) -> None:
    """Same children in the same order (DefaultGW by presence) and same leaf values."""
    assert _ordered(child_tags(mine)) == _ordered(child_tags(capture))
    assert (MOVABLE in child_tags(mine)) == (MOVABLE in child_tags(capture))
    mine_values, captured_values = leaf_texts(mine), leaf_texts(capture)
    for name in ignore:
        mine_values.pop(name, None)
        captured_values.pop(name, None)
    assert mine_values == captured_values
    for name in ("InterceptOpts", "OwaspOpts"):
        if capture.find(name) is not None:
            mine_options = [option.text for option in mine.findall(f"{name}/Opt")]
            assert mine_options == [option.text for option in capture.findall(f"{name}/Opt")]


def assert_json_like_capture(
    mine: dict[str, Any], capture: dict[str, Any], ignore: set[str]
) -> None:
    """Same keys in the same order (DefaultGW by presence), same JSON types, same values."""
    assert _ordered(list(mine)) == _ordered(list(capture))
    assert (MOVABLE in mine) == (MOVABLE in capture)
    assert dict(type_names(mine)) == dict(type_names(capture))
    for name, value in capture.items():
        if name not in ignore:
            assert mine[name] == value, name


def _xml_capture(fixtures_dir: Path, name: str) -> Element:
    return xml_data((fixtures_dir / name).read_bytes())


def _setup_vs(api: RawApi, dialect: str, params: dict[str, str]) -> None:
    assert api.call(dialect, "addvs", params).status_code == 200


def test_showvs_v1_matches_capture(mock_server: MockServerHandle, fixtures_dir: Path) -> None:
    with RawApi(mock_server) as api:
        _setup_vs(api, "v1", {**VS_80, "NickName": "foo"})
        reply = api.v1("showvs", VS_80)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/xml"
    assert reply.content.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n')
    capture = _xml_capture(fixtures_dir, "fw7.2.5x-showvs.xml")
    assert_xml_like_capture(xml_data(reply.content), capture, IDENTITY)


def test_showvs_v2_matches_capture(mock_server: MockServerHandle, fixtures_dir: Path) -> None:
    with RawApi(mock_server) as api:
        _setup_vs(api, "v2", {**VS_80, "NickName": "foo"})
        reply = api.v2("showvs", VS_80)
    assert reply.status_code == 200
    capture = json_capture(fixtures_dir / "fw7.2.5x-showvs.json")
    assert_json_like_capture(json_reply(reply), capture, IDENTITY)


def test_addvs_with_health_check_v1_matches_capture(
    mock_server: MockServerHandle, fixtures_dir: Path
) -> None:
    with RawApi(mock_server) as api:
        # The capture's VS was made with forcel4=1 (its Layer is 4, its VStype http2).
        reply = api.v1("addvs", {**VS_6443, "VStype": "http2", "forcel4": "1", **HEALTH_CHECK})
    capture = _xml_capture(fixtures_dir, "fw7.2.5x-addvs.xml")
    mine = xml_data(reply.content)
    assert_xml_like_capture(mine, capture, IDENTITY)
    assert leaf_texts(mine)["Layer"] == "4"
    assert leaf_texts(mine)["ForceL4"] == "Y"


def test_addvs_with_health_check_v2_matches_capture(
    mock_server: MockServerHandle, fixtures_dir: Path
) -> None:
    with RawApi(mock_server) as api:
        reply = api.v2("addvs", {**VS_6443, "VStype": "http2", "ForceL4": 1, **HEALTH_CHECK})
    capture = json_capture(fixtures_dir / "fw7.2.5x-addvs.json")
    mine = json_reply(reply)
    assert_json_like_capture(mine, capture, IDENTITY)
    assert mine["VSPort"] == "6443" and mine["Layer"] == 4 and mine["CheckPort"] == "8080"


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_modvs_reply_matches_capture(
    mock_server: MockServerHandle, fixtures_dir: Path, dialect: str
) -> None:
    vs = {"vs": "192.168.1.215", "port": "6453", "prot": "tcp"}
    with RawApi(mock_server) as api:
        _setup_vs(api, dialect, {**vs, "ForceL4": "Y"})
        # Names in any case: the appliance matches parameter names case-insensitively. The
        # capture is a gen VS at layer 7 after forcel7=1.
        reply = api.call(dialect, "modvs", {**vs, "forcel7": "1", **HEALTH_CHECK})
    assert reply.status_code == 200
    if dialect == "v1":
        capture = _xml_capture(fixtures_dir, "fw7.2.5x-modvs.xml")
        assert_xml_like_capture(xml_data(reply.content), capture, IDENTITY)
    else:
        json_expected = json_capture(fixtures_dir / "fw7.2.5x-modvs.json")
        assert_json_like_capture(json_reply(reply), json_expected, IDENTITY)


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_listvs_matches_capture(
    mock_server: MockServerHandle, fixtures_dir: Path, dialect: str
) -> None:
    with RawApi(mock_server) as api:
        _setup_vs(api, dialect, {**VS_80, "NickName": "foo"})
        reply = api.call(dialect, "listvs")
    if dialect == "v1":
        mine = xml_data(reply.content)
        capture = _xml_capture(fixtures_dir, "fw7.2.5x-listvs.xml")
        assert child_tags(mine) == child_tags(capture) == ["VS"]
        assert_xml_like_capture(mine[0], capture[0], IDENTITY)
    else:
        document = json_reply(reply)
        expected = json_capture(fixtures_dir / "fw7.2.5x-listvs.json")
        assert list(document) == list(expected) == ["code", "VS", "status"]
        assert isinstance(document["VS"], list) and len(document["VS"]) == 1
        assert_json_like_capture(document["VS"][0], expected["VS"][0], IDENTITY)


@pytest.mark.parametrize(
    ("dialect", "command", "capture_name", "marked_down"),
    [
        ("v1", "addrs", "fw7.2.5x-addrs.xml", True),
        ("v2", "addrs", "fw7.2.5x-addrs.json", True),
        ("v1", "showrs", "fw7.2.5x-showrs.xml", True),
        ("v2", "showrs", "fw7.2.5x-showrs.json", False),
    ],
)
def test_real_server_replies_match_captures(
    mock_server: MockServerHandle,
    mock_control: MockControl,
    fixtures_dir: Path,
    dialect: str,
    command: str,
    capture_name: str,
    marked_down: bool,
) -> None:
    if marked_down:
        mock_control.mark("10.10.10.10", "Down")
    with RawApi(mock_server) as api:
        _setup_vs(api, dialect, VS_6443)
        reply = api.call(dialect, "addrs", {**VS_6443, **RS_8080})
        if command == "showrs":
            reply = api.call(dialect, "showrs", {**VS_6443, **RS_8080})
    assert reply.status_code == 200
    if dialect == "v1":
        mine = xml_data(reply.content)
        capture = _xml_capture(fixtures_dir, capture_name)
        assert child_tags(mine) == child_tags(capture) == ["Rs"]
        assert_xml_like_capture(mine[0], capture[0], IDENTITY)
    else:
        document = json_reply(reply)
        expected = json_capture(fixtures_dir / capture_name)
        assert list(document) == list(expected) == ["code", "Rs", "status"]
        assert_json_like_capture(document["Rs"][0], expected["Rs"][0], IDENTITY)


@pytest.mark.parametrize("command", ["modrs", "delrs", "delvs"])
def test_replies_without_data_are_byte_identical_to_captures(
    mock_server: MockServerHandle, fixtures_dir: Path, command: str
) -> None:
    with RawApi(mock_server) as api:
        _setup_vs(api, "v1", VS_6443)
        api.v1("addrs", {**VS_6443, **RS_8080})
        params = {**VS_6443, **RS_8080, "weight": "500"} if command != "delvs" else VS_6443
        reply = api.v1(command, params)
        api.v1("addrs", {**VS_6443, **RS_8080})
        reply_v2 = api.v2(command, params)
    assert reply.content == (fixtures_dir / f"fw7.2.5x-{command}.xml").read_bytes()
    expected = json_capture(fixtures_dir / f"fw7.2.5x-{command}.json")
    if command == "delvs":
        # The VS is gone after the v1 call: v2 answers Unknown VS, exactly as captured.
        assert json_reply(reply_v2) == json_capture(fixtures_dir / "fw7.2.5x-error-unknown-vs.json")
    else:
        assert json_reply(reply_v2) == expected


def test_unknown_vs_error_is_identical_to_capture(
    mock_server: MockServerHandle, fixtures_dir: Path
) -> None:
    with RawApi(mock_server) as api:
        reply_v1 = api.v1("showvs", VS_80)
        reply_v2 = api.v2("showvs", VS_80)
    assert reply_v1.status_code == reply_v2.status_code == 422
    # This capture is a reconstruction with LF line ends; real replies (the others) use CRLF.
    expected = (fixtures_dir / "fw7.2.5x-error-unknown-vs.xml").read_bytes()
    assert reply_v1.content.replace(b"\r\n", b"\n") == expected
    assert json_reply(reply_v2) == json_capture(fixtures_dir / "fw7.2.5x-error-unknown-vs.json")


def _subsequence(names: list[str], of: list[str]) -> bool:
    remaining = iter(of)
    return all(name in remaining for name in names)


def test_listvs_with_subvs_shows_them_as_the_71_capture_does(
    mock_server: MockServerHandle, fixtures_dir: Path
) -> None:
    first = {"vs": "10.154.0.11", "port": "80", "prot": "tcp"}
    second = {"vs": "10.154.0.12", "port": "80", "prot": "tcp"}
    with RawApi(mock_server) as api:
        _setup_vs(api, "v1", first)
        _setup_vs(api, "v1", second)
        parent_reply = api.v1("modvs", {**first, "createsubvs": ""})
        api.v1("modvs", {**first, "createsubvs": ""})
        api.v1("modvs", {**second, "createsubvs": ""})
        api.v1("addrs", {"vs": "3", "rs": "10.154.0.100", "rsport": "80"})
        api.v1("addrs", {"vs": "3", "rs": "10.154.0.102", "rsport": "80"})
        reply = api.v1("listvs")
    capture = _xml_capture(fixtures_dir, "fw7.1-listvs-subvs.xml")
    mine = xml_data(reply.content)
    assert [leaf_texts(vs)["Index"] for vs in mine] == ["1", "2", "5", "4", "3"]
    assert [leaf_texts(vs)["Index"] for vs in capture] == ["2", "3", "8", "7", "6"]
    parent, sub = mine[0], mine[4]
    assert leaf_texts(parent)["MasterVS"] == "2"
    assert leaf_texts(parent)["NumberOfRSs"] == "2"
    assert [row.findtext("VSIndex") for row in parent.findall("SubVS")] == ["3", "4"]
    assert child_tags(parent.findall("SubVS")[0]) == child_tags(capture[0].findall("SubVS")[0])
    assert leaf_texts(parent.findall("SubVS")[0])["Name"] == "-"
    assert "VSAddress" not in child_tags(sub)
    assert leaf_texts(sub)["MasterVSID"] == "1"
    assert leaf_texts(sub)["VSPort"] == "0"
    assert [rs.findtext("Addr") for rs in sub.findall("Rs")] == ["10.154.0.100", "10.154.0.102"]
    for entry, captured in zip(mine, capture, strict=True):
        assert _subsequence(child_tags(captured), child_tags(entry))
    # modvs ... createsubvs= answers with the parent.
    assert leaf_texts(xml_data(parent_reply.content))["Index"] == "1"


def test_showvs_of_subvs_by_index_has_no_address(
    mock_server: MockServerHandle, fixtures_dir: Path
) -> None:
    with RawApi(mock_server) as api:
        _setup_vs(api, "v1", VS_80)
        api.v1("modvs", {**VS_80, "createsubvs": ""})
        api.v1("modvs", {"vs": "2", "NickName": "owa"})
        reply = api.v1("showvs", {"vs": "2"})
        parent = api.v2("showvs", VS_80)
    capture = _xml_capture(fixtures_dir, "fw7.1-showvs-subvs.xml")
    mine = xml_data(reply.content)
    assert _subsequence(child_tags(capture), child_tags(mine))
    assert "VSAddress" not in child_tags(mine)
    assert leaf_texts(mine)["MasterVSID"] == "1"
    row = json_reply(parent)["SubVS"]
    assert isinstance(row, list)
    assert row[0]["Name"] == "owa" and row[0]["VSIndex"] == 2 and row[0]["Enable"] is True


def test_ssl_certificates_follow_numberofrss_as_captured(
    mock_server: MockServerHandle, fixtures_dir: Path, tmp_path: Path
) -> None:
    pem = certificate_pem(tmp_path)
    with RawApi(mock_server) as api:
        _setup_vs(api, "v1", VS_80)
        for name in ("cert1", "cert2", "cert3", "cert4"):
            install_certificate(mock_server, name, pem)
        reply = api.v1(
            "modvs", {**VS_80, "SSLAcceleration": "Y", "CertFile": "cert1 cert2 cert3 cert4"}
        )
    capture = _xml_capture(fixtures_dir, "fw7.1-showvs-sslcerts.xml")
    mine = xml_data(reply.content)
    assert (
        child_tags(mine)[-3:]
        == child_tags(capture)[-3:]
        == [
            "NumberOfRSs",
            "SSLAcceleration",
            "CertFile",
        ]
    )
    assert leaf_texts(mine)["CertFile"] == leaf_texts(capture)["CertFile"]


def test_stats_rows_are_spelled_as_captured(
    mock_server: MockServerHandle, fixtures_dir: Path
) -> None:
    vs = {"vs": "10.35.14.200", "port": "80", "prot": "tcp"}
    with RawApi(mock_server) as api:
        _setup_vs(api, "v1", vs)
        api.v1("addrs", {**vs, "rs": "10.35.14.7", "rsport": "80"})
        reply = api.v1("stats")
        reply_v2 = api.v2("stats")
    capture = _xml_capture(fixtures_dir, "fw7.1-stats.xml")
    mine = xml_data(reply.content)
    for row in ("Vs", "Rs"):
        assert child_tags(mine.findall(row)[0]) == child_tags(capture.findall(row)[0])
        assert leaf_texts(mine.findall(row)[0]) == leaf_texts(capture.findall(row)[0])
    document = json_reply(reply_v2)
    assert document["Vs"][0]["VSProt"] == "tcp" and document["Vs"][0]["Enable"] == 1
    assert document["Rs"][0]["RSIndex"] == 1 and document["Rs"][0]["ActivConns"] == 0


def test_xml_envelope_of_no_data_reply(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        reply = api.v1("set", {"param": "hostname", "value": "lb200"})
        got = api.v1("get", {"param": "hostname"})
    root = xml_root(reply.content)
    assert (root.tag, root.get("stat"), root.get("code")) == ("Response", "200", "ok")
    assert root.findtext("Success") == "Command completed ok"
    assert leaf_texts(xml_data(got.content)) == {"hostname": "lb200"}
