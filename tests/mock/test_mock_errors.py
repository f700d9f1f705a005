"""Every error path of the mock's API with its status code, in both dialects, over HTTPS."""

from __future__ import annotations

import pytest
from mock_wire_helpers import RawApi, json_reply, xml_root

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle

VS = {"vs": "10.0.10.20", "port": "443", "prot": "tcp"}
RS = {"rs": "10.0.20.11", "rsport": "443"}


def _error(api: RawApi, dialect: str, command: str, params: dict[str, str]) -> tuple[int, str]:
    """(HTTP status, error text) of a failing call, checking the envelope matches the status."""
    reply = api.call(dialect, command, params)
    if dialect == "v1":
        assert reply.headers["content-type"] == "text/xml"
        root = xml_root(reply.content)
        assert root.get("stat") == str(reply.status_code)
        assert root.get("code") == "fail"
        return reply.status_code, root.findtext("Error") or ""
    document = json_reply(reply)
    assert document["code"] == reply.status_code
    assert document["status"] == "fail"
    return reply.status_code, str(document["message"])


@pytest.fixture(params=["v1", "v2"])
def dialect(request: pytest.FixtureRequest) -> str:
    """Each test runs once per dialect."""
    value: str = request.param
    return value


MISSING_PARAMETER_CASES: list[tuple[str, dict[str, str], str]] = [
    ("addvs", {"vs": "10.0.10.20", "prot": "tcp"}, "port"),
    ("addvs", {"port": "443", "prot": "tcp"}, "vs"),
    ("addvs", {"vs": "10.0.10.21", "port": "443"}, "prot"),
    ("showvs", {"vs": "10.0.10.20"}, "port"),
    ("addrs", {**VS, "rs": "10.0.20.11"}, "rsport"),
    ("addrs", VS, "rs"),
    ("showrs", {**VS, "rs": "10.0.20.11"}, "rsport"),
    ("get", {}, "param"),
    ("set", {"param": "hostname"}, "value"),
    ("enablers", {}, "rs"),
    ("restore", {"data": "AAAA"}, "type"),
]
INVALID_OPERATION_CASES: list[tuple[str, dict[str, str], str]] = [
    ("showvs", {"vs": "10.9.9.9", "port": "443", "prot": "tcp"}, "Unknown VS"),
    ("showvs", {"vs": "99"}, "Unknown VS"),
    ("modvs", {"vs": "10.0.10.20", "port": "443", "prot": "udp"}, "Unknown VS"),
    ("delvs", {"vs": "10.0.10.20", "port": "80", "prot": "tcp"}, "Unknown VS"),
    ("showrs", {**VS, "rs": "10.0.20.99", "rsport": "443"}, "Unknown RS"),
    ("delrs", {**VS, "rs": "!999"}, "Unknown RS"),
    ("disablers", {"rs": "10.0.20.99"}, "Unknown RS"),
    ("addvs", VS, "Virtual service already exists"),
    ("addrs", {**VS, **RS}, "Real server already exists"),
    ("addvs", {"vs": "10.0.10.300", "port": "443", "prot": "tcp"}, "Invalid address format"),
    ("addvs", {"vs": "exchange", "port": "443", "prot": "tcp"}, "Invalid address format"),
    ("addrs", {**VS, "rs": "10.0.20.", "rsport": "443"}, "Invalid address format"),
    ("addvs", {"vs": "10.0.10.21", "port": "70000", "prot": "tcp"}, "Invalid port: '70000'"),
    ("addvs", {"vs": "10.0.10.21", "port": "0", "prot": "tcp"}, "Invalid port: '0'"),
    ("set", {"param": "version", "value": "8.0"}, "Parameter version is read-only"),
    ("get", {"param": "nosuch"}, "Unknown parameter: nosuch"),
    ("restore", {"type": "2", "data": "bm90IGEgYmFja3Vw"}, "Invalid backup file"),
]


@pytest.mark.parametrize(
    ("command", "params", "status", "message"),
    [(c, p, 400, f"Missing parameter: {name}") for c, p, name in MISSING_PARAMETER_CASES]
    + [(c, p, 422, message) for c, p, message in INVALID_OPERATION_CASES],
)
def test_refused_call_has_its_status_and_text(
    mock_server: MockServerHandle,
    dialect: str,
    command: str,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    """400 for a missing mandatory parameter, 422 for an invalid operation."""
    with RawApi(mock_server) as api:
        api.call(dialect, "addvs", VS)
        api.call(dialect, "addrs", {**VS, **RS})
        assert _error(api, dialect, command, params) == (status, message)


@pytest.mark.parametrize(
    ("command", "name", "value", "detail"),
    [
        ("addvs", "prot", "sctp", "allowed: tcp, udp"),
        ("modvs", "Schedule", "random", "allowed: rr, wrr, lc, wlc, fixed, adaptive, sh"),
        ("modvs", "Persist", "sticky", "allowed: src, super"),
        ("modvs", "CheckType", "ping", "allowed: tcp, icmp, http"),
        ("modvs", "VStype", "smtp", "allowed: gen, http, http2, ts, tls, log"),
        ("modvs", "PersistTimeout", "604801", "(allowed 0-604800)"),
        ("modvs", "PersistTimeout", "-1", "(allowed 0-604800)"),
        ("modvs", "Idletime", "86401", "(allowed 0-86400)"),
        ("modvs", "Idletime", "ten", "(a number is required)"),
        ("modvs", "Enable", "maybe", "(use Y or N)"),
        ("modvs", "ErrorCode", "200", "(0, or an HTTP status 300-599)"),
        ("modvs", "ExtraPorts", "1-600", "(at most 510)"),
        ("modrs", "weight", "0", "(allowed 1-65530)"),
        ("modrs", "weight", "65531", "(allowed 1-65530)"),
        ("modrs", "forward", "dsr", "allowed: nat, route"),
        ("modrs", "newport", "2", "(allowed 3-65530)"),
        ("addrs", "rsport", "65531", "(allowed 3-65530)"),
        ("modrs", "critical", "sometimes", "(use Y or N)"),
        ("addvs", "NickName", "lmctl:hq/owa", "(allowed: letters, digits and . @ - _, starting"),
        ("modvs", "NickName", "owa ecp", "(allowed: letters, digits and . @ - _, starting"),
    ],
)
def test_bad_values_are_422_and_change_nothing(
    mock_server: MockServerHandle,
    dialect: str,
    command: str,
    name: str,
    value: str,
    detail: str,
) -> None:
    with RawApi(mock_server) as api:
        api.call(dialect, "addvs", VS)
        api.call(dialect, "addrs", {**VS, **RS})
        base = {"vs": "10.0.10.21", "port": "443", "prot": "tcp"} if command == "addvs" else VS
        params = {**base, **({} if command == "modvs" else RS), name: value}
        if command == "addrs":
            params["rs"] = "10.0.20.12"
        before = api.v2("listvs").content
        status, message = _error(api, dialect, command, params)
        after = api.v2("listvs").content
    assert status == 422
    assert message.startswith("Invalid ")
    assert detail in message
    assert after == before


@pytest.mark.parametrize(
    "refused",
    ["lmctl:hq-cas/https", "owa ecp", " owa", "owa\n", "owa/ecp", "caf\u00e9", "a+b", "-owa", "."],
)
def test_a_nickname_outside_the_documented_characters_is_refused(
    mock_server: MockServerHandle, dialect: str, refused: str
) -> None:
    accepted = "lmctl.hq-cas.https_2@site-a"
    with RawApi(mock_server) as api:
        named = api.call(dialect, "addvs", {**VS, "NickName": accepted})
        on_add = _error(api, dialect, "addvs", {**VS, "port": "444", "NickName": refused})
        on_modify = _error(api, dialect, "modvs", {**VS, "nickname": refused})
        shown = json_reply(api.v2("showvs", VS))
        listed = json_reply(api.v2("listvs"))["VS"]
    assert named.status_code == 200
    assert (
        on_add
        == on_modify
        == (
            422,
            f"Invalid value for NickName: {refused!r} "
            "(allowed: letters, digits and . @ - _, starting with a letter or digit)",
        )
    )
    assert shown["NickName"] == accepted
    assert [vs["VSPort"] for vs in listed] == ["443"]


def test_unknown_command_is_405(mock_server: MockServerHandle, dialect: str) -> None:
    with RawApi(mock_server) as api:
        assert _error(api, dialect, "reboot2", {}) == (405, "Unknown command")


def test_v1_subcommand_path_unknown_is_405(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        assert _error(api, "v1", "logging/df", {}) == (405, "Unknown command")


@pytest.mark.parametrize(
    "credentials",
    [("bal", "wrong"), ("admin", None)],
    ids=["bad-password", "bad-user"],
)
def test_bad_basic_credentials_are_401_without_xml(
    mock_server: MockServerHandle, credentials: tuple[str, str | None]
) -> None:
    user, password = credentials
    with RawApi(mock_server) as api:
        reply = api.client.get("/access/listvs", auth=(user, password or mock_server.password))
    assert reply.status_code == 401
    assert reply.headers["content-type"] == "text/html"
    assert not reply.content.startswith(b"<?xml")
    assert reply.headers["www-authenticate"].startswith("Basic")


def test_bad_keys_and_v2_passwords_are_401(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        v1_key = api.client.get("/access/listvs", params={"apikey": "nope"})
        v1_none = api.client.get("/access/listvs")
        v2_key = api.client.post("/accessv2", json={"cmd": "listvs", "apikey": "nope"})
        v2_pass = api.client.post(
            "/accessv2", json={"cmd": "listvs", "apiuser": "bal", "apipass": "nope"}
        )
        # The key wins when both are sent: a wrong key fails even with the right password.
        v2_both = api.client.post(
            "/accessv2",
            json={
                "cmd": "listvs",
                "apikey": "nope",
                "apiuser": mock_server.username,
                "apipass": mock_server.password,
            },
        )
    statuses = [r.status_code for r in (v1_key, v1_none, v2_key, v2_pass, v2_both)]
    assert statuses == [401] * 5
    assert all(b"Unauthorized" in r.content for r in (v1_key, v2_pass))
    assert mock_server.calls.records() == []


def test_api_disabled_is_404_everywhere_until_enabled(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    with RawApi(mock_server) as api:
        api.v1("addvs", VS)
        turned_off = api.v1("set", {"param": "enableapi", "value": "no"})
        v1 = api.v1("listvs")
        v2 = api.v2("listvs")
        by_key = api.client.get("/access/get", params={"param": "version", "apikey": "x"})
        mock_control.set_api_enabled(True)
        back = api.v2("get", {"param": "enableapi"})
    assert turned_off.status_code == 200
    assert (v1.status_code, v2.status_code, by_key.status_code) == (404, 404, 404)
    assert not v1.content.startswith(b"<?xml")
    assert json_reply(back) == {"code": 200, "enableapi": "yes", "status": "ok"}


@pytest.mark.parametrize("path", ["/", "/accessv3", "/access2/listvs", "/progs/status"])
def test_unknown_url_is_404(mock_server: MockServerHandle, path: str) -> None:
    with RawApi(mock_server) as api:
        reply = api.client.get(path, auth=(mock_server.username, mock_server.password))
    assert reply.status_code == 404


def test_v2_body_not_json_is_400(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        reply = api.client.post("/accessv2", content=b"cmd=listvs")
        no_cmd = api.client.post("/accessv2", json={"apikey": mock_server.api_key})
    assert reply.status_code == 400
    assert json_reply(reply) == {"code": 400, "message": "Invalid JSON request", "status": "fail"}
    assert json_reply(no_cmd)["message"] == "Missing parameter: cmd"
